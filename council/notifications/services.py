"""Send and read inbox messages; areas register the sentence for each verb and where it links."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import sqlalchemy as sa

from council.extensions import db
from council.notifications.models import Notification
from council.sqltypes import utcnow
from council.versions import for_people, touch_people

_SENTENCES: dict[str, object] = {}
_LINKS: dict[str, Callable[[int], str]] = {}


def register(sentences: Mapping[str, object], subject_type: str, link: Callable[[int], str]) -> None:
    """An area declares its verbs' sentences (lazy translations) and how to link to a subject."""
    _SENTENCES.update(sentences)
    _LINKS[subject_type] = link


def _known(verb: str) -> None:
    if verb not in _SENTENCES:
        raise ValueError(f"unknown notification verb {verb!r}")


def notify(user_ids: Iterable[int | None], verb: str, subject_type: str, subject_id: int, title: str = "",
           actor_id: int | None = None) -> int:
    """Put a message in each person's inbox (never the actor's own); returns how many were sent."""
    _known(verb)
    recipients = sorted({uid for uid in user_ids if uid is not None and uid != actor_id})
    if recipients:
        db.session.execute(for_people(sa.insert(Notification), *recipients), [
            {"user_id": uid, "verb": verb, "subject_type": subject_type, "subject_id": subject_id,
             "title": title[:200], "actor_id": actor_id, "created_at": utcnow()} for uid in recipients])
    return len(recipients)


def notify_selected(recipients: sa.Select, verb: str, subject_type: str, subject_id: int, title: str = "",
                    actor_id: int | None = None) -> int:
    """notify() for the people a query selects (one column of user ids): a single INSERT … SELECT, so a
    subject followed by hundreds costs one statement instead of fetching their ids and sending them back."""
    _known(verb)
    chosen = recipients.subquery()
    person = chosen.c[0]
    rows = (sa.select(person, sa.literal(verb, sa.String), sa.literal(subject_type, sa.String),
                      sa.literal(subject_id, sa.Integer), sa.literal(title[:200], sa.String),
                      sa.literal(actor_id, sa.Integer), sa.literal(utcnow(), Notification.created_at.type))
            .where(person.is_not(None)).distinct())
    if actor_id is not None:
        rows = rows.where(person != actor_id)
    # RETURNING the recipients: their kept rows (council/accounts/kept.py) show a new unread count.
    sent = db.session.scalars(for_people(sa.insert(Notification).from_select(
        ["user_id", "verb", "subject_type", "subject_id", "title", "actor_id", "created_at"], rows)
        .returning(Notification.user_id))).all()
    touch_people(*sent)
    return len(sent)


def inbox_page(user_id: int, page: int, per_page: int):
    query = sa.select(Notification).where(Notification.user_id == user_id).order_by(Notification.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def mark_all_read(user_id: int) -> None:
    db.session.execute(for_people(sa.update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)).values(read_at=utcnow()), user_id))


def open_notification(notification: Notification) -> str:
    """Mark one message read and give the address of what it is about."""
    if notification.read_at is None:
        notification.read_at = utcnow()
    return _LINKS[notification.subject_type](notification.subject_id)


def sentence(notification: Notification) -> str:
    return str(_SENTENCES.get(notification.verb, notification.verb))
