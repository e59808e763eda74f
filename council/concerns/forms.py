"""Concern forms."""
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileSize, MultipleFileField
from wtforms import BooleanField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from council.concerns.photos import MAX_BYTES, MAX_PHOTOS, TOO_LARGE, TOO_MANY
from council.concerns.queries import OPEN_FILTER, LedgerFilters
from council.concerns.rules import Category, Channel, ConcernStatus
from council.concerns.services import CATEGORY_LABELS, CHANNEL_LABELS, STATUS_LABELS
from council.forms import CouncilForm, DateField
from council.i18n import fmt_date


def category_choices():
    return [(c.value, CATEGORY_LABELS[c]) for c in Category]


def channel_choices():
    return [(c.value, CHANNEL_LABELS[c]) for c in Channel if c is not Channel.ONLINE]


def at_most_photos(form, field):
    """No more than 3 files in one go (photos.add_photos checks it again against what is stored)."""
    if len(field.data or []) > MAX_PHOTOS:
        raise StopValidation(TOO_MANY)


class ReportForm(CouncilForm):
    title = StringField(_l("In a few words, what is the problem?"), validators=[
        DataRequired(_l("Please write a short title.")), Length(max=120)])
    description = TextAreaField(_l("Details (where, since when, who is affected)"),
                                validators=[Optional(), Length(max=4000)])
    category = RadioField(_l("Kind of problem"), choices=category_choices,
                          validators=[DataRequired(_l("Please choose one."))])
    show_name = BooleanField(_l("Show my name to other residents"), default=True)
    # Set after the duplicates check: "it is not one of these, report it anyway".
    confirmed = BooleanField(_l("None of these is my problem: report it as new"))
    # Count and size are checked here; whether each is really a JPEG or PNG is checked by photos.py
    # on the content, which is what counts. `accept` only helps the phone offer the gallery.
    photos = MultipleFileField(
        _l("Photos (optional)"),
        description=_l("Up to %(n)s photos, JPEG or PNG, at most %(mb)s MB each. We keep a smaller copy "
                       "without the location or camera details.", n=MAX_PHOTOS, mb=MAX_BYTES // (1024 * 1024)),
        validators=[at_most_photos, FileSize(MAX_BYTES, message=TOO_LARGE)],
        render_kw={"accept": "image/jpeg,image/png"})


class RecordForm(ReportForm):
    """Staff recording a concern for a resident (一楼见, phone, door visit)."""

    channel = RadioField(_l("How it reached us"), choices=channel_choices,
                          validators=[DataRequired(_l("Please choose one."))])
    reporter_name = StringField(_l("Resident's name"), validators=[Optional(), Length(max=64)])
    reporter_login = StringField(_l("Their mobile number or username, if they have an account"),
                                 validators=[Optional(), Length(max=64)])


class CommentForm(CouncilForm):
    body = TextAreaField(_l("Your comment"), validators=[DataRequired(_l("Please write something.")),
                                                        Length(max=4000)])


class AssignForm(CouncilForm):
    owner = StringField(_l("Person responsible (mobile number or username)"), validators=[Optional(), Length(max=64)])
    unit = StringField(_l("Responsible unit, e.g. property management, water company"),
                       validators=[Optional(), Length(max=100)])
    deadline = DateField(_l("Deadline"), validators=[Optional()])


class ReasonForm(CouncilForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Please give a reason.")), Length(max=500)])


class NoteForm(CouncilForm):
    note = TextAreaField(_l("What was done (optional)"), validators=[Optional(), Length(max=500)])


def rating_choices():
    return [(5, _l("5 - very satisfied")), (4, _l("4 - satisfied")), (3, _l("3 - acceptable")),
            (2, _l("2 - unhappy")), (1, _l("1 - very unhappy"))]


class FollowUpForm(CouncilForm):
    rating = RadioField(_l("How satisfied is the resident?"), coerce=int, choices=rating_choices,
                        validators=[InputRequired(_l("Please choose one."))])
    comment = TextAreaField(_l("What the resident said"), validators=[Optional(), Length(max=500)])


class MergeForm(CouncilForm):
    into = IntegerField(_l("Number of the concern to merge into"), validators=[
        InputRequired(_l("Please give the number of the concern.")), NumberRange(min=1, max=2**31 - 1)])


class CallForm(CouncilForm):
    department = StringField(_l("Department called"), validators=[DataRequired(_l("Please name the department.")),
                                                                  Length(max=100)])


class ReportedForm(CouncilForm):
    note = TextAreaField(_l("What the department did (optional)"), validators=[Optional(), Length(max=500)])


def status_filter_choices():
    return [("", _l("Any status")), (OPEN_FILTER, _l("Still open (reported, accepted or in progress)")),
            *[(s.value, STATUS_LABELS[s]) for s in ConcernStatus]]


def category_filter_choices():
    return [("", _l("Any category")), *category_choices()]


LEDGER_FILTERS = ("status", "category", "building", "date_from", "date_to")


class LedgerFilterForm(CouncilForm):
    """The ledger's filters: a GET form, so it works without JavaScript and the result can be bookmarked.

    A value that does not validate is shown with its error and otherwise ignored.
    """

    class Meta:
        csrf = False  # it changes nothing

    status = SelectField(_l("Status"), choices=status_filter_choices, default="")
    category = SelectField(_l("Category"), choices=category_filter_choices, default="")
    building = SelectField(_l("Building"), default="")
    date_from = DateField(_l("Reported from"), validators=[Optional()])
    date_to = DateField(_l("Reported until (included)"), validators=[Optional()])

    def __init__(self, estate, buildings, **kwargs):
        super().__init__(**kwargs)
        self.building.choices = [("", _l("Any building")), (str(estate.id), _l("The estate as a whole")),
                                 *[(str(b.id), b.name) for b in buildings]]

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))

    def _valid(self, name: str):
        field = self[name]
        return None if field.errors or field.data in ("", None) else field.data

    def filters(self) -> LedgerFilters:
        category, building = self._valid("category"), self._valid("building")
        return LedgerFilters(status=self._valid("status"), category=Category(category) if category else None,
                             place_id=int(building) if building else None,
                             date_from=self._valid("date_from"), date_to=self._valid("date_to"))

    def args(self) -> dict[str, str]:
        """The valid filters as query arguments: for the CSV and print links, and the export's record."""
        return {name: value.isoformat() if isinstance(value, date) else value
                for name in LEDGER_FILTERS if (value := self._valid(name)) is not None}

    def summary(self) -> list[tuple[str, str]]:
        """The filters in words (label, value), for the top of the printout."""
        shown = []
        for name in LEDGER_FILTERS:
            value = self._valid(name)
            if value is not None:
                field = self[name]
                text = fmt_date(value) if isinstance(value, date) else str(dict(field.choices)[value])
                shown.append((str(field.label.text), text))
        return shown
