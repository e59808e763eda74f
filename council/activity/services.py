"""Write and read activity records; each verb has one sentence, translated when shown."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from council.accounts.models import User
from council.activity.models import Activity
from council.audit import services as audit
from council.extensions import db
from council.sqltypes import utcnow
from council.territory.models import Place

VERBS = {
    "membership.requested": _l("asked to join a household"),
    "membership.approved": _l("approved a request to join a household"),
    "membership.refused": _l("refused a request to join a household"),
    "membership.withdrawn": _l("withdrew a request to join a household"),
    "membership.ended": _l("recorded a move-out"),
    "membership.representative": _l("named the household representative"),
    "membership.registered": _l("registered a resident without an account"),
    "membership.claim_code": _l("issued a one-time claim code"),
    "account.claimed": _l("claimed their resident record with a code"),
    "party.recorded": _l("recorded a party member of the branch"),
    "party.ended": _l("ended a party member's attachment to the branch"),
    "role.granted": _l("granted a role"),
    "role.revoked": _l("revoked a role"),
    "place.created": _l("created a place"),
    "place.updated": _l("edited a place"),
    "household.created": _l("added a household"),
    "household.updated": _l("edited a household"),
    "household.imported": _l("imported households"),
}


def register_verbs(sentences: Mapping[str, object]) -> None:
    """Let an area add its own verbs and their sentences (lazy translations)."""
    VERBS.update(sentences)


def record(actor: User | None, verb: str, place: Place | int, subject_type: str, subject_id: int,
           target: User | None = None, detail: str | None = None, note: str | None = None,
           at: datetime | None = None) -> Activity:
    """Add an activity record (the caller's transaction commits it with the change it describes); `at`: when
    the change happened, if not now (a service given its own clock). A privileged verb is audited too."""
    if verb not in VERBS:
        raise ValueError(f"unknown activity verb {verb!r}")
    entry = Activity(
        actor_id=actor.id if actor else None,
        place_id=place if isinstance(place, int) else place.id,
        verb=verb, subject_type=subject_type, subject_id=subject_id,
        target_user_id=target.id if target else None,
        detail=(detail or None) and detail[:500],
        note=(note or None) and note[:500],
        created_at=at or utcnow(),
    )
    db.session.add(entry)
    if audit.privileged(verb):
        audit.append(actor, verb, entry.place_id, subject_type, subject_id, target=target, detail=entry.detail,
                     at=entry.created_at)
    return entry


# Details stored as codes (a role, a status) and shown in the reader's language: verb → {code: label}.
_DETAIL_LABELS: dict[str, Mapping] = {}


def register_detail_labels(verbs: Iterable[str], labels: Mapping) -> None:
    """Let an area say how the codes it stores in `detail` read, e.g. "building_leader" → "Building leader"."""
    for verb in verbs:
        _DETAIL_LABELS[verb] = labels


def describe(entry: Activity) -> str:
    return str(VERBS.get(entry.verb, entry.verb))


def describe_detail(entry: Activity) -> str:
    """The record's detail in the reader's language where it is a code, else as written."""
    labels = _DETAIL_LABELS.get(entry.verb, {})
    label = labels.get(entry.detail) if entry.detail else None
    return str(label) if label is not None else (entry.detail or "")


def activity_beneath(place: Place, page: int, per_page: int):
    """Activity at a place and every place beneath it, newest first, one page."""
    query = (
        sa.select(Activity)
        .join(Place, Place.id == Activity.place_id)
        .where(Place.path.startswith(place.path))
        .options(joinedload(Activity.actor), joinedload(Activity.target_user), joinedload(Activity.place))
        .order_by(Activity.id.desc())
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def activity_about(subject_type: str, subject_id: int, limit: int = 50) -> list[Activity]:
    """The records about one item, newest first, for its own page."""
    return list(db.session.scalars(
        sa.select(Activity)
        .where(Activity.subject_type == subject_type, Activity.subject_id == subject_id)
        .options(joinedload(Activity.actor), joinedload(Activity.target_user))
        .order_by(Activity.id.desc()).limit(limit)
    ))
