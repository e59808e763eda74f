"""Ratios to the ceiling, the targets of issue #9, the results file and the table on stdout (all pure).

Targets (16 connections, two sync gunicorn workers): every read page at least half the ceiling page's
requests/s with p95 ≤ 100 ms; secret ballots at least half the bare INSERT + COMMIT's requests/s; each worker's
RSS ≤ 150 MB after the run. The ceiling runs before and after the app; each ratio is to its faster run.
A scenario with errors, or whose database check failed, does not meet its target.
At the peak (a page read while the ballots of its vote are cast), the page keeps p95 ≤ 100 ms.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

READ_RATIO = 0.5
READ_P95_MS = 100.0
SECRET_BALLOT_RATIO = 0.5
RSS_LIMIT_MB = 150.0
CEILING_DRIFT = 0.15  # a ceiling's runs further apart than this: the machine's speed moved during the run
READS = ("anonymous", "resident", "staff")
CEILING_PAGE = "ceiling: bare page"
CEILING_INSERT = "ceiling: bare INSERT"
# The Friday vote's peak: the page of the proposal being voted on, read while its ballots are cast.
PEAK_READ = "peak: page during the vote"
PEAK_WRITE = "peak: ballots beside it"


@dataclass
class Row:
    """One scenario's line of the table (and of the results file)."""

    name: str
    group: str  # "anonymous" | "resident" | "staff" (reads) | "write" | "peak" | "ceiling"
    rate: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    kind: str = ""  # writes: "secret" | "named" | "comment"
    path: str = ""
    note: str = ""
    check: list[str] | None = None  # writes: the database check's problems (empty: it agrees)
    ratio: float | None = None
    cpu_ms: float | None = None  # the workers' CPU per answered request (not for the peak's two loads at once)
    target: str = ""
    met: bool | None = None
    detail: dict = field(default_factory=dict)


def ceiling_for(row: Row) -> str | None:
    """Which ceiling a scenario is compared with: pages with the bare page, writes with the bare INSERT."""
    if row.group == "ceiling":
        return None
    return CEILING_INSERT if row.group == "write" or row.name == PEAK_WRITE else CEILING_PAGE


def judge(rows: list[Row]) -> list[Row]:
    """Fill in each row's ratio to its ceiling, its target and whether it is met."""
    ceilings = {r.name: r.rate for r in rows if r.group == "ceiling"}
    for row in rows:
        ceiling = ceilings.get(ceiling_for(row) or "")
        row.ratio = round(row.rate / ceiling, 2) if ceiling else None
        clean = row.errors == 0 and not row.check
        if row.group in READS:
            row.target = f"≥{READ_RATIO}× page, p95≤{READ_P95_MS:.0f}ms"
            row.met = clean and row.ratio is not None and row.ratio >= READ_RATIO and row.p95_ms <= READ_P95_MS
        elif row.group == "write" and row.kind == "secret":
            row.target = f"≥{SECRET_BALLOT_RATIO}× INSERT"
            row.met = clean and row.ratio is not None and row.ratio >= SECRET_BALLOT_RATIO
        elif row.group == "write":
            row.target = "db check"
            row.met = clean
        elif row.name == PEAK_READ:  # no ratio asked of it: served while the ballots take their share
            row.target = f"p95≤{READ_P95_MS:.0f}ms"
            row.met = clean and row.p95_ms <= READ_P95_MS
        elif row.name == PEAK_WRITE:
            row.target = "db check"
            row.met = clean
        else:
            row.target, row.met = "", None
    return rows


def fastest_ceilings(rows: list[Row]) -> list[Row]:
    """The ceiling is run before and after the app's scenarios; each ceiling keeps its fastest run as its row
    (every run's rate in detail["runs"]), after the other rows. A moment the machine runs slow during one ceiling
    run thus never brings the app nearer its ceiling than it is: a target is met against the best the bare stack
    did in the same run."""
    runs: dict[str, list[float]] = {}
    fastest: dict[str, Row] = {}
    for row in rows:
        if row.group == "ceiling":
            runs.setdefault(row.name, []).append(row.rate)
            if row.name not in fastest or row.rate > fastest[row.name].rate:
                fastest[row.name] = row
    for name, row in fastest.items():
        row.detail = {**row.detail, "runs": runs[name]}
    return [r for r in rows if r.group != "ceiling"] + list(fastest.values())


def drifted(rows: list[Row]) -> dict[str, list[float]]:
    """The ceilings whose runs differ by more than CEILING_DRIFT of the fastest: the machine's speed moved during
    the run, and every ratio to them is that much less certain."""
    found = {}
    for row in rows:
        rates = row.detail.get("runs", []) if row.group == "ceiling" else []
        if len(rates) > 1 and max(rates) > 0 and (max(rates) - min(rates)) / max(rates) > CEILING_DRIFT:
            found[row.name] = rates
    return found


def rss_met(rss_mb: list[float]) -> bool:
    return bool(rss_mb) and max(rss_mb) <= RSS_LIMIT_MB


def _cell(value, width: int, digits: int = 1) -> str:
    if value is None:
        return "—".rjust(width)
    if isinstance(value, float):
        return f"{value:.{digits}f}".rjust(width)
    return str(value).rjust(width)


def table(rows: list[Row], rss_mb: list[float], title: str = "") -> str:
    """The table printed at the end of a run: one line per scenario, then the workers' memory."""
    head = (f"{'scenario':<28} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} "
            f"{'ratio':>6} {'cpu ms':>7}  {'target':<26} met")
    lines = [title, head, "-" * len(head)] if title else [head, "-" * len(head)]
    for r in rows:
        met = "—" if r.met is None else ("yes" if r.met else "NO")
        lines.append(f"{r.name:<28} {_cell(r.rate, 8)} {_cell(r.p50_ms, 8)} {_cell(r.p95_ms, 8)} "
                     f"{_cell(r.p99_ms, 8)} {_cell(r.errors, 7)} {_cell(r.ratio, 6, 2)} {_cell(r.cpu_ms, 7, 2)}  "
                     f"{r.target:<26} {met}")
        if r.check:
            lines.append(f"{'':<28} database check FAILED: " + "; ".join(r.check))
    for name, rates in drifted(rows).items():
        lines.append(f"! {name} ran at {' and '.join(f'{rate:.0f}' for rate in rates)} req/s before and after the "
                     f"app: the machine's speed moved during the run, so its ratios are uncertain (judged against "
                     f"the faster)")
    if rss_mb:
        lines.append(f"worker RSS after the run: {', '.join(f'{m:.0f} MB' for m in rss_mb)} "
                     f"(target ≤ {RSS_LIMIT_MB:.0f} MB each): {'yes' if rss_met(rss_mb) else 'NO'}")
    return "\n".join(lines)


def results_path(folder: Path, db_kind: str, day: date | None = None, partial: bool = False) -> Path:
    """bench/results/<date>-<db>.json; a run of only some scenarios (BENCH_ONLY) writes <date>-<db>-partial.json,
    so it never replaces a whole run's results."""
    return folder / f"{(day or date.today()).isoformat()}-{db_kind}{'-partial' if partial else ''}.json"


def write_results(path: Path, meta: dict, rows: list[Row], rss_mb: list[float]) -> Path:
    """bench/results/<date>-<db>.json: small enough to commit (no per-request data)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {**meta, "scenarios": [r.__dict__ for r in rows], "worker_rss_mb": rss_mb,
            "worker_rss_met": rss_met(rss_mb), "all_met": all(r.met is not False for r in rows) and rss_met(rss_mb)}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
