"""The published ballots of a counted round in words, for the tracker check: each ballot's marks with the
names they stand for (the names of the count, plus one query for anyone written in only on void ballots)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

from council.accounts.models import User
from council.ballots.models import PublishedBallot
from council.ballots.rules import ballot_is_void
from council.elections import counting, rules
from council.elections.models import ElectionRound
from council.elections.rules import Mark
from council.extensions import db


@dataclass(frozen=True)
class BallotWords:
    position: int
    tracker: str | None  # None: a paper ballot
    void: bool  # unreadable, or naming more people than seats: counted as returned, not as valid
    spoilt: bool = False  # the tellers could not read it
    marks: list[tuple[str, Mark]] = field(default_factory=list)  # printed candidates, in ballot order
    write_ins: list[str] = field(default_factory=list)
    unreadable: bool = False  # the stored text is not a ballot (never expected: shown rather than hidden)


def describe(round_: ElectionRound, rows: Iterable[PublishedBallot]) -> list[BallotWords]:
    """One page of the published list as names and marks (two queries at most, whatever the page)."""
    table = counting.table(round_)
    names = {r.user_id: r.user.display_name for r in table}
    order = {r.user_id: r.position or 10_000 for r in table}
    decoded: list[tuple[PublishedBallot, rules.Marks | None]] = []
    for row in rows:
        try:
            decoded.append((row, rules.decode(row.marks or "")))
        except ValueError:
            decoded.append((row, None))
    missing = {p for _row, m in decoded if m for p in (*m.marks, *m.write_ins)} - names.keys()
    if missing:
        names.update(db.session.execute(sa.select(User.id, User.display_name).where(User.id.in_(missing))).all())
    found = []
    for row, marks in decoded:
        if marks is None:
            found.append(BallotWords(row.position, row.tracker, void=True, unreadable=True))
            continue
        found.append(BallotWords(
            row.position, row.tracker, void=ballot_is_void(marks.ballot(), round_.seats), spoilt=marks.spoilt,
            marks=[(names.get(p, f"#{p}"), m)
                   for p, m in sorted(marks.marks.items(), key=lambda item: (order.get(item[0], 10_000), item[0]))],
            write_ins=sorted(names.get(p, f"#{p}") for p in marks.write_ins)))
    return found
