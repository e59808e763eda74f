"""Nominations: by oneself or jointly by members (联名推荐), accepted by the nominee with a statement and
perhaps a photo; then the committee publishes the candidates, more than seats (差额), in ballot order."""
from __future__ import annotations

from datetime import datetime
from typing import BinaryIO

import sqlalchemy as sa
from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from council.accounts.models import User
from council.activity.services import record, register_verbs
from council.concerns.photos import process_photo
from council.elections import rules, services
from council.elections.models import Election, ElectionOfficial, Nomination, NominationSupport, RoundCandidate
from council.elections.rules import Office, Phase
from council.exceptions import Refused
from council.extensions import db
from council.sqltypes import utcnow

register_verbs({
    "election.nominated": _l("made a nomination"),
    "election.seconded": _l("joined a nomination"),
    "election.accepted": _l("accepted a nomination"),
    "election.withdrawn": _l("withdrew from the election"),
    "election.slate": _l("published the candidates"),
})

STATEMENT_LIMIT = 1000


def _in_nominations(election: Election, now: datetime) -> None:
    if services.phase(election, now) is not Phase.NOMINATIONS:
        raise Refused(_l("Nominations are not open."))


def _eligible(election: Election, person: User) -> None:
    if not services.is_estate_adult(person.id, election.estate_id):
        raise Refused(_l("Only adult members of this estate can stand or nominate."), "person")


def nominate(election: Election, nominee: User, by: User, now: datetime | None = None) -> Nomination:
    """Nominate `nominee` (oneself, if allowed; anyone else starts a joint nomination others may join)."""
    now = now or utcnow()
    _in_nominations(election, now)
    _eligible(election, by)
    _eligible(election, nominee)
    own = nominee.id == by.id
    if own and not election.self_nomination:
        raise Refused(_l("This election takes joint nominations only."), "person")
    if db.session.scalar(sa.select(Nomination.id).where(Nomination.election_id == election.id,
                                                        Nomination.user_id == nominee.id)) is not None:
        raise Refused(_l("This member has been nominated already; join that nomination instead."), "person")
    nomination = Nomination(election_id=election.id, user_id=nominee.id, self_nominated=own,
                            proposed_by_id=by.id, created_at=now)
    db.session.add(nomination)
    db.session.flush()
    if not own:
        db.session.add(NominationSupport(nomination_id=nomination.id, user_id=by.id, created_at=now))
    record(by, "election.nominated", election.estate_id, services.SUBJECT, election.id, target=nominee, at=now)
    return nomination


def second(election: Election, nomination: Nomination, by: User, now: datetime | None = None) -> None:
    """Join someone else's nomination (once each; the nominee cannot nominate themselves this way)."""
    now = now or utcnow()
    _in_nominations(election, now)
    _eligible(election, by)
    if nomination.self_nominated or nomination.user_id == by.id:
        raise Refused(_l("A self-nomination needs no other nominators."))
    if nomination.withdrawn_at is not None:
        raise Refused(_l("This nomination has been withdrawn."))
    if db.session.scalar(sa.select(NominationSupport.id).where(NominationSupport.nomination_id == nomination.id,
                                                               NominationSupport.user_id == by.id)):
        raise Refused(_l("You have joined this nomination already."))
    db.session.add(NominationSupport(nomination_id=nomination.id, user_id=by.id, created_at=now))
    db.session.flush()
    record(by, "election.seconded", election.estate_id, services.SUBJECT, election.id, target=nomination.user, at=now)


def accept(election: Election, nomination: Nomination, by: User, statement: str, contact: str,
           photo: BinaryIO | None = None, now: datetime | None = None) -> None:
    """The nominee accepts (or edits their statement) before nominations close. Tellers and scrutineers,
    and the people of their households, cannot stand."""
    now = now or utcnow()
    if nomination.user_id != by.id:
        abort(403)
    _in_nominations(election, now)
    if nomination.withdrawn_at is not None:
        raise Refused(_l("This nomination has been withdrawn."))
    statement, contact = statement.strip(), contact.strip()
    if not statement or len(statement) > STATEMENT_LIMIT:
        raise Refused(_l("Write a short statement, at most %(n)s characters.", n=STATEMENT_LIMIT), "statement")
    if len(contact) > 100:
        raise Refused(_l("At most 100 characters."), "contact")
    tellers = list(db.session.scalars(sa.select(ElectionOfficial.user_id).where(
        ElectionOfficial.election_id == election.id, ElectionOfficial.office != Office.COMMITTEE)))
    homes = services.households_of([by.id, *tellers])
    if any(not rules.may_serve(t, homes[t], [by.id], homes[by.id]) for t in tellers):
        raise Refused(_l("You, or someone in your household, is a teller or scrutineer of this election. They "
                         "must step down before you can stand."))
    if photo is not None:
        data, _type, _w, _h = process_photo(photo)
        nomination.photo, nomination.has_photo = data, True
    first = nomination.accepted_at is None
    nomination.statement, nomination.contact = statement, contact
    nomination.accepted_at = nomination.accepted_at or now
    db.session.flush()
    if first:
        record(by, "election.accepted", election.estate_id, services.SUBJECT, election.id, at=now)


def withdraw(election: Election, nomination: Nomination, by: User, now: datetime | None = None) -> None:
    """The nominee withdraws, until the candidates are published."""
    now = now or utcnow()
    if nomination.user_id != by.id:
        abort(403)
    if election.slate_published_at is not None:
        raise Refused(_l("The candidates have been published; ask the election committee."))
    if nomination.withdrawn_at is not None:
        raise Refused(_l("This nomination has been withdrawn."))
    nomination.withdrawn_at = now
    db.session.flush()
    record(by, "election.withdrawn", election.estate_id, services.SUBJECT, election.id, at=now)


def get_nomination_or_404(election: Election, nomination_id: int) -> Nomination:
    found = db.session.get(Nomination, nomination_id, options=[joinedload(Nomination.user)])
    if found is None or found.election_id != election.id:
        abort(404)
    return found


def nominations(election: Election) -> list[tuple[Nomination, int, bool]]:
    """Every nomination with its number of joint nominators and whether it makes a candidate (two queries).
    At most a few dozen per estate, so not paginated."""
    supports = dict(db.session.execute(
        sa.select(NominationSupport.nomination_id, sa.func.count(NominationSupport.id))
        .join(Nomination, Nomination.id == NominationSupport.nomination_id)
        .where(Nomination.election_id == election.id).group_by(NominationSupport.nomination_id)).all())
    rows = db.session.scalars(sa.select(Nomination).options(joinedload(Nomination.user))
                              .where(Nomination.election_id == election.id).order_by(Nomination.id))
    return [(n, supports.get(n.id, 0), rules.nomination_stands(
        n.self_nominated, supports.get(n.id, 0), election.nominators_needed, n.accepted_at is not None,
        n.withdrawn_at is not None)) for n in rows]


def seconded_by(election: Election, user: User) -> set[int]:
    if not user.is_authenticated:
        return set()
    return set(db.session.scalars(sa.select(NominationSupport.nomination_id).join(
        Nomination, Nomination.id == NominationSupport.nomination_id).where(
        Nomination.election_id == election.id, NominationSupport.user_id == user.id)))


def standing(election: Election) -> list[Nomination]:
    """The nominations that make candidates, in ballot order (by name, then id)."""
    found = [n for n, _count, stands in nominations(election) if stands]
    return sorted(found, key=lambda n: (n.user.display_name, n.user_id))


def publish_slate(election: Election, by: User, now: datetime | None = None) -> None:
    """Publish the candidates once nominations are over: more than seats, none of them an official."""
    now = now or utcnow()
    if services.phase(election, now) is not Phase.CANDIDATES:
        raise Refused(_l("The candidates are published after nominations close and before voting opens."))
    if election.slate_published_at is not None:
        raise Refused(_l("The candidates have been published already."))
    slate = standing(election)
    if not rules.slate_ready(len(slate), election.seats):
        raise Refused(_l("There must be more candidates than seats (%(n)s candidates for %(seats)s seats).",
                         n=len(slate), seats=election.seats))
    ids = [n.user_id for n in slate]
    tellers = list(db.session.scalars(sa.select(ElectionOfficial.user_id).where(
        ElectionOfficial.election_id == election.id, ElectionOfficial.office != Office.COMMITTEE)))
    if any(services.conflicts(election, t, ids) for t in tellers):
        raise Refused(_l("A teller or scrutineer is a candidate or lives with one: replace them first."))
    first = services.get_round_or_404(election, 1)
    db.session.add_all(RoundCandidate(round_id=first.id, user_id=uid, position=i) for i, uid in enumerate(ids, 1))
    election.slate_published_at = now
    db.session.flush()
    record(by, "election.slate", election.estate_id, services.SUBJECT, election.id, detail=str(len(ids)), at=now)


def printed(round_id: int) -> list[RoundCandidate]:
    """A round's printed candidates in ballot order."""
    return list(db.session.scalars(sa.select(RoundCandidate).options(joinedload(RoundCandidate.user))
                                   .where(RoundCandidate.round_id == round_id, RoundCandidate.position.is_not(None))
                                   .order_by(RoundCandidate.position)))


def photo_of(nomination: Nomination) -> bytes | None:
    return nomination.photo if nomination.has_photo else None
