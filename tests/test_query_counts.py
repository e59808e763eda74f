"""Invariant 8: a page's number of queries does not grow with the data (no N+1 anywhere a list is shown)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from council.concerns.models import Concern, Support
from council.concerns.rules import Category, ConcernStatus, Level
from council.extensions import db
from council.notifications.models import Notification
from council.sqltypes import utcnow
from tests.factories import person
from tests.helpers import counting


def add_concerns(app, world, count: int, offset: int) -> None:
    """`count` concerns spread over the estate and its buildings, with supporters and messages."""
    with app.app_context():
        extra = [person(f"neighbour{offset + i}").id for i in range(3)]
        owners = [world.users["team"], world.users["leader"], *extra]
        statuses = [ConcernStatus.REPORTED, ConcernStatus.ACCEPTED, ConcernStatus.IN_PROGRESS]
        now = utcnow()
        rows = [dict(place_id=(world.b1, world.b2, world.estate)[i % 3], estate_id=world.estate,
                     holder_id=world.estate, level=Level.ESTATE, title=f"问题 {offset + i}", description="",
                     category=Category.OTHER, status=statuses[i % 3], reporter_id=owners[i % len(owners)],
                     owner_id=owners[(i + 1) % len(owners)], show_name=bool(i % 2), support_count=1,
                     created_at=now) for i in range(count)]
        db.session.execute(sa.insert(Concern), rows)
        ids = db.session.scalars(sa.select(Concern.id).order_by(Concern.id.desc()).limit(count)).all()
        db.session.execute(sa.insert(Support), [{"concern_id": cid, "user_id": extra[0]} for cid in ids])
        db.session.execute(sa.insert(Notification), [dict(
            user_id=world.users["resident"], verb="concern.changed", subject_type="concern", subject_id=cid,
            title="问题", created_at=now) for cid in ids])
        db.session.commit()


PAGES = [
    ("resident", "/"), ("resident", "/places/{estate}"), ("resident", "/places/{b1}"),
    ("resident", "/places/{estate}/concerns"), ("resident", "/inbox"), ("resident", "/my/households"),
    ("team", "/places/{estate}"), ("team", "/places/{estate}/queue"), ("team", "/places/{estate}/concerns"),
    ("leader", "/places/{b1}/queue"), ("gridworker", "/places/{grid}"), ("team", "/places/{estate}/activity"),
    ("team", "/households/{h11}"), ("estate_admin", "/places/{estate}/roles"),
]


@pytest.mark.parametrize("username, template", PAGES)
def test_queries_do_not_grow(app, world, login, username, template):
    url = template.format(**{k: getattr(world, k) for k in ("estate", "b1", "grid", "h11")})
    client = login(username)
    add_concerns(app, world, 5, 0)
    with counting(app) as small:
        assert client.get(url).status_code == 200
    add_concerns(app, world, 120, 1000)
    with counting(app) as large:
        assert client.get(url).status_code == 200
    assert len(large) == len(small), (url, len(small), len(large))


def test_the_concerns_panel_loads_the_owners_with_the_concerns(app, world, login):
    """The building page's three most supported concerns each name their owner: read with the concerns, not
    one query per owner (the guard above only caught this when ties happened to put owners on top)."""
    client = login("resident")
    add_concerns(app, world, 3, 0)
    with app.app_context():
        db.session.execute(sa.update(Concern).values(place_id=world.b1, owner_id=None))
        db.session.commit()
    url = f"/places/{world.b1}"
    with counting(app) as without_owners:
        assert client.get(url).status_code == 200
    with app.app_context():
        for index, concern_id in enumerate(db.session.scalars(sa.select(Concern.id).order_by(Concern.id))):
            owner = person(f"owner{index}").id
            db.session.execute(sa.update(Concern).where(Concern.id == concern_id).values(owner_id=owner))
        db.session.commit()
    with counting(app) as with_owners:
        page = client.get(url).get_data(as_text=True)
    assert all(f"owner{index}" in page for index in range(3))
    assert len(with_owners) == len(without_owners)
