"""Discussing a proposal: comments, one level of replies, quotes, 15-minute edits, hiding, reports,
the official answer, followers' inbox, who may do what, and a fixed number of queries per page."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from council.activity.models import Activity
from council.extensions import db
from council.proposals.models import CommentReport, Follow, Proposal, ProposalComment
from council.sqltypes import utcnow
from tests.helpers import counting, forget_kept_pages
from tests.test_proposals_flow import inbox_of, proposal_id_from, published, resident, write


def comments(app, pid) -> list[ProposalComment]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(ProposalComment).where(ProposalComment.proposal_id == pid)
                                       .order_by(ProposalComment.id)))
        db.session.expunge_all()
        return rows


def post(client, pid, body, follow_redirects=False, **extra):
    return client.post(f"/proposals/{pid}/comments", data={"body": body, **extra},
                       follow_redirects=follow_redirects)


def test_comment_reply_and_reply_to_reply(app, world, login):
    pid = published(app, world, login)
    client = login("leader")
    assert post(client, pid, "第一条留言\n第二行").status_code == 302
    top = comments(app, pid)[0]
    assert top.parent_id is None and top.author_id == world.users["leader"]
    client = login("resident")
    post(client, pid, "回复一下", parent_id=str(top.id))
    reply = comments(app, pid)[1]
    assert reply.parent_id == top.id
    # Replying to a reply attaches to its top-level comment: one level only.
    post(client, pid, "再回复", parent_id=str(reply.id))
    assert comments(app, pid)[2].parent_id == top.id
    with app.app_context():
        assert db.session.get(Proposal, pid).comment_count == 3
    page = client.get(f"/proposals/{pid}").text
    assert "第一条留言\n第二行" in page and 'class="comment reply"' in page


def test_body_is_plain_text_and_quote_shows_excerpt(app, world, login):
    pid = published(app, world, login)
    client = login("leader")
    post(client, pid, "<script>alert(1)</script> **not bold**")
    first = comments(app, pid)[0]
    client = login("resident")
    post(client, pid, "I agree", quoted_id=str(first.id))
    assert comments(app, pid)[1].quoted_id == first.id
    page = client.get(f"/proposals/{pid}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "**not bold**" in page and 'class="quote"' in page and "leader wrote:" in page


def test_edit_within_and_after_fifteen_minutes(app, world, login):
    pid = published(app, world, login)
    client = login("resident")
    post(client, pid, "typo here")
    cid = comments(app, pid)[0].id
    url = f"/proposals/{pid}/comments/{cid}/edit"
    assert url in client.get(f"/proposals/{pid}").text
    assert login("leader").post(url, data={"body": "not mine"}).status_code == 403
    client = login("resident")
    assert client.post(url, data={"body": "fixed"}).status_code == 302
    edited = comments(app, pid)[0]
    assert edited.body == "fixed" and edited.edited_at is not None
    assert "(edited)" in client.get(f"/proposals/{pid}").text
    with app.app_context():
        db.session.execute(sa.update(ProposalComment).where(ProposalComment.id == cid)
                           .values(created_at=utcnow() - timedelta(minutes=16)))
        db.session.commit()
    assert url not in client.get(f"/proposals/{pid}").text
    response = client.post(url, data={"body": "too late"}, follow_redirects=True)
    assert "only within 15 minutes" in response.text and comments(app, pid)[0].body == "fixed"


def test_hide_with_reason(app, world, login):
    pid = published(app, world, login)
    client = login("resident")
    post(client, pid, "something rude")
    cid = comments(app, pid)[0].id
    hide = f"/proposals/{pid}/comments/{cid}/hide"
    resident(app, "neighbour", world.h12)
    assert login("neighbour").post(hide, data={"reason": "x"}).status_code == 403
    client = login("team")
    client.post(hide, data={"reason": ""})
    assert comments(app, pid)[0].hidden_at is None  # a reason is required
    client.post(hide, data={"reason": "Personal attack"})
    hidden = comments(app, pid)[0]
    assert hidden.hidden_reason == "Personal attack" and hidden.hidden_by_id == world.users["team"]
    with app.app_context():
        assert db.session.scalar(sa.select(Activity.id).where(Activity.verb == "proposal.comment_hidden"))
    other = login("neighbour").get(f"/proposals/{pid}").text
    assert "Hidden by a moderator: Personal attack" in other and "something rude" not in other
    mine = login("resident").get(f"/proposals/{pid}").text
    assert "Hidden by a moderator: Personal attack" in mine and "something rude" in mine
    assert "something rude" in login("team").get(f"/proposals/{pid}").text


def test_report_once(app, world, login):
    pid = published(app, world, login)
    post(login("resident"), pid, "hmm")
    cid = comments(app, pid)[0].id
    url = f"/proposals/{pid}/comments/{cid}/report"
    assert "You cannot report your own comment." in login("resident").post(
        url, data={"reason": ""}, follow_redirects=True).text
    client = login("leader")
    assert "the moderators will look at it" in client.post(url, data={"reason": "spam"}, follow_redirects=True).text
    assert "already reported" in client.post(url, data={"reason": "spam"}, follow_redirects=True).text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(CommentReport.id))) == 1
    assert "Reported 1 times" in login("team").get(f"/proposals/{pid}").text


def test_official_answer_only_by_secretary_or_admin(app, world, login):
    pid = published(app, world, login)
    for username in ("resident", "team", "leader"):
        assert login(username).post(f"/proposals/{pid}/answer", data={"body": "x"}).status_code == 403, username
    for username in ("secretary", "estate_admin"):
        assert login(username).post(f"/proposals/{pid}/answer", data={"body": f"答复 {username}"}).status_code == 302
    rows = comments(app, pid)
    assert [c.is_official for c in rows] == [True, True]
    page = login("resident").get(f"/proposals/{pid}").text
    assert page.index("official-answers") < page.index('id="discussion"') and "答复 secretary" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Activity.id)).where(Activity.verb == "proposal.answered")) == 2


def test_outsider_and_draft(app, world, login):
    pid = published(app, world, login)
    assert post(login("outsider"), pid, "hello").status_code == 403
    cid_url = f"/proposals/{pid}/answer"
    assert login("outsider").post(cid_url, data={"body": "x"}).status_code == 403
    client = login("resident")
    draft = proposal_id_from(write(client, world.estate, title="草稿"))
    response = post(client, draft, "comment on my draft", follow_redirects=True)
    assert "not open for discussion" in response.text and comments(app, draft) == []
    assert post(login("leader"), draft, "x").status_code == 403


def test_followers_hear_of_comments_and_commenter_follows(app, world, login):
    pid = published(app, world, login)
    post(login("leader"), pid, "我支持")
    assert "proposal.commented" in inbox_of(app, world.users["resident"])  # the author follows
    assert "proposal.commented" not in inbox_of(app, world.users["leader"])  # never one's own
    with app.app_context():
        assert db.session.scalar(sa.select(Follow.id).where(
            Follow.proposal_id == pid, Follow.user_id == world.users["leader"])) is not None
    post(login("resident"), pid, "谢谢")
    assert inbox_of(app, world.users["leader"]).count("proposal.commented") == 1


def test_most_discussed_sort(app, world, login):
    quiet = published(app, world, login, title="安静的提案")
    busy = published(app, world, login, title="热闹的提案")
    client = login("leader")
    post(client, busy, "a")
    post(client, busy, "b")
    post(client, quiet, "c")
    page = client.get(f"/places/{world.estate}/proposals?sort=discussed").text
    assert page.index("热闹的提案") < page.index("安静的提案")
    post(client, quiet, "d")
    post(client, quiet, "e")
    page = client.get(f"/places/{world.estate}/proposals?sort=discussed").text
    assert page.index("安静的提案") < page.index("热闹的提案") and 'value="discussed"' in page


def _fill(app, pid, world, n: int) -> None:
    with app.app_context():
        for i in range(n):
            top = ProposalComment(proposal_id=pid, author_id=world.users["leader"], body=f"c{i}",
                                  created_at=utcnow())
            db.session.add(top)
            db.session.flush()
            db.session.add(ProposalComment(proposal_id=pid, author_id=world.users["team"], body=f"r{i}",
                                           parent_id=top.id, quoted_id=top.id, created_at=utcnow()))
        db.session.commit()


def test_page_queries_do_not_grow_with_comments(app, world, login):
    small, big = published(app, world, login, title="小"), published(app, world, login, title="大")
    _fill(app, small, world, 5)
    _fill(app, big, world, 60)
    for username in ("resident", "team"):
        client = login(username)
        client.get(f"/proposals/{small}")  # warm up
        forget_kept_pages(app)  # count the pages as rendered, not as kept
        with counting(app) as few:
            assert client.get(f"/proposals/{small}").status_code == 200
        forget_kept_pages(app)
        with counting(app) as many:
            page = client.get(f"/proposals/{big}")
        assert page.status_code == 200 and ">r19<" in page.text and ">r20<" not in page.text, "20 a page"
        assert len(many) == len(few), (username, len(few), len(many))
        forget_kept_pages(app)
        with counting(app) as last:
            page = client.get(f"/proposals/{big}?comments=3")
        assert ">c59<" in page.text and ">r59<" in page.text and ">c39<" not in page.text
        assert len(last) == len(few)


def test_a_new_comment_is_shown_on_the_page_of_the_thread_that_holds_it(app, world, login):
    pid = published(app, world, login, title="热闹")
    _fill(app, pid, world, 45)
    client = login("resident")
    answer = client.post(f"/proposals/{pid}/comments", data={"body": "我也同意"})
    assert answer.status_code == 302
    assert f"/proposals/{pid}?comments=3#comment-" in answer.headers["Location"]
    assert "我也同意" in client.get(answer.headers["Location"].split("#")[0]).text
    with app.app_context():
        first = db.session.scalar(sa.select(ProposalComment.id).where(ProposalComment.proposal_id == pid,
                                                                      ProposalComment.body == "c0"))
    answer = client.post(f"/proposals/{pid}/comments", data={"body": "回复第一条", "parent_id": str(first)})
    assert f"/proposals/{pid}#comment-" in answer.headers["Location"], "a reply to the first comment: page 1"
