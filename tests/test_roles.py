"""Granting and revoking roles in pages; every change leaves an activity record."""
from __future__ import annotations

import sqlalchemy as sa

from council.activity.models import Activity
from council.extensions import db
from council.roles.models import Role, RoleGrant


def live_grants(app, user_id: int) -> list[tuple[Role, int]]:
    with app.app_context():
        return [(g.role, g.place_id) for g in db.session.scalars(
            sa.select(RoleGrant).where(RoleGrant.user_id == user_id, RoleGrant.revoked_at.is_(None)))]


def test_estate_admin_grants_a_building_leader(app, world, login):
    admin = login("estate_admin")
    response = admin.post(f"/places/{world.b2}/roles",
                          data={"person": "resident", "role": "building_leader", "duty": "消防"})
    assert response.status_code == 302
    assert (Role.BUILDING_LEADER, world.b2) in live_grants(app, world.users["resident"])
    # The new leader now sees the requests of building 2 but not of building 1.
    leader = login("resident")
    assert leader.get(f"/places/{world.b2}/requests").status_code == 200
    assert leader.get(f"/places/{world.b1}/requests").status_code == 403
    with app.app_context():
        entry = db.session.scalar(sa.select(Activity).where(Activity.verb == "role.granted")
                                  .order_by(Activity.id.desc()))
        assert entry.actor_id == world.users["estate_admin"] and entry.target_user_id == world.users["resident"]


def test_grant_by_mobile_number(app, world, login):
    login("estate_admin").post(f"/places/{world.estate}/roles",
                               data={"person": "138 0013 8000", "role": "service_team"})
    assert (Role.SERVICE_TEAM, world.estate) in live_grants(app, world.users["resident"])


def test_grant_refusals(app, world, login):
    admin = login("estate_admin")
    before = live_grants(app, world.users["resident"])
    # Unknown person, a role that does not fit the place, an administrator's role from the same level.
    assert "Nobody with this" in admin.post(f"/places/{world.estate}/roles",
                                            data={"person": "ghost", "role": "service_team"}).text
    response = admin.post(f"/places/{world.estate}/roles", data={"person": "resident", "role": "building_leader"})
    assert response.status_code == 400
    response = admin.post(f"/places/{world.estate}/roles", data={"person": "resident", "role": "admin"})
    assert response.status_code == 400
    admin.post(f"/places/{world.estate}/roles", data={"person": "resident", "role": "service_team"})
    again = admin.post(f"/places/{world.estate}/roles", data={"person": "resident", "role": "service_team"})
    assert "already holds this role" in again.text
    assert len(live_grants(app, world.users["resident"])) == len(before) + 1


def test_community_admin_can_make_an_estate_admin(app, world, login):
    login("community_admin").post(f"/places/{world.estate}/roles", data={"person": "resident", "role": "admin"})
    assert (Role.ADMIN, world.estate) in live_grants(app, world.users["resident"])


def test_revoke(app, world, login):
    with app.app_context():
        grant_id = db.session.scalar(sa.select(RoleGrant.id).where(RoleGrant.user_id == world.users["leader"]))
    assert login("admin3").post(f"/roles/{grant_id}/revoke").status_code == 403
    assert login("leader").post(f"/roles/{grant_id}/revoke").status_code == 403
    assert login("estate_admin").post(f"/roles/{grant_id}/revoke").status_code == 302
    assert live_grants(app, world.users["leader"]) == []
    assert login("leader").get(f"/places/{world.b1}/requests").status_code == 403
    # An estate administrator cannot remove a fellow administrator of the same estate.
    with app.app_context():
        admin_grant = db.session.scalar(sa.select(RoleGrant.id).where(
            RoleGrant.user_id == world.users["estate_admin"]))
    assert login("estate_admin").post(f"/roles/{admin_grant}/revoke").status_code == 403
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Activity.id)).where(Activity.verb == "role.revoked")) == 1


def test_roles_page_lists_holders(world, login):
    page = login("community_admin").get(f"/places/{world.estate}/roles").text
    assert "secretary" in page and "team" in page and "estate_admin" in page


def test_revoke_button_only_where_allowed(app, world, login):
    with app.app_context():
        admin_grant = db.session.scalar(sa.select(RoleGrant.id).where(
            RoleGrant.user_id == world.users["estate_admin"]))
        team_grant = db.session.scalar(sa.select(RoleGrant.id).where(RoleGrant.user_id == world.users["team"]))
    page = login("estate_admin").get(f"/places/{world.estate}/roles").text
    assert f"/roles/{team_grant}/revoke" in page and f"/roles/{admin_grant}/revoke" not in page
    page = login("community_admin").get(f"/places/{world.estate}/roles").text
    assert f"/roles/{admin_grant}/revoke" in page


def test_activity_names_the_role_in_the_readers_language(world, login):
    client = login("estate_admin")
    client.post(f"/places/{world.b2}/roles", data={"person": "resident", "role": "building_leader"})
    assert "(Building leader)" in client.get(f"/places/{world.estate}/activity").text
    assert "(楼栋长)" in client.get(f"/places/{world.estate}/activity", headers={"Accept-Language": "zh-CN"}).text
