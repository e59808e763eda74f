"""A person's standing (roles and homes) is kept per process between requests, keyed by users.standing_version,
which every change to their roles or memberships moves on in the same transaction: a revoked role or an ended
membership counts from the very next request, in every process; nothing else moves the number."""
from __future__ import annotations

import sqlalchemy as sa

from council.accounts import kept
from council.accounts.models import User
from council.extensions import db
from council.membership import services as membership
from council.membership.models import Membership, Relation
from council.permissions import Action, _kept_standing, forget_standings, load_standing
from council.roles import services as roles
from council.roles.models import Role, RoleGrant
from council.territory.models import Household, Place
from tests.helpers import counting


def _version(username: str) -> int:
    return db.session.scalar(sa.select(User.standing_version).where(User.username == username))


def _user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def test_revoking_a_role_counts_from_the_next_request(app, world, login):
    team = login("team")
    ledger = f"/places/{world.estate}/ledger"
    assert team.get(ledger).status_code == 200  # the standing is now kept by this process
    assert team.get(ledger).status_code == 200
    with app.app_context():
        before = _version("team")
        grant = db.session.scalar(sa.select(RoleGrant).where(RoleGrant.user_id == world.users["team"],
                                                             RoleGrant.revoked_at.is_(None)))
        roles.revoke(grant, _user("siteadmin"))
        db.session.commit()
        revoked = _version("team")
        assert revoked > before
    assert team.get(ledger).status_code == 403
    with app.app_context():  # granted again: allowed again at once
        roles.grant(_user("team"), Role.SERVICE_TEAM, db.session.get(Place, world.estate), _user("siteadmin"))
        db.session.commit()
        assert _version("team") > revoked
    assert team.get(ledger).status_code == 200


def test_memberships_move_the_version_and_other_changes_do_not(app, world, login):
    with app.app_context():
        newcomer = _user("outsider")
        start = _version("outsider")
        newcomer.display_name = "新名字"  # not a matter of standing
        db.session.commit()
        assert _version("outsider") == start
        request = membership.request_join(newcomer, db.session.get(Household, world.h12), Relation.TENANT)
        db.session.commit()
        asked = _version("outsider")
        assert asked > start  # asked: not a member yet, but the number moves (once per flush that touched it)
        membership.approve(request, _user("leader"))
        db.session.commit()
        approved = _version("outsider")
        assert approved > asked
        request_id = request.id
        assert world.b1 in load_standing(newcomer.id).member_places
    outsider = login("outsider")
    assert outsider.get(f"/places/{world.b1}").status_code == 200
    with app.app_context():
        membership.end(db.session.get(Membership, request_id), _user("leader"))
        db.session.commit()
        assert _version("outsider") > approved
    assert outsider.get(f"/places/{world.b1}").status_code == 403


def test_a_rolled_back_change_leaves_the_version(app, world):
    with app.app_context():
        start = _version("team")
        grant = db.session.scalar(sa.select(RoleGrant).where(RoleGrant.user_id == world.users["team"]))
        roles.revoke(grant, _user("siteadmin"))
        db.session.flush()
        db.session.rollback()
        assert _version("team") == start
        assert any(role is Role.SERVICE_TEAM for role, _p in load_standing(world.users["team"]).roles)
        assert Action.CONCERN_HANDLE  # the rule itself is untouched


def test_the_person_and_their_standing_come_in_one_statement(app, world, login):
    """A request from a person this process has not kept reads them, their unread count and their standing (roles
    and homes) in one statement, and the standing read so is the one load_standing reads."""
    team = login("team")
    ledger = f"/places/{world.estate}/ledger"
    assert team.get(ledger).status_code == 200
    with counting(app) as sent:  # nothing kept: neither the person nor their standing
        assert team.get(ledger).status_code == 200  # the staff page: it needs the service team's role
    assert [("FROM users" in s, "role_grants" in s) for s in sent].count((True, True)) == 1
    assert not any("role_grants" in s and "FROM users" not in s for s in sent), sent
    with app.test_request_context():
        forget_standings()
        person = kept._read(world.users["team"])
        with counting(app, afresh=False) as more:
            standing = _kept_standing(person.id, person.standing_version, False)
        assert more == []  # kept by the read
        assert standing == load_standing(person.id) and (Role.SERVICE_TEAM, world.estate) in standing.roles
