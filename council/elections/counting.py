"""The public count of a round, further rounds, the posted result (公示), the published ballots for anyone
to recount, and the new team taking office.

Counting closes the round's poll (`council.ballots.services.close`): the box is shuffled into the
published list and emptied, then `_on_close` counts the published list with the pure rules and writes the
figures once. Live results are never computed while a round is open.
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from itertools import repeat

import sqlalchemy as sa
from flask import abort, url_for
from flask_babel import lazy_gettext as _l

from council.accounts.models import User
from council.activity.services import record, register_verbs
from council.ballots import publication
from council.ballots import services as polls
from council.ballots.models import Poll, PollState, PublishedBallot, RollLine
from council.ballots.rules import ElectionForm, ElectionResult, ElectionStatus, Standing, ballot_is_void
from council.csvfiles import spreadsheet_safe
from council.elections import nominations, rules, services, voting
from council.elections.models import Election, ElectionRound, Nomination, RoundCandidate
from council.elections.rules import Mark, Phase
from council.exceptions import Refused
from council.extensions import db
from council.roles.models import Role, RoleGrant
from council.roles.services import grant
from council.sqltypes import utcnow

register_verbs({
    "election.counted": _l("counted the ballots in public"),
    "election.round": _l("called a further round of voting"),
    "election.finished": _l("closed the election: the elected members join the service team"),
})


# ---- the count ----------------------------------------------------------------------------------

def count(election: Election, round_: ElectionRound, by: User, now: datetime | None = None) -> None:
    """The committee counts the round once voting has closed and every paper batch is accepted."""
    now = now or utcnow()
    if not services.may_run(election, by):
        abort(403)
    if round_.id != services.latest_round(election).id or services.phase(election, now) is not Phase.COUNTING:
        raise Refused(_l("A round is counted after its voting closes."))
    if voting.pending_batches(round_):
        raise Refused(_l("Some paper batches are not accepted yet: both tellers must finish and agree."))
    if not polls.close(services.poll_of(round_), by, now):
        raise Refused(_l("This round has been counted already."))
    record(by, "election.counted", election.estate_id, services.SUBJECT, election.id, detail=str(round_.number), at=now)


def tally(poll: Poll, round_: ElectionRound, printed: list[RoundCandidate]) -> tuple[ElectionResult, Counter, int]:
    """Count a round's published ballots with the pure rules: the result, the "against" marks per name among
    valid ballots, and the size of the roll. Reads the database, writes nothing."""
    # Identical ballots (the marks are canonical text) are read and decoded once, with how many there are:
    # 100,000 ballots of nine candidates come to a few thousand distinct ones.
    kinds = [(rules.decode(marks), n) for marks, n in db.session.execute(
        sa.select(PublishedBallot.marks, sa.func.count()).where(PublishedBallot.poll_id == poll.id)
        .group_by(PublishedBallot.marks))]
    roll_size = db.session.scalar(sa.select(sa.func.count(RollLine.id)).where(RollLine.poll_id == poll.id)) or 0
    form = ElectionForm(candidates=tuple(c.user_id for c in printed),
                        second_round_factor=round_.election.second_round_factor)
    ballots = [(marks.ballot(), marks, n) for marks, n in kinds]
    result = rules.count_round(round_.kind, roll_size, [b for b, _m, n in ballots for b in repeat(b, n)],
                               round_.seats, form)
    against: Counter = Counter()
    for ballot, marks, n in ballots:
        if not ballot_is_void(ballot, round_.seats):
            against.update({p: n for p, m in marks.marks.items() if m is Mark.AGAINST})
    return result, against, roll_size


def _on_close(poll: Poll) -> None:
    """Count the published ballots with the pure rules and write the figures (called in the closing
    transaction, once)."""
    round_ = services.round_of_poll(poll)
    printed = nominations.printed(round_.id)
    result, against, roll_size = tally(poll, round_, printed)
    round_.returned, round_.valid, round_.void = result.returned, result.valid, result.void
    round_.status, round_.counted_at = result.status.value, poll.closed_at
    poll.roll_heads = roll_size
    rows = {c.user_id: c for c in printed}
    for line in result.votes:
        row = rows.get(line.candidate)
        if row is None:
            if not line.votes:
                continue
            row = RoundCandidate(round_id=round_.id, user_id=line.candidate, position=None)
            db.session.add(row)
        row.votes, row.against = line.votes, against.get(line.candidate, 0)
        row.elected = line.candidate in result.elected
        row.runoff = line.candidate in result.runoff
        row.next_round = line.candidate in result.second_round
    db.session.flush()


def _results_link(round_id: int) -> str:
    round_ = db.session.get(ElectionRound, round_id)
    return url_for("elections.results", election_id=round_.election_id, number=round_.number)


polls.register_subject(services.SUBJECT, _results_link, _on_close, closes_itself=True)


# ---- what the count says --------------------------------------------------------------------------

def table(round_: ElectionRound) -> list[RoundCandidate]:
    """The counted round's names, most votes first (printed order for ties), as posted."""
    rows = list(db.session.scalars(sa.select(RoundCandidate).options(sa.orm.joinedload(RoundCandidate.user))
                                   .where(RoundCandidate.round_id == round_.id)))
    return sorted(rows, key=lambda r: (-(r.votes or 0), r.position or 10_000, r.user_id))


def is_valid(round_: ElectionRound) -> bool:
    return round_.status == ElectionStatus.VALID.value


def elected(election: Election) -> list[RoundCandidate]:
    """Everyone elected so far, in any round."""
    return list(db.session.scalars(
        sa.select(RoundCandidate).options(sa.orm.joinedload(RoundCandidate.user))
        .join(ElectionRound, ElectionRound.id == RoundCandidate.round_id)
        .where(ElectionRound.election_id == election.id, RoundCandidate.elected.is_(True))
        .order_by(ElectionRound.number, RoundCandidate.votes.desc(), RoundCandidate.position)))


def plan(election: Election) -> rules.NextRound | None:
    """The round the latest count calls for, if any."""
    last = services.latest_round(election)
    if last.counted_at is None:
        return None
    rows = table(last)
    return rules.next_round(last.kind, is_valid(last), last.seats, sum(r.elected for r in rows),
                            [r.user_id for r in sorted((r for r in rows if r.position), key=lambda r: r.position)],
                            [r.user_id for r in rows if r.runoff], [r.user_id for r in rows if r.next_round])


def open_next_round(election: Election, by: User, opens_at: datetime, closes_at: datetime,
                    now: datetime | None = None) -> ElectionRound:
    """Call the round the count calls for, on the same roll (written proxies carry over)."""
    now = now or utcnow()
    if not services.may_run(election, by):
        abort(403)
    if services.phase(election, now) is not Phase.RESULTS:
        raise Refused(_l("A further round is called once the last one is counted."))
    upcoming = plan(election)
    if upcoming is None:
        raise Refused(_l("The count calls for no further round."))
    last = services.latest_round(election)
    new = ElectionRound(election_id=election.id, number=last.number + 1, kind=upcoming.kind, seats=upcoming.seats,
                        write_ins=upcoming.write_ins)
    db.session.add(new)
    db.session.flush()
    names = services.names_of(upcoming.candidates)
    order = sorted(upcoming.candidates, key=lambda uid: (names.get(uid, ""), uid))
    db.session.add_all(RoundCandidate(round_id=new.id, user_id=uid, position=i) for i, uid in enumerate(order, 1))
    columns = ("user_id", "household_id", "building_id", "label", "sort_key", "area_dm2", "kind", "voter_key",
               "proxy_id")
    lines = [dict(zip(columns, row, strict=True)) for row in db.session.execute(
        sa.select(*(getattr(RollLine, c) for c in columns)).where(RollLine.poll_id == services.poll_of(last).id)
        .order_by(RollLine.id))]
    polls.open_poll(election.estate, services.SUBJECT, new.id, election.title, services.poll_of(last).rule,
                    election.basis, secret=True, closes_at=closes_at, by=by, lines=lines, now=now,
                    objection_days=election.notice_days, opens_at=opens_at)
    record(by, "election.round", election.estate_id, services.SUBJECT, election.id,
           detail=f"{new.number}:{new.kind.value}", at=now)
    return new


# ---- the team ---------------------------------------------------------------------------------------

def may_finish(election: Election, now: datetime | None = None) -> bool:
    """Once the latest result is final (its 公示 period over, every objection answered)."""
    now = now or utcnow()
    if services.phase(election, now) is not Phase.RESULTS:
        return False
    poll = services.poll_of(services.latest_round(election))
    return publication.standing(poll, now) is Standing.FINAL


def finish(election: Election, by: User, now: datetime | None = None) -> list[RoleGrant]:
    """Close the election: each elected member takes the service-team role on the estate, with the contact
    they gave when they accepted their nomination."""
    now = now or utcnow()
    if not services.may_run(election, by):
        abort(403)
    if not may_finish(election, now):
        raise Refused(_l("The result is final only after its posting period, once every objection is answered."))
    done = db.session.execute(sa.update(Election).where(Election.id == election.id, Election.finished_at.is_(None))
                              .values(finished_at=now).execution_options(synchronize_session=False)).rowcount
    if done != 1:
        raise Refused(_l("This election is over."))
    db.session.refresh(election)
    winners = elected(election)
    contacts = dict(db.session.execute(sa.select(Nomination.user_id, Nomination.contact).where(
        Nomination.election_id == election.id, Nomination.user_id.in_([w.user_id for w in winners]))).all())
    held = set(db.session.scalars(sa.select(RoleGrant.user_id).where(
        RoleGrant.place_id == election.estate_id, RoleGrant.role == Role.SERVICE_TEAM,
        RoleGrant.revoked_at.is_(None))))
    grants = []
    for winner in winners:
        if winner.user_id in held:  # already on the team: keep the grant, fill in how to reach them
            db.session.execute(sa.update(RoleGrant).where(
                RoleGrant.user_id == winner.user_id, RoleGrant.place_id == election.estate_id,
                RoleGrant.role == Role.SERVICE_TEAM, RoleGrant.revoked_at.is_(None), RoleGrant.contact.is_(None))
                .values(contact=contacts.get(winner.user_id) or None).execution_options(synchronize_session=False))
            continue
        if not winner.user.has_account:  # registered by staff without a phone: shown as elected, holds no role
            continue
        entry = grant(winner.user, Role.SERVICE_TEAM, election.estate, by)
        entry.contact, entry.granted_at = contacts.get(winner.user_id) or None, now
        grants.append(entry)
    db.session.flush()
    record(by, "election.finished", election.estate_id, services.SUBJECT, election.id, detail=str(len(winners)), at=now)
    return grants


# ---- the published ballots and the recount -----------------------------------------------------------

CSV_HEADER = ["position", "tracker", "marks"]


def ballots_csv(election: Election, round_: ElectionRound) -> Iterator[str]:
    """The shuffled ballot list of a counted round as CSV: a few `#` lines that say what was counted (seats,
    roll, kind, the printed candidates and the names written in), then one line per ballot."""
    poll = services.poll_of(round_)
    if poll.state is not PollState.CLOSED:
        abort(404)
    out = io.StringIO()
    writer = csv.writer(out)

    def flush() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    writer.writerow(["# election", spreadsheet_safe(election.title)])
    writer.writerow(["# round", round_.number, round_.kind.value])
    writer.writerow(["# seats", round_.seats])
    writer.writerow(["# roll", poll.roll_heads or 0])
    writer.writerow(["# second_round_factor", election.second_round_factor])
    for row in sorted(table(round_), key=lambda r: (r.position is None, r.position or 0, r.user_id)):
        writer.writerow(["# candidate" if row.position else "# written_in", row.user_id,
                         spreadsheet_safe(row.user.display_name)])
    writer.writerow(CSV_HEADER)
    yield "\ufeff" + flush()
    last = 0
    while True:
        chunk = db.session.execute(sa.select(PublishedBallot.position, PublishedBallot.tracker, PublishedBallot.marks)
                                   .where(PublishedBallot.poll_id == poll.id, PublishedBallot.position > last)
                                   .order_by(PublishedBallot.position).limit(1000)).all()
        if not chunk:
            break
        for position, tracker, marks in chunk:
            writer.writerow([position, tracker or "", marks])
        last = chunk[-1][0]
        yield flush()
