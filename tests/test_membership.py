"""Membership: join requests, decisions, move-outs, representatives, staff-registered residents, party members."""
from __future__ import annotations

import re

import sqlalchemy as sa

from council.accounts.models import User
from council.activity.models import Activity
from council.extensions import db
from council.membership.models import Membership, MembershipStatus, PartyMember


def memberships(app, **filters) -> list[Membership]:
    with app.app_context():
        query = sa.select(Membership).filter_by(**filters).order_by(Membership.id)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        return rows


def activities(app, verb: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Activity.id)).where(Activity.verb == verb))


def ask_to_join(client, household_id, relation="owner"):
    return client.post(f"/join/households/{household_id}", data={"relation": relation})


def test_join_flow_pages(world, login):
    client = login("newcomer")
    assert "化肥厂小区" in client.get("/join?q=化肥").text
    assert "化肥厂小区" not in client.get("/join?q=青和").text
    assert "1号楼" in client.get(f"/join/estates/{world.estate}").text
    page = client.get(f"/join/buildings/{world.b1}")
    assert f"/join/households/{world.h11}" in page.text and f"/join/households/{world.h12}" in page.text
    assert client.get(f"/join/households/{world.h11}").status_code == 200
    assert client.get("/join/households/999999").status_code == 404
    assert client.get(f"/join/estates/{world.b1}").status_code == 404  # a building is not an estate


def test_request_then_approve(app, world, login):
    client = login("newcomer")
    assert ask_to_join(client, world.h12).status_code == 302
    [request] = memberships(app, user_id=world.users["newcomer"])
    assert request.status is MembershipStatus.PENDING
    assert "Waiting for approval" in client.get("/my/households").text
    assert client.get(f"/places/{world.estate}").status_code == 403  # not yet a member

    leader = login("leader")
    assert "孙晓明" in leader.get(f"/places/{world.b1}/requests").text
    response = leader.post(f"/memberships/{request.id}/decide", data={"decision": "approve"})
    assert response.status_code == 302
    [approved] = memberships(app, user_id=world.users["newcomer"])
    assert approved.status is MembershipStatus.APPROVED
    assert approved.decided_by_id == world.users["leader"]
    assert approved.is_representative  # first adult of an empty household
    assert activities(app, "membership.approved") == 3  # two from the world, this one

    client = login("newcomer")
    assert client.get(f"/places/{world.estate}").status_code == 200
    assert "化肥厂小区" in client.get("/").text


def test_duplicate_request_refused(app, world, login):
    client = login("newcomer")
    ask_to_join(client, world.h12)
    response = ask_to_join(client, world.h12)
    assert response.status_code == 200 and "already asked" in response.text
    assert len(memberships(app, user_id=world.users["newcomer"])) == 1
    resident = login("resident")
    assert "already a member" in ask_to_join(resident, world.h11).text


def test_join_with_bad_relation_saves_nothing(app, world, login):
    client = login("newcomer")
    response = ask_to_join(client, world.h12, relation="landlord")
    assert response.status_code == 200 and "Not a valid choice" in response.text
    assert memberships(app, user_id=world.users["newcomer"]) == []


def test_refuse_needs_a_reason_which_the_resident_sees(app, world, login):
    ask_to_join(login("newcomer"), world.h12)
    [request] = memberships(app, user_id=world.users["newcomer"])
    leader = login("leader")
    response = leader.post(f"/memberships/{request.id}/decide", data={"decision": "refuse", "reason": " "},
                           follow_redirects=True)
    assert "give the resident a reason" in response.text
    assert memberships(app, id=request.id)[0].status is MembershipStatus.PENDING
    leader.post(f"/memberships/{request.id}/decide", data={"decision": "refuse", "reason": "这户没有这个人"})
    assert memberships(app, id=request.id)[0].status is MembershipStatus.REFUSED
    assert "这户没有这个人" in login("newcomer").get("/my/households").text
    # A decided request cannot be decided again.
    response = login("leader").post(f"/memberships/{request.id}/decide", data={"decision": "approve"},
                                    follow_redirects=True)
    assert "already been dealt with" in response.text
    assert memberships(app, id=request.id)[0].status is MembershipStatus.REFUSED


def test_only_deciders_inside_the_place_decide(app, world, login):
    ask_to_join(login("newcomer"), world.h12)
    [request] = memberships(app, user_id=world.users["newcomer"])
    for username in ("leader3", "admin3", "team", "secretary", "resident", "outsider", "newcomer"):
        response = login(username).post(f"/memberships/{request.id}/decide", data={"decision": "approve"})
        assert response.status_code == 403, username
    assert memberships(app, id=request.id)[0].status is MembershipStatus.PENDING
    assert login("estate_admin").post(f"/memberships/{request.id}/decide",
                                      data={"decision": "approve"}).status_code == 302
    assert memberships(app, id=request.id)[0].status is MembershipStatus.APPROVED


def test_withdraw_own_request_only(app, world, login):
    ask_to_join(login("newcomer"), world.h12)
    [request] = memberships(app, user_id=world.users["newcomer"])
    assert login("resident").post(f"/memberships/{request.id}/withdraw").status_code == 403
    login("newcomer").post(f"/memberships/{request.id}/withdraw")
    assert memberships(app, id=request.id)[0].status is MembershipStatus.WITHDRAWN
    # Asking again after withdrawing is allowed.
    assert ask_to_join(login("newcomer"), world.h12).status_code == 302


def test_move_out_keeps_history_and_ends_access(app, world, login):
    [entry] = memberships(app, user_id=world.users["resident"])
    assert login("resident").post(f"/memberships/{entry.id}/end").status_code == 403
    team = login("team")
    assert team.post(f"/memberships/{entry.id}/end").status_code == 302
    [ended] = memberships(app, user_id=world.users["resident"])
    assert ended.status is MembershipStatus.ENDED and ended.ended_at and not ended.is_representative
    page = team.get(f"/households/{world.h11}").text
    assert "周丽华" in page and "Moved out" in page
    assert login("resident").get(f"/places/{world.estate}").status_code == 403


def test_one_representative_per_household(app, world, login):
    team = login("team")
    response = team.post(f"/households/{world.h11}/register",
                         data={"display_name": "李桂兰", "relation": "family", "is_adult": "y"})
    assert response.status_code == 302
    rows = memberships(app, household_id=world.h11)
    assert [m.is_representative for m in rows] == [True, False]
    team.post(f"/memberships/{rows[1].id}/representative")
    assert [m.is_representative for m in memberships(app, household_id=world.h11)] == [False, True]


def test_minor_cannot_represent(app, world, login):
    team = login("team")
    team.post(f"/households/{world.h12}/register", data={"display_name": "小明", "relation": "family"})
    [child] = memberships(app, household_id=world.h12)
    assert not child.is_adult and not child.is_representative
    response = team.post(f"/memberships/{child.id}/representative", follow_redirects=True)
    assert "must be an adult" in response.text


def test_register_form_errors_save_nothing(app, world, login):
    response = login("team").post(f"/households/{world.h12}/register", data={"display_name": "", "relation": ""})
    assert response.status_code == 400 and "Please enter the name." in response.text
    assert memberships(app, household_id=world.h12) == []
    assert login("admin3").post(f"/households/{world.h12}/register",
                                data={"display_name": "X", "relation": "owner"}).status_code == 403


def test_person_without_phone_claims_their_record(app, world, login):
    team = login("team")
    team.post(f"/households/{world.h12}/register", data={"display_name": "李奶奶", "relation": "owner",
                                                         "is_adult": "y"})
    [entry] = memberships(app, household_id=world.h12)
    page = team.post(f"/memberships/{entry.id}/claim-code")
    assert page.status_code == 200
    code = re.search(r'class="code">([A-Z0-9]{4}-[A-Z0-9]{4})<', page.text).group(1)
    with app.app_context():
        users_before = db.session.scalar(sa.select(sa.func.count(User.id)))

    client = app.test_client()
    response = client.post("/signup", data={"display_name": "李桂兰", "mobile": "13912345678",
                                            "password": "lane-7-garden", "confirm": "lane-7-garden",
                                            "claim_code": code.lower().replace("-", " ")})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == users_before  # no duplicate
        person = db.session.get(User, entry.user_id)
        assert person.mobile == "13912345678" and person.has_account and person.display_name == "李桂兰"
    assert "化肥厂小区" in client.get("/").text
    assert activities(app, "account.claimed") == 1

    # The code works once.
    other = app.test_client()
    response = other.post("/signup", data={"display_name": "冒名", "username": "impostor", "password": "xxxxxxxx1",
                                           "confirm": "xxxxxxxx1", "claim_code": code})
    assert response.status_code == 200 and "not valid" in response.text


def test_new_claim_code_replaces_the_old_one(app, world, login):
    team = login("team")
    team.post(f"/households/{world.h12}/register", data={"display_name": "李奶奶", "relation": "owner",
                                                         "is_adult": "y"})
    [entry] = memberships(app, household_id=world.h12)
    first = re.search(r'class="code">([^<]+)<', team.post(f"/memberships/{entry.id}/claim-code").text).group(1)
    team.post(f"/memberships/{entry.id}/claim-code")
    response = app.test_client().post("/signup", data={
        "display_name": "李奶奶", "username": "granny", "password": "lane-7-garden", "confirm": "lane-7-garden",
        "claim_code": first})
    assert "not valid" in response.text


def test_party_members(app, world, login):
    [entry] = memberships(app, user_id=world.users["resident"])
    assert login("team").post(f"/memberships/{entry.id}/party", data={"reporting": "y"}).status_code == 403
    secretary = login("secretary")
    assert secretary.post(f"/memberships/{entry.id}/party", data={"reporting": "y"}).status_code == 302
    response = secretary.post(f"/memberships/{entry.id}/party", data={}, follow_redirects=True)
    assert "already recorded" in response.text
    page = secretary.get(f"/places/{world.estate}/party").text
    assert "周丽华" in page and "Reports here" in page
    with app.app_context():
        party = db.session.scalar(sa.select(PartyMember))
        party_id = party.id
        assert party.reporting
    assert login("admin3").post(f"/party-members/{party_id}/end").status_code == 403
    secretary = login("secretary")
    secretary.post(f"/party-members/{party_id}/end")
    assert "周丽华" not in secretary.get(f"/places/{world.estate}/party").text


def test_household_page_shows_history_to_staff_only(app, world, login):
    assert "History" in login("leader").get(f"/households/{world.h11}").text
    page = login("resident").get(f"/households/{world.h11}")
    assert page.status_code == 200 and "History" not in page.text and "Moved out" not in page.text


def test_requests_list_is_paginated(app, world, login):
    from tests.factories import person

    with app.app_context():
        from council.membership.models import Relation
        from council.membership.services import request_join
        from council.territory.models import Household

        household = db.session.get(Household, world.h12)
        for n in range(25):
            request_join(person(f"asker{n:02d}"), household, Relation.TENANT)
        db.session.commit()
    leader = login("leader")
    first = leader.get(f"/places/{world.b1}/requests").text
    assert "asker00" in first and "asker24" not in first and "page=2" in first
    assert "asker24" in leader.get(f"/places/{world.b1}/requests?page=2").text
