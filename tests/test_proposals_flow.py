"""A proposal through the pages: draft, publish, co-sign (联署) to the threshold, follow, withdraw; who may do what."""
from __future__ import annotations

import re

import sqlalchemy as sa

from council.extensions import db
from council.membership import services as membership
from council.membership.models import Relation
from council.notifications.models import Notification
from council.proposals.models import Cosign, Proposal
from council.proposals.rules import ProposalState
from council.territory.models import Household
from tests import factories
from tests.helpers import counting

S = ProposalState


def write(client, estate_id, title="1号楼加装电梯", **extra):
    data = {"title": title, "body": "**一楼到六楼**都受益", "category": "lift", **extra}
    return client.post(f"/places/{estate_id}/proposals/new", data=data)


def proposal_id_from(response) -> int:
    return int(re.search(r"/proposals/(\d+)", response.headers["Location"]).group(1))


def get(app, proposal_id) -> Proposal:
    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        db.session.expunge(proposal)
        return proposal


def inbox_of(app, user_id) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Notification.verb).where(Notification.user_id == user_id)))


def resident(app, username, household_id) -> None:
    """Another approved resident of a household of the world."""
    with app.app_context():
        user = factories.person(username)
        entry = membership.request_join(user, db.session.get(Household, household_id), Relation.FAMILY)
        membership.approve(entry, user)
        db.session.commit()


def published(app, world, login, **extra) -> int:
    client = login("resident")
    pid = proposal_id_from(write(client, world.estate, **extra))
    client.post(f"/proposals/{pid}/publish")
    assert get(app, pid).state is S.OPEN
    return pid


def test_draft_publish_and_withdraw(app, world, login):
    client = login("resident")
    response = write(client, world.estate, buildings=[str(world.b1)], cost_yuan="600000",
                     share_government="300000", share_outside="100000", share_residents="200000")
    assert response.status_code == 302
    pid = proposal_id_from(response)
    proposal = get(app, pid)
    assert proposal.state is S.DRAFT and proposal.published_at is None and proposal.cost_yuan == 600000
    page = client.get(f"/proposals/{pid}").text
    assert "<strong>一楼到六楼</strong>" in page and "1号楼" in page and "300000 yuan" in page
    # A draft is its author's alone, even for staff of the estate.
    for username in ("team", "estate_admin", "leader", "outsider", "newcomer"):
        assert login(username).get(f"/proposals/{pid}").status_code == 403, username

    client = login("resident")
    client.post(f"/proposals/{pid}/edit", data={"title": "1号楼加装电梯（修改）", "body": "改过", "category": "lift"})
    assert get(app, pid).title == "1号楼加装电梯（修改）"
    client.post(f"/proposals/{pid}/publish")
    assert get(app, pid).state is S.OPEN and get(app, pid).published_at is not None
    # Published: no more editing; a second publish is refused with a message.
    response = client.get(f"/proposals/{pid}/edit", follow_redirects=True)
    assert "Only a draft can be edited." in response.text
    response = client.post(f"/proposals/{pid}/publish", follow_redirects=True)
    assert "Only a draft can be published." in response.text

    for username, status in (("resident", 200), ("team", 200), ("leader", 200), ("gridworker", 200),
                             ("street_admin", 200), ("outsider", 403), ("newcomer", 403), ("admin3", 403),
                             ("leader3", 403)):
        assert login(username).get(f"/proposals/{pid}").status_code == status, username
    assert login("team").post(f"/proposals/{pid}/withdraw").status_code == 403
    assert login("team").get(f"/proposals/{pid}/edit").status_code == 403

    login("team").post(f"/proposals/{pid}/follow")
    client = login("resident")
    client.post(f"/proposals/{pid}/withdraw")
    assert get(app, pid).state is S.WITHDRAWN
    assert "proposal.changed" in inbox_of(app, world.users["team"])
    page = client.get(f"/proposals/{pid}").text
    for words in ("wrote the draft", "edited the draft", "published it for discussion", "withdrew it"):
        assert words in page, words
    response = client.post(f"/proposals/{pid}/withdraw", follow_redirects=True)
    assert "only before voting starts" in response.text


def test_anonymous_is_sent_to_sign_in(app, world, login, client):
    pid = published(app, world, login)
    client.post("/logout")
    for url in (f"/proposals/{pid}", f"/places/{world.estate}/proposals", f"/places/{world.estate}/proposals/new",
                f"/proposals/{pid}/edit", f"/places/{world.estate}/proposals/settings"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    response = client.post(f"/proposals/{pid}/cosign")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_only_residents_of_the_estate_write(app, world, login):
    for username in ("outsider", "newcomer", "team", "admin3"):
        assert login(username).get(f"/places/{world.estate}/proposals/new").status_code == 403, username
    assert login("resident").get(f"/places/{world.estate}/proposals/new").status_code == 200
    assert login("resident").get(f"/places/{world.b1}/proposals/new").status_code == 404
    # Buildings of another estate are refused.
    response = write(login("resident"), world.estate, buildings=[str(world.b3)])
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Proposal.id))) == 0


def test_cost_shares_must_add_up(app, world, login):
    client = login("resident")
    response = write(client, world.estate, cost_yuan="1000", share_government="500", share_outside="300",
                     share_residents="100")
    assert response.status_code == 400 and "must add up to the estimated cost" in response.text
    response = write(client, world.estate, cost_yuan="1000", share_government="500")
    assert response.status_code == 400 and "Give all three shares" in response.text
    assert write(client, world.estate, cost_yuan="1000").status_code == 302


def test_markdown_is_sanitised_on_the_page(app, world, login):
    body = ('<script>alert("x")</script>\n\n[点我](javascript:alert(1))\n\n<img src=x onerror="alert(1)">'
            "\n\n**粗体**")
    client = login("resident")
    pid = proposal_id_from(write(client, world.estate, body=body))
    page = client.get(f"/proposals/{pid}").text
    assert "<strong>粗体</strong>" in page
    assert 'alert("x")' not in page and "javascript:alert" not in page and "onerror" not in page


def test_cosigning_counts_distinct_households_up_to_the_threshold(app, world, login):
    assert login("estate_admin").post(f"/places/{world.estate}/proposals/settings",
                                      data={"cosign_threshold": "2"}).status_code == 302
    resident(app, "wang", world.h12)
    resident(app, "wang_son", world.h12)
    resident(app, "li", world.h21)
    pid = published(app, world, login, buildings=[str(world.b1)])  # a lift for building 1 only
    login("team").post(f"/proposals/{pid}/follow")

    # Building 2 is outside the scope: it can read, not co-sign.
    li = login("li")
    assert li.get(f"/proposals/{pid}").status_code == 200
    assert f"/proposals/{pid}/cosign" not in li.get(f"/proposals/{pid}").text
    assert li.post(f"/proposals/{pid}/cosign").status_code == 403
    for username in ("outsider", "newcomer"):
        assert login(username).post(f"/proposals/{pid}/cosign").status_code == 403, username
    # Staff of the estate without a household in building 1 do not co-sign either.
    assert login("team").post(f"/proposals/{pid}/cosign").status_code == 403

    wang = login("wang")
    assert f"/proposals/{pid}/cosign" in wang.get(f"/proposals/{pid}").text
    wang.post(f"/proposals/{pid}/cosign")
    response = wang.post(f"/proposals/{pid}/cosign", follow_redirects=True)
    assert "already co-signed" in response.text
    login("wang_son").post(f"/proposals/{pid}/cosign")  # same household: still one
    proposal = get(app, pid)
    assert proposal.household_count == 1 and proposal.eligible_at is None
    assert "proposal.eligible" not in inbox_of(app, world.users["resident"])

    login("resident").post(f"/proposals/{pid}/cosign")  # the author's household is the second
    proposal = get(app, pid)
    assert proposal.household_count == 2 and proposal.eligible_at is not None
    assert "proposal.eligible" in inbox_of(app, world.users["resident"])
    assert "proposal.eligible" in inbox_of(app, world.users["team"])
    assert "proposal.eligible" not in inbox_of(app, world.users["leader"])  # not following
    page = login("resident").get(f"/proposals/{pid}").text
    assert "Eligible for the agenda" in page and "2 of 2 households" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Cosign.id))) == 3


def test_only_open_proposals_are_cosigned(app, world, login):
    client = login("resident")
    pid = proposal_id_from(write(client, world.estate))
    assert client.post(f"/proposals/{pid}/cosign").status_code == 403  # a draft
    client.post(f"/proposals/{pid}/publish")
    client.post(f"/proposals/{pid}/withdraw")
    assert client.post(f"/proposals/{pid}/cosign").status_code == 403


def test_follow_and_unfollow(app, world, login):
    pid = published(app, world, login)
    leader = login("leader")
    assert f"/proposals/{pid}/follow\"" in leader.get(f"/proposals/{pid}").text
    leader.post(f"/proposals/{pid}/follow")
    assert "Stop following" in leader.get(f"/proposals/{pid}").text
    response = leader.post(f"/proposals/{pid}/follow", follow_redirects=True)
    assert "already follow" in response.text
    leader.post(f"/proposals/{pid}/unfollow")
    login("resident").post(f"/proposals/{pid}/withdraw")
    assert inbox_of(app, world.users["leader"]) == []
    assert "Stop following" in login("resident").get(f"/proposals/{pid}").text  # the author follows


def test_settings_page(app, world, login):
    admin = login("estate_admin")
    assert admin.get(f"/places/{world.estate}/proposals/settings").status_code == 200
    assert admin.post(f"/places/{world.estate}/proposals/settings",
                      data={"cosign_threshold": "0"}).status_code == 400
    for username in ("resident", "team", "admin3"):
        assert login(username).get(f"/places/{world.estate}/proposals/settings").status_code == 403, username
    assert login("siteadmin").get(f"/places/{world.b1}/proposals/settings").status_code == 404


def test_list_filters_sorts_and_hides_other_peoples_drafts(app, world, login):
    resident(app, "wang", world.h12)
    lift = published(app, world, login)
    shed = published(app, world, login, title="新建电动车棚", category="ebike_shed")
    draft = proposal_id_from(write(login("resident"), world.estate, title="我的草稿"))
    login("wang").post(f"/proposals/{shed}/cosign")

    mine = login("resident").get(f"/places/{world.estate}/proposals").text
    assert "我的草稿" in mine
    listing = login("team").get(f"/places/{world.estate}/proposals").text
    assert "1号楼加装电梯" in listing and "新建电动车棚" in listing and "我的草稿" not in listing
    assert listing.index("新建电动车棚") < listing.index("1号楼加装电梯")  # newest first
    client = login("wang")
    page = client.get(f"/places/{world.estate}/proposals?category=lift").text
    assert "1号楼加装电梯" in page and "新建电动车棚" not in page
    page = client.get(f"/places/{world.estate}/proposals?state=draft").text
    assert "1号楼加装电梯" not in page and "No proposals yet." in page
    login("resident").post(f"/proposals/{shed}/withdraw")
    page = login("wang").get(f"/places/{world.estate}/proposals?sort=cosigned&state=nonsense").text
    assert "新建电动车棚" in page
    assert f"/proposals/{lift}" in page and f"/proposals/{draft}" not in page
    assert login("outsider").get(f"/places/{world.estate}/proposals").status_code == 403
    assert login("resident").get(f"/places/{world.b1}/proposals").status_code == 404


def test_estate_page_links_to_proposals(app, world, login):
    page = login("resident").get(f"/places/{world.estate}").text
    assert f"/places/{world.estate}/proposals" in page and f"/places/{world.estate}/proposals/new" in page
    page = login("team").get(f"/places/{world.b1}").text
    assert f"/places/{world.estate}/proposals" in page and "/proposals/new" not in page


def test_list_runs_a_fixed_number_of_queries(app, world, login):
    client = login("resident")

    def many(n):
        for i in range(n):
            pid = proposal_id_from(write(client, world.estate, title=f"提议{i}", buildings=[str(world.b1)]))
            client.post(f"/proposals/{pid}/publish")

    def queries() -> int:
        with counting(app) as statements:
            assert client.get(f"/places/{world.estate}/proposals?sort=cosigned").status_code == 200
        return len(statements)

    many(2)
    few = queries()
    many(6)
    assert queries() == few


def test_editing_a_draft_shows_what_was_written(app, world, login):
    client = login("resident")
    pid = proposal_id_from(write(client, world.estate, buildings=[str(world.b2)], cost_yuan="900"))
    page = client.get(f"/proposals/{pid}/edit").text
    assert "1号楼加装电梯" in page and 'value="900"' in page
    assert re.search(rf'<input checked[^>]*value="{world.b2}"|<input[^>]*value="{world.b2}"[^>]*checked', page)
    assert re.search(r'<input checked[^>]*value="lift"|<input[^>]*value="lift"[^>]*checked', page)
    page = client.get(f"/proposals/{pid}", headers={"Accept-Language": "zh-CN"}).text
    assert "草稿" in page and "涉及范围" in page and "2号楼" in page


def test_a_second_cosign_arriving_at_the_same_moment_is_refused_politely(app, world, login, monkeypatch):
    """Two tabs: both pass the "already co-signed?" check; the unique constraint refuses the second."""
    from council.exceptions import Refused
    from council.permissions import load_standing
    from council.proposals import services

    pid = published(app, world, login)
    with app.test_request_context():
        proposal = db.session.get(Proposal, pid)
        user = db.session.get(factories.User, world.users["resident"])
        db.session.add(Cosign(proposal_id=pid, user_id=user.id))  # the first tab's co-signature
        db.session.flush()
        monkeypatch.setattr(services, "has_cosigned", lambda *_: False)
        try:
            services.cosign(proposal, user, load_standing(user.id))
        except Refused as refusal:
            assert refusal.message
        else:
            raise AssertionError("the second co-signature was accepted")
        db.session.rollback()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Cosign.id))) == 0  # nothing half-saved here


def test_search_by_words_in_chinese(app, world, login):
    lift = published(app, world, login, title="1号楼加装电梯", body="政府补贴一部分")
    shed = published(app, world, login, title="增设电动车棚", body="要有充电桩", category="ebike_shed")
    client = login("resident")

    def found(q):
        page = client.get(f"/places/{world.estate}/proposals", query_string={"q": q}).text
        return {pid for pid in (lift, shed) if f"/proposals/{pid}\"" in page}

    assert found("电梯") == {lift}
    assert found("充电") == {shed}
    assert found("电") == {lift, shed}
    assert found("电梯 补贴") == {lift}  # every word must appear
    assert found("电梯 充电桩") == set()
    assert found("100%") == set()  # % is literal, not a wildcard
    assert found("") == {lift, shed}
