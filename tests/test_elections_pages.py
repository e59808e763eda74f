"""The members' election pages: who may open them, the roll and its objections, nominations, casting a
ballot (the tracker shown once), the posted result with its objections, the notice, the published ballots
and their CSV recount. Pages use the real clock, so each election is called at a past moment that puts
"now" in the wanted phase (see election_helpers.Setup.at)."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import sqlalchemy as sa
from PIL import Image

from council.accounts.models import User
from council.ballots import publication
from council.ballots.models import Objection, RollLine, SecretBallot
from council.elections import counting, nominations, recount, services, voting
from council.elections.models import Election, Nomination, NominationSupport, RollObjection
from council.elections.rules import Mark, Marks, RollObjectionKind
from council.extensions import db
from council.sqltypes import utcnow
from tests.election_helpers import call_election, member, slate, user
from tests.helpers import CAST_STATEMENTS
from tests.helpers import counting as counting_queries

# Days before now to call the election so that now falls in a phase (roll 0-3, nominations 3-5,
# candidates 5-8, voting 8-9, counting from 9).
ROLL, NOMINATIONS, VOTING, COUNTED = 1, 4, 8.5, 10.5


def _call(world, days: float, voters: int = 14):
    return call_election(world, voters=voters, start=utcnow() - timedelta(days=days))


def _line_id(setup, person) -> int:
    poll = services.poll_of(services.latest_round(setup.election))
    return db.session.scalar(sa.select(RollLine.id).where(RollLine.poll_id == poll.id, RollLine.user_id == person.id))


def _jpeg() -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (60, 80), (200, 30, 30)).save(out, "JPEG")
    out.seek(0)
    return out


def _counted_election(app, world):
    """An election entirely in the past: slate of 9, everyone votes for the first seven (voter 11 for
    1-6 and 8), counted half a day ago; returns ids and the candidates' ids."""
    with app.app_context():
        setup = _call(world, COUNTED)
        candidates = slate(setup, 9)
        round_ = services.latest_round(setup.election)
        for person in setup.voters:
            names = candidates[:7] if person is not setup.voters[11] else candidates[:6] + [candidates[7]]
            voting.cast(setup.election, round_, db.session.get(RollLine, _line_id(setup, person)),
                        Marks({c.id: Mark.FOR for c in names}), person, now=setup.at("voting"))
        counting.count(setup.election, round_, user("committee"), now=setup.at("counting"))
        nomination = db.session.scalar(sa.select(Nomination).where(Nomination.user_id == candidates[0].id))
        nomination.photo, nomination.has_photo = _jpeg().getvalue(), True
        db.session.commit()
        return setup.election.id, nomination.id, [c.id for c in candidates]


def test_outsiders_get_403_and_unknown_ids_404(app, world, login, client):
    election_id, nomination_id, _candidates = _counted_election(app, world)
    base = f"/elections/{election_id}"
    gets = [f"/estates/{world.estate}/elections", base, f"{base}/roll", f"{base}/nominations",
            f"{base}/nominations/{nomination_id}/accept", f"{base}/nominations/{nomination_id}/photo",
            f"{base}/rounds/1/ballot", f"{base}/rounds/1/results", f"{base}/rounds/1/notice",
            f"{base}/rounds/1/ballots", f"{base}/rounds/1/ballots.csv"]
    posts = [f"{base}/roll/objections", f"{base}/nominations", f"{base}/nominations/{nomination_id}/second",
             f"{base}/nominations/{nomination_id}/withdraw", f"{base}/rounds/1/ballot", f"{base}/rounds/1/objections",
             f"{base}/rounds/1/objections/1/answer"]
    for url in gets:  # not signed in: to the sign-in page
        assert client.get(url).status_code == 302, url
    login("outsider")
    for url in gets:
        assert client.get(url).status_code == 403, url
    for url in posts:
        assert client.post(url, data={"kind": "missing", "body": "x", "name": ""}).status_code == 403, url
    login("voter0")
    for url in ("/elections/99999", f"{base}/rounds/9/results", f"{base}/rounds/9/ballot",
                f"{base}/nominations/99999/accept", f"/estates/{world.b1}/elections", "/estates/99999/elections"):
        assert client.get(url).status_code == 404, url


def test_the_election_index_and_the_estate_panel(app, world, login):
    with app.app_context():
        setup = _call(world, ROLL)
        db.session.commit()
        election_id, title = setup.election.id, setup.election.title
    client = login("voter0")
    index = client.get(f"/estates/{world.estate}/elections")
    assert index.status_code == 200 and title in index.text and "Voter roll posted" in index.text
    assert "Call an election" not in index.text  # a plain member
    place = client.get(f"/places/{world.estate}")
    assert f"/elections/{election_id}" in place.text and "Service team election" in place.text
    page = client.get(f"/elections/{election_id}")
    assert page.status_code == 200
    assert "You are on the voter roll." in page.text and 'aria-current="step"' in page.text
    assert "For election officials" not in page.text
    chinese = client.get(f"/elections/{election_id}", headers={"Accept-Language": "zh-CN"})
    assert chinese.status_code == 200 and "退出登录" in chinese.text


def test_the_index_costs_the_same_queries_whatever_the_number_of_elections(app, world, login):
    with app.app_context():
        first = _call(world, NOMINATIONS, voters=2)
        first.election.finished_at = utcnow()
        db.session.commit()
    client = login("resident")
    url = f"/estates/{world.estate}/elections"
    with counting_queries(app) as one:
        assert client.get(url).status_code == 200
    with app.app_context():
        db.session.execute(sa.update(Election).values(finished_at=utcnow()))
        call_election(world, voters=0, start=utcnow() - timedelta(days=ROLL))
        db.session.commit()
    with counting_queries(app) as two:
        assert client.get(url).status_code == 200
    assert len(two) == len(one)  # services.phases: two queries for the whole page


def test_roll_objections_are_taken_while_the_roll_is_posted(app, world, login):
    with app.app_context():
        setup = _call(world, ROLL, voters=3)
        target = _line_id(setup, setup.voters[0])
        member("late", world.h12, "晚到")  # approved after the roll was drawn up
        db.session.commit()
        election_id = setup.election.id
    client = login("voter1")
    roll = client.get(f"/elections/{election_id}/roll?q=选民")
    assert roll.status_code == 200 and "选民00" in roll.text and f"object={target}" in roll.text
    assert "online" not in roll.text  # never a channel or status for members
    form = client.get(f"/elections/{election_id}/roll?object={target}")
    assert "Object to this line of the roll" in form.text and 'name="line_id"' in form.text
    empty = client.post(f"/elections/{election_id}/roll/objections", data={"kind": "moved", "line_id": target})
    assert empty.status_code == 400 and "Please say why." in empty.text
    sent = client.post(f"/elections/{election_id}/roll/objections",
                       data={"kind": "moved", "line_id": target, "body": "已经搬走两年了"})
    assert sent.status_code == 302
    page = client.get(f"/elections/{election_id}/roll").text
    assert "已经搬走两年了" in page and "Awaiting the committee" in page
    assert "I am missing from the roll" not in page  # voter1 is on the roll
    late = login("late")
    assert "I am missing from the roll" in late.get(f"/elections/{election_id}/roll").text
    assert late.post(f"/elections/{election_id}/roll/objections",
                     data={"kind": "missing", "body": "我住1号楼102"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(RollObjection.id))) == 2


def test_roll_objections_are_refused_after_the_roll_period(app, world, login):
    with app.app_context():
        setup = _call(world, NOMINATIONS, voters=3)
        target = _line_id(setup, setup.voters[0])
        db.session.commit()
        election_id = setup.election.id
    client = login("voter1")
    assert f"object={target}" not in client.get(f"/elections/{election_id}/roll").text
    refused = client.post(f"/elections/{election_id}/roll/objections",
                          data={"kind": "moved", "line_id": target, "body": "已经搬走了"})
    assert refused.status_code == 400
    assert "only while the roll is posted for objections" in refused.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(RollObjection.id))) == 0


def test_nominate_join_and_accept(app, world, login):
    with app.app_context():
        setup = _call(world, NOMINATIONS, voters=4)
        db.session.commit()
        election_id, voters = setup.election.id, [v.id for v in setup.voters]
    base = f"/elections/{election_id}/nominations"
    client = login("voter0")
    own = client.post(base, data={"name": ""})
    assert own.status_code == 302 and "/accept" in own.location
    accept_url = own.location
    assert "Accept the nomination" in client.get(accept_url).text
    missing = client.post(accept_url, data={"statement": "", "contact": ""})
    assert missing.status_code == 400 and "Please write a short statement." in missing.text
    not_a_photo = client.post(accept_url, data={"statement": "我愿意", "contact": "",
                                                "photo": (io.BytesIO(b"not an image"), "me.jpg")},
                              content_type="multipart/form-data")
    assert not_a_photo.status_code == 400
    assert re.search(r'id="photo-error">Photos must be JPEG or PNG images.', not_a_photo.text)
    done = client.post(accept_url, data={"statement": "我愿意为邻居服务", "contact": "13900000001",
                                         "photo": (_jpeg(), "me.jpg")}, content_type="multipart/form-data")
    assert done.status_code == 302
    unknown = client.post(base, data={"name": "没有这个人"})
    assert unknown.status_code == 400 and "No adult member of this estate is called" in unknown.text
    assert login("voter1").post(base, data={"name": "选民02"}).status_code == 302  # a joint nomination
    with app.app_context():
        own_nomination = db.session.scalar(sa.select(Nomination).where(Nomination.user_id == voters[0]))
        joint = db.session.scalar(sa.select(Nomination).where(Nomination.user_id == voters[2]))
        assert own_nomination.accepted_at and own_nomination.has_photo and not joint.self_nominated
        own_id, joint_id = own_nomination.id, joint.id
    client = login("voter3")
    page = client.get(base).text
    assert "选民00" in page and "Candidate" in page and "Joint nomination: 1 of 2 members" in page
    assert client.post(f"{base}/{joint_id}/second").status_code == 302
    assert "You joined this nomination." in client.get(base).text
    assert client.get(f"{base}/{joint_id}/accept").status_code == 403  # someone else's nomination
    assert client.post(f"{base}/{joint_id}/withdraw").status_code == 403
    photo = client.get(f"{base}/{own_id}/photo")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg" and "private" in photo.headers["Cache-Control"]
    assert client.get(f"{base}/{joint_id}/photo").status_code == 404
    nominee = login("voter2")
    assert "You are nominated" in nominee.get(base).text
    assert nominee.post(f"{base}/{joint_id}/accept", data={"statement": "好", "contact": ""}).status_code == 302
    assert nominee.post(f"{base}/{joint_id}/withdraw").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(NominationSupport.id))) == 2
        assert db.session.get(Nomination, joint_id).withdrawn_at is not None


def test_a_member_casts_a_ballot_sees_the_tracker_once_and_finds_it_after_the_count(app, world, login):
    with app.app_context():
        setup = _call(world, VOTING)
        candidates = [c.id for c in slate(setup, 9)]
        line, voter11 = _line_id(setup, setup.voters[10]), setup.voters[11].id
        db.session.commit()
        election_id = setup.election.id
    base = f"/elections/{election_id}/rounds/1"
    client = login("voter10")
    assert "Vote now" in client.get(f"/elections/{election_id}").text
    page = client.get(f"{base}/ballot")
    assert page.status_code == 200 and f'name="mark-{candidates[0]}"' in page.text
    for url in (f"{base}/results", f"{base}/ballots", f"{base}/ballots.csv", f"{base}/notice"):
        assert client.get(url).status_code == 404, url  # nothing is shown while voting is open
    too_many = {f"mark-{c}": "+" for c in candidates[:8]}
    refused = client.post(f"{base}/ballot", data={"line_id": line, **too_many})
    assert refused.status_code == 400 and "more people than there are seats" in refused.text
    assert refused.text.count("checked") == 8  # the ballot is shown again as it was marked
    named = client.post(f"{base}/ballot", data={"line_id": line, "write_in": "选民00"})
    assert named.status_code == 400 and "选民00 is a candidate" in named.text
    marks = {f"mark-{c}": "+" for c in candidates[:6]} | {f"mark-{candidates[6]}": "-"}
    cast = client.post(f"{base}/ballot", data={"line_id": line, **marks, "write_in": "选民13"})
    assert cast.status_code == 200 and cast.headers["Cache-Control"] == "no-store"
    shown = re.search(r'class="tracker"[^>]*>(\w{4}) (\w{4}) (\w{4})<', cast.text)
    assert shown, cast.text
    tracker = "".join(shown.groups())
    assert len(tracker) == 12 and "选民01" not in cast.text  # the marks are not repeated
    again = client.post(f"{base}/ballot", data={"line_id": line, **marks})
    assert again.status_code == 400 and "already been cast" in again.text and tracker not in again.text
    assert tracker not in client.get(f"{base}/ballot").text
    with client.session_transaction() as session:  # never flashed or kept in the session
        assert tracker not in repr(dict(session))
    with app.app_context():
        other = _line_id(setup, db.session.get(User, voter11))
    refused = client.post(f"{base}/ballot", data={"line_id": other, **marks})  # someone else's line
    assert refused.status_code == 400 and "You are not on the roll for this line." in refused.text
    assert "Your ballot has been cast" in client.get(f"/elections/{election_id}").text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(SecretBallot.id))) == 1
        election = db.session.get(Election, election_id)
        round_ = services.latest_round(election)
        counting.count(election, round_, user("committee"), now=setup.at("counting"))
        db.session.commit()
        votes = {r.user_id: r.votes for r in counting.table(round_) if r.votes}
    results = client.get(f"{base}/results")
    assert results.status_code == 200 and "Ballots returned" in results.text and "选民13" in results.text
    found = client.get(f"{base}/ballots", query_string={"tracker": f"{tracker[:4]} {tracker[4:8]} {tracker[8:]}"})
    assert found.status_code == 200 and tracker in found.text
    assert "选民00: For" in found.text and "选民06: Against" in found.text and "选民13 (written in)" in found.text
    assert "No ballot has this tracker" in client.get(f"{base}/ballots?tracker=AAAABBBBCCCC").text
    download = client.get(f"{base}/ballots.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    again = recount.recount(recount.read(download.get_data(as_text=True).splitlines()))
    assert {v.candidate: v.votes for v in again.votes if v.votes} == votes and tracker in download.text


def test_results_objections_answers_and_the_notice(app, world, login):
    election_id, _nomination_id, candidates = _counted_election(app, world)
    base = f"/elections/{election_id}/rounds/1"
    client = login("voter3")
    page = client.get(f"{base}/results")
    assert page.status_code == 200 and "Preliminary result" in page.text and "Elected" in page.text
    assert "more than half of the ballots returned" in page.text and "Object to the result" in page.text
    assert "The round is valid" in page.text
    chinese = client.get(f"{base}/results", headers={"Accept-Language": "zh-Hans"})
    assert chinese.status_code == 200 and "退出登录" in chinese.text
    empty = client.post(f"{base}/objections", data={"body": ""})
    assert empty.status_code == 400
    assert client.post(f"{base}/objections", data={"body": "计票时监票人不在场"}).status_code == 302
    assert "计票时监票人不在场" in client.get(f"{base}/results").text
    with app.app_context():
        objection_id = db.session.scalar(sa.select(Objection.id))
    assert client.post(f"{base}/objections/{objection_id}/answer", data={"body": "x"}).status_code == 403
    notice = client.get(f"{base}/notice")
    assert notice.status_code == 200 and "<svg" in notice.text and "选民00" in notice.text
    assert f"{base}/results" in notice.text and 'class="site"' not in notice.text  # standalone: no menus
    shown = client.get(f"/elections/{election_id}").text
    assert f"{base}/results" in shown and "Candidates" in shown and "我愿意为邻居服务" in shown


def test_the_committee_answers_objections(app, world, login):
    election_id, _nomination_id, _candidates = _counted_election(app, world)
    base = f"/elections/{election_id}/rounds/1"
    with app.app_context():
        election = db.session.get(Election, election_id)
        publication.lodge(services.poll_of(services.latest_round(election)), user("voter3"), "有疑问")
        db.session.commit()
        objection_id = db.session.scalar(sa.select(Objection.id))
    client = login("committee")
    assert "For election officials" in client.get(f"/elections/{election_id}").text
    assert f"answer-{objection_id}" in client.get(f"{base}/results").text
    assert client.post(f"{base}/objections/{objection_id}/answer", data={"body": "监票人全程在场"}).status_code == 302
    assert "监票人全程在场" in client.get(f"{base}/results").text
    roll = client.get(f"/elections/{election_id}/roll")
    assert roll.status_code == 200 and 'name="ruling"' not in roll.text  # voting has started: no more rulings


def test_the_committee_sees_a_ruling_form_while_the_roll_may_change(app, world, login):
    with app.app_context():
        setup = _call(world, ROLL, voters=2)
        services.object_to_roll(setup.election, setup.voters[1], RollObjectionKind.MOVED, "搬走了",
                                line=db.session.get(RollLine, _line_id(setup, setup.voters[0])))
        db.session.commit()
        election_id = setup.election.id
    roll = login("committee").get(f"/elections/{election_id}/roll")
    assert roll.status_code == 200 and 'name="ruling"' in roll.text and "搬走了" in roll.text
    assert 'name="ruling"' not in login("voter0").get(f"/elections/{election_id}/roll").text


def test_nominations_show_the_slate_after_publication(app, world, login):
    with app.app_context():
        setup = _call(world, VOTING)
        slate(setup, 9)
        nominations.nominate(setup.election, setup.voters[12], setup.voters[13], now=setup.at("nominations"))
        db.session.commit()
        election_id = setup.election.id
    page = login("voter13").get(f"/elections/{election_id}/nominations").text
    assert "Waiting for the nominee to accept" in page and "Join this nomination" not in page  # closed now


def test_a_ballot_is_cast_in_a_fixed_number_of_statements(app, world, login):
    """The peak of an election is hundreds of casts a minute: with 30 printed candidates and 40 voters, the
    first cast a process takes reads the round (at most 11 statements in all), and every cast after it, from
    voters it has never seen, the same few (`CAST_STATEMENTS`)."""
    with app.app_context():
        setup = _call(world, VOTING, voters=40)
        candidates = [c.id for c in slate(setup, 30)]
        casting = [(_line_id(setup, person), person.username) for person in setup.voters[-3:]]
        db.session.commit()
        election_id = setup.election.id
    counts = []
    for line, username in casting:
        client = login(username)
        with counting_queries(app) as statements:
            cast = client.post(f"/elections/{election_id}/rounds/1/ballot",
                               data={"line_id": line, **{f"mark-{c}": "+" for c in candidates[:7]}})
        assert cast.status_code == 200 and 'class="tracker"' in cast.text
        counts.append(len(statements))
    assert counts[0] <= 11 and counts[1] == counts[2] == CAST_STATEMENTS, counts
