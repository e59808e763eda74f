"""Report pages of the ledger: public statistics, the staff ledger with its CSV and print views, and
this week's list (民情清单). Read-only; registered on the concerns blueprint."""
import csv
import io
import re
import tempfile
from urllib.parse import quote, urlencode

from babel.dates import format_skeleton
from flask import abort, current_app, render_template, request
from flask_babel import format_decimal, format_percent, get_locale, lazy_gettext, to_user_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wsgi import wrap_file

from council import i18n
from council.activity.services import record, register_verbs
from council.audit import services as audit
from council.concerns import bp, queries, services, statistics
from council.concerns.forms import LedgerFilterForm
from council.concerns.rules import LEVEL_ORDER
from council.csvfiles import spreadsheet_safe
from council.extensions import db
from council.i18n import local_today
from council.pagecache import MembersPage
from council.permissions import Action, can, current_standing, require
from council.sqltypes import utcnow
from council.territory.models import PlaceKind
from council.territory.services import ancestors, get_place_or_404

# ---- public statistics ----------------------------------------------------------------------------


STATS_TITLES = {
    "collected": _l("Concerns raised"),
    "resolved": _l("Concerns resolved, by the level that resolved them"),
    "days": _l("Median days to resolve"),
    "late": _l("Share finished late or still open past the deadline"),
    "rating": _l("Average satisfaction at the follow-up visit (1 to 5)"),
}


def _month_label(month) -> str:
    """The month as the reader's language writes it: "Mar 2026", "2026年3月"."""
    return format_skeleton("yMMM", month, locale=get_locale())


def _days(value: float | None) -> str:
    return "—" if value is None else format_decimal(value, "#,##0.0")


def _share(value: float | None) -> str:
    return "—" if value is None else format_percent(value)


def _rating(value: float | None) -> str:
    return "—" if value is None else format_decimal(value, "0.0")


def _charts(figures: statistics.Statistics) -> list[dict]:
    """The page's bar charts, one bar per month, with the same numbers (and dashes) as its table."""
    months = [(_month_label(f.month), f) for f in figures.months]

    def row(month: str, text: str, segments: list[dict]) -> dict:
        return {"label": month, "text": text, "title": _("%(month)s: %(value)s", month=month, value=text),
                "segments": [s for s in segments if s["value"]]}

    def chart(key: str, scale: float, rows: list[dict], legend: tuple = ()) -> dict:
        return {"id": key, "title": str(STATS_TITLES[key]), "scale": scale or 1, "rows": rows, "legend": legend}

    def single(key: str, value, text, scale: float | None = None) -> dict:
        values = [value(f) or 0 for _m, f in months]
        return chart(key, scale or max(values), [row(m, text(f), [{"value": v, "css": "bar"}])
                                                 for (m, f), v in zip(months, values, strict=True)])

    def level_segment(month: str, f, level) -> dict:
        title = _("%(month)s, %(level)s: %(value)s", month=month, level=services.LEVEL_LABELS[level],
                  value=format_decimal(f.resolved[level]))
        return {"value": f.resolved[level], "css": f"bar level-{level.value}", "title": title}

    return [
        single("collected", lambda f: f.collected, lambda f: format_decimal(f.collected)),
        chart("resolved", max(f.resolved_total for _m, f in months),
              [row(m, format_decimal(f.resolved_total), [level_segment(m, f, level) for level in LEVEL_ORDER])
               for m, f in months],
              legend=tuple((f"level-{level.value}", services.LEVEL_LABELS[level]) for level in LEVEL_ORDER)),
        single("days", lambda f: f.median_days, lambda f: _days(f.median_days)),
        single("late", lambda f: f.late_share, lambda f: _share(f.late_share), scale=1),
        single("rating", lambda f: f.average_rating, lambda f: _rating(f.average_rating), scale=5),
    ]


@bp.get("/places/<int:place_id>/stats")
def stats(place_id: int):
    """Public figures of an estate, or of a community with all its estates, for the last 12 months.

    No sign-in: numbers only, never a title, a name or anything about one concern (statistics.MIN_GROUP).
    """
    place = get_place_or_404(place_id)
    if place.kind not in (PlaceKind.ESTATE, PlaceKind.COMMUNITY):
        abort(404)
    today = local_today()
    figures = statistics.summarise(queries.statistics_rows(place, today), today)
    return render_template(
        "concerns/stats.html", place=place, stats=figures, charts=_charts(figures), levels=LEVEL_ORDER,
        months=[(_month_label(f.month), f) for f in figures.months], min_group=statistics.MIN_GROUP,
        fmt_count=format_decimal, fmt_days=_days, fmt_share=_share, fmt_rating=_rating,
        crumbs=ancestors(place) + [place])


# ---- the estate ledger (台账): on screen, as CSV, on A4 paper; this week's list (民情清单) -------------

register_verbs({"concern.exported": lazy_gettext("exported the concerns ledger")})
LEDGER_PRINT_CAP = 2000  # more than this is no use on paper: narrow the filters instead
THIS_WEEK_SHOWN = 30  # a Friday meeting gets through a few dozen matters at most
LEDGER_CSV_IN_MEMORY = 4 * 1024 * 1024  # bytes of CSV kept in memory before spilling to a file


def _ledger_filters(place_id: int):
    """The estate (for its staff only), and its ledger's filter form read from the query string."""
    estate = get_place_or_404(place_id, PlaceKind.ESTATE)
    require(Action.CONCERN_HANDLE, estate)
    return estate, _ledger_form(estate)


def _ledger_form(estate):
    form = LedgerFilterForm(estate, queries.buildings_of(estate), formdata=request.args)
    form.validate()
    return form


@bp.get("/places/<int:place_id>/ledger")
@login_required
def ledger(place_id: int):
    """The estate's ledger for its staff: every concern, filtered, one page at a time (kept for its staff)."""
    kept, estate = MembersPage.of_place("concerns.ledger", place_id, PlaceKind.ESTATE)
    require(Action.CONCERN_HANDLE, estate)
    return kept.serve(estate.shown, lambda: _ledger_page(get_place_or_404(place_id)))


def _ledger_page(estate) -> str:
    form = _ledger_form(estate)
    page = queries.ledger_page(estate, form.filters(), request.args.get("page", 1, type=int),
                               current_app.config["PER_PAGE"])
    return render_template("concerns/ledger.html", place=estate, form=form, args=form.args(), page=page,
                           reporter_label=services.reporter_label, crumbs=ancestors(estate) + [estate])


@bp.get("/places/<int:place_id>/ledger/print")
@login_required
def ledger_print(place_id: int):
    """The ledger laid out for A4 paper: every matching row up to LEDGER_PRINT_CAP. The printout is audited."""
    estate, form = _ledger_filters(place_id)
    rows = queries.ledger_printout(estate, form.filters(), LEDGER_PRINT_CAP)
    page = render_template("concerns/ledger_print.html", place=estate, form=form, args=form.args(), rows=rows,
                           summary=form.summary(), now=utcnow(), reporter_label=services.reporter_label,
                           crumbs=ancestors(estate) + [estate])
    audit.append(current_user, "export.ledger_print", estate, "place", estate.id,
                 detail=urlencode(form.args()) or None)
    db.session.commit()
    return page


def _local(moment) -> str:
    return to_user_timezone(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _ledger_header() -> list[str]:
    return [_("No."), _("Date reported"), _("Title"), _("Category"), _("Building or place"), _("Reported by"),
            _("Date accepted"), _("Person responsible"), _("Responsible unit"), _("Deadline"), _("Level"),
            _("Status"), _("Date resolved"), _("Rating")]


def _ledger_cells(c) -> list[str]:
    """One concern as CSV cells. The file may travel: a reporter who asked not to be named is "A resident"."""
    cells = (c.id, _local(c.created_at), c.title, services.CATEGORY_LABELS[c.category], c.place.name,
             services.reporter_label(c, staff=False), _local(c.accepted_at), c.owner.display_name if c.owner else "",
             c.responsible_unit, c.deadline.isoformat() if c.deadline else "", services.LEVEL_LABELS[c.level],
             services.STATUS_LABELS[c.status], _local(c.resolved_at), c.rating)
    return [spreadsheet_safe(cell) for cell in cells]


def _attachment(filename: str, fallback: str) -> str:
    """Content-Disposition: an ASCII name for old clients, the real one as RFC 5987 filename* for the rest."""
    filename = re.sub(r'[\x00-\x1f\x7f\\/:*?"<>|]+', "_", filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@bp.get("/places/<int:place_id>/ledger.csv")
@login_required
def ledger_csv(place_id: int):
    """The ledger as CSV: UTF-8 with a BOM so Excel reads Chinese, one row per concern. The export is recorded.

    Written to a spooled file (memory, then disk past LEDGER_CSV_IN_MEMORY) and sent from it, so a large ledger
    neither sits in memory nor streams from inside the request's contexts (a half-read stream would hold them).
    """
    estate, form = _ledger_filters(place_id)
    day = i18n.local_today().strftime("%Y%m%d")
    spool = tempfile.SpooledTemporaryFile(max_size=LEDGER_CSV_IN_MEMORY)
    text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")  # utf-8-sig: the BOM comes first
    writer = csv.writer(text)
    writer.writerow(_ledger_header())
    writer.writerows(_ledger_cells(concern) for concern in queries.ledger_stream(estate, form.filters()))
    text.flush()
    text.detach()
    size = spool.tell()
    spool.seek(0)
    record(current_user, "concern.exported", estate, "place", estate.id, detail=urlencode(form.args()) or None)
    response = current_app.response_class(wrap_file(request.environ, spool), direct_passthrough=True,
                                          content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = _attachment(f"{estate.name}-{_('Concerns ledger')}-{day}.csv",
                                                          f"ledger-{estate.id}-{day}.csv")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.content_length = size
    db.session.commit()
    return response


@bp.get("/places/<int:place_id>/this-week")
@login_required
def this_week(place_id: int):
    """This week's list of public concerns for the Friday meeting: an estate's (its members and staff),
    or a community's, with all its estates (its staff)."""
    place = get_place_or_404(place_id)
    if place.kind not in (PlaceKind.ESTATE, PlaceKind.COMMUNITY):
        abort(404)
    require(Action.PLACE_VIEW if place.kind is PlaceKind.ESTATE else Action.CONCERN_HANDLE, place)
    concerns = queries.this_week(place, current_standing(), THIS_WEEK_SHOWN + 1)
    return render_template("concerns/this_week.html", place=place, concerns=concerns[:THIS_WEEK_SHOWN],
                           more=len(concerns) > THIS_WEEK_SHOWN, friday=queries.coming_friday(i18n.local_today()),
                           staff=can(Action.CONCERN_HANDLE, place), crumbs=ancestors(place) + [place])
