"""Invariant 8 on the key pages that other guards leave out (issue #9, item 4): every page below is read with a
small data set and again with about ten times more of what it lists, and must send the same number of SQL
statements. test_query_counts.py grows only concerns and notifications; here the place pages get more
buildings, rooms, members, roles, requests, party members and activity; a concern more comments, support,
department calls and history; a meeting more items, check-ins, answers, action items, co-building tasks and
minutes corrections, and its place more meetings and minutes; a closed vote a ten times larger roll, with
proxies, paper ballots and objections; the proposals more authors, co-signers, comments and reports; the
estate more elections. Wherever a list shows a person or a parent, the rows have different ones, so nothing is
shared through the session's identity map and an N+1 has nowhere to hide."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from council.accounts.models import User
from council.ballots import publication
from council.ballots import services as polls
from council.ballots.models import Basis, Poll, PublishedBallot, RollLine
from council.ballots.rules import Choice, Rule
from council.concerns import services as concerns
from council.concerns.models import Concern
from council.concerns.rules import Category as ConcernCategory
from council.elections.models import Election
from council.extensions import db
from council.meetings import cobuilding, console, minutes
from council.meetings import services as meetings
from council.meetings.models import AgendaItem, Meeting, Minutes
from council.meetings.rules import ItemKind, MeetingKind, MeetingState, MinutesState
from council.membership import services as membership
from council.membership.models import Relation
from council.permissions import load_standing
from council.proposals import discussion, stages
from council.proposals import services as proposals
from council.proposals.models import Proposal
from council.proposals.rules import Category as ProposalCategory
from council.roles import services as roles
from council.roles.models import Role
from council.sqltypes import utcnow
from council.territory.models import Household, Place, PlaceKind, Tenure
from council.territory.services import create_household, create_place
from tests.election_helpers import call_election
from tests.factories import person
from tests.helpers import counting


def _user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def measure(app, client, login, pages: list[tuple[str | None, str]], ids: dict) -> dict[tuple, int]:
    """Statements sent by each page (user and address are templates filled from `ids`; user None: signed
    out), after one warm-up read, so nothing loaded once per process counts against either side."""
    counts = {}
    for username, url in pages:
        if username is None:
            client.post("/logout")
        else:
            login(username.format(**ids))
        address = url.format(**ids)
        assert client.get(address).status_code == 200, (username, address)
        with counting(app) as statements:
            response = client.get(address)
            response.get_data()  # were anything streamed, its queries would run now
        assert response.status_code == 200, (username, address)
        counts[(username, url)] = len(statements)
    return counts


def assert_same(small: dict, large: dict) -> None:
    grown = {page: (small[page], large[page]) for page in small if small[page] != large[page]}
    assert not grown, f"queries grew with the data (small, large): {grown}"
    print("queries per request:", {f"{user or 'signed out'} {url}": n for (user, url), n in small.items()})


# ---- places: home, estate and building pages, households, roles, requests, party, activity -----------------

def grow_places(app, world, n: int, tag: str) -> None:
    """`n` more buildings (each with a building leader), rooms in b1 (each with its owner, the resident, and a
    waiting tenant), members of h11 who serve on the estate's team, lead b1 and are party members: all through
    the services, so the activity log grows with them."""
    with app.app_context():
        admin, leader, secretary, resident = (_user(u) for u in ("siteadmin", "leader", "secretary", "resident"))
        estate, b1 = db.session.get(Place, world.estate), db.session.get(Place, world.b1)
        h11 = db.session.get(Household, world.h11)
        for i in range(n):
            building = create_place(PlaceKind.BUILDING, f"{tag}{i}号楼", estate, admin)
            roles.grant(leader, Role.BUILDING_LEADER, building, admin)  # the leader's home lists every role
            room = create_household(b1, "1", f"{tag}{i:03d}", 8000 + i, Tenure.OWNER_OCCUPIED, admin)
            membership.approve(membership.request_join(resident, room, Relation.OWNER), admin)
            membership.request_join(person(f"{tag}tenant{i}", f"租户{tag}{i}"), room, Relation.TENANT)
            neighbour = person(f"{tag}neighbour{i}", f"邻居{tag}{i}")
            membership.approve(membership.request_join(neighbour, h11, Relation.FAMILY), admin)
            roles.grant(neighbour, Role.SERVICE_TEAM, estate, admin, duty=f"第{i}片")
            roles.grant(neighbour, Role.BUILDING_LEADER, b1, admin)  # b1's page lists who to ask
            membership.record_party_member(neighbour, estate, bool(i % 2), secretary)
        db.session.commit()


def test_place_pages_do_not_grow(app, world, client, login):
    w = {k: getattr(world, k) for k in ("estate", "b1", "grid", "h11")}
    pages = [
        ("resident", "/"), ("leader", "/"), ("resident", "/my/households"),
        ("resident", "/places/{estate}"), ("team", "/places/{estate}"), ("estate_admin", "/places/{estate}"),
        ("resident", "/places/{b1}"), ("leader", "/places/{b1}"), ("gridworker", "/places/{grid}"),
        ("resident", "/households/{h11}"), ("team", "/households/{h11}"),
        ("estate_admin", "/places/{estate}/roles"), ("estate_admin", "/places/{b1}/roles"),
        ("team", "/places/{estate}/activity"), ("leader", "/places/{b1}/requests"),
        ("team", "/places/{estate}/requests"), ("secretary", "/places/{estate}/party"), ("leader", "/places"),
    ]
    grow_places(app, world, 3, "a")
    small = measure(app, client, login, pages, w)
    grow_places(app, world, 30, "b")
    large = measure(app, client, login, pages, w)
    assert_same(small, large)
    page = login("estate_admin").get(f"/places/{world.estate}/roles?page=2").text
    assert "邻居b" in page  # the roles really are more than a page now


# ---- a concern's page ---------------------------------------------------------------------------------------

def _street_level_concern(app, world) -> int:
    """The resident's concern in b1, sent up to the street (where departments are called) and accepted there."""
    with app.app_context():
        concern = concerns.report(db.session.get(Place, world.b1), _user("resident"), "楼顶漏水", "下雨就漏",
                                  ConcernCategory.OTHER)
        for username in ("team", "gridworker", "committee"):
            concerns.escalate(concern, _user(username), "本级解决不了")
        concerns.accept(concern, _user("street_admin"), owner=_user("street_admin"), unit="房管所")
        db.session.commit()
        return concern.id


def grow_concern(app, world, concern_id: int, n: int, tag: str) -> None:
    """`n` more neighbours who support and comment, departments called (half of them reported), and so a
    longer history."""
    with app.app_context():
        concern, street = db.session.get(Concern, concern_id), _user("street_admin")
        b1 = db.session.get(Place, world.b1)
        for i in range(n):
            neighbour = person(f"{tag}neighbour{i}", f"邻居{tag}{i}")
            room = create_household(b1, "2", f"{tag}{i:03d}", 7000, Tenure.OWNER_OCCUPIED, None, log=False)
            membership.approve(membership.request_join(neighbour, room, Relation.OWNER), neighbour)
            concerns.support(concern, neighbour)
            concerns.add_comment(concern, neighbour, f"我家也漏 {tag}{i}")
            call = concerns.call_department(concern, street, f"部门{tag}{i}")
            if i % 2:
                concerns.confirm_reported(call, concern, street, "已到场")
        db.session.commit()


def test_a_concern_page_does_not_grow(app, world, client, login):
    concern_id = _street_level_concern(app, world)
    url, ids = "/concerns/{concern}", {"concern": concern_id}
    pages = [("resident", url), ("street_admin", url), ("team", url), ("leader", url)]
    grow_concern(app, world, concern_id, 3, "a")
    small = measure(app, client, login, pages, ids)
    grow_concern(app, world, concern_id, 30, "b")
    large = measure(app, client, login, pages, ids)
    assert_same(small, large)
    page = login("street_admin").get(f"/concerns/{concern_id}").text
    assert "部门b29" in page and "我家也漏 b29" in page


# ---- meetings: list, agenda, console, minutes, archive, action items, co-building, calendar --------------

def _held_meeting(app, world) -> dict:
    """A published joint meeting next week chaired by the secretary, with the resident checked in, its minutes
    published (revision 1) and a correcting revision in draft."""
    with app.app_context():
        secretary, resident = _user("secretary"), _user("resident")
        meeting = meetings.schedule(db.session.get(Place, world.estate), secretary, MeetingKind.JOINT, "联席会议",
                                    utcnow() + timedelta(days=7), "居委会议室")
        meetings.add_free(meeting, "楼道杂物清理", "服务队", 10)
        meetings.publish(meeting, secretary)
        console.check_in(meeting, secretary, resident)
        published = minutes.draft(meeting, secretary)
        minutes.approve(published, secretary)
        minutes.publish(published, secretary)
        draft = minutes.draft(meeting, secretary, "补记出席人")
        db.session.commit()
        return dict(meeting=meeting.id, published=published.id, draft=draft.id, year=meeting.starts_at.year)


def grow_meetings(app, world, ids: dict, n: int, tag: str) -> None:
    """`n` more of all a meeting and its place list: agenda items, check-ins, answers, action items (for a
    person or a unit), suggested corrections; other joint meetings each offering a co-building task (half of
    them claimed); and past meetings with published minutes."""
    with app.app_context():
        secretary = _user("secretary")
        estate, meeting = db.session.get(Place, world.estate), db.session.get(Meeting, ids["meeting"])
        draft = db.session.get(Minutes, ids["draft"])
        last = db.session.scalar(sa.select(sa.func.max(AgendaItem.position)).where(
            AgendaItem.meeting_id == meeting.id))
        db.session.execute(sa.insert(AgendaItem), [dict(
            meeting_id=meeting.id, position=last + 1 + i, kind=ItemKind.FREE, title=f"议题{tag}{i}", presenter="",
            minutes=5, notes="", decision="") for i in range(n)])
        for i in range(n):
            neighbour = person(f"{tag}neighbour{i}", f"邻居{tag}{i}")
            console.check_in(meeting, secretary, neighbour)
            console.check_in(meeting, secretary, name=f"来宾{tag}{i}", unit=f"单位{tag}{i}")
            meetings.answer(meeting, neighbour, bool(i % 2))
            console.add_action(meeting, secretary, f"落实{tag}{i}", utcnow().date() + timedelta(days=i),
                               owner=neighbour if i % 2 else None, unit="" if i % 2 else f"单位{tag}{i}")
            minutes.suggest(draft, neighbour, f"更正{tag}{i}")
            other = meetings.schedule(estate, secretary, MeetingKind.JOINT, f"联席会议{tag}{i}",
                                      meeting.starts_at + timedelta(hours=i + 1))
            meetings.publish(other, secretary)
            task = cobuilding.offer(other, secretary, f"共建{tag}{i}")
            if i % 2:
                cobuilding.claim(task, neighbour, f"单位{tag}{i}")
        past = [Meeting(place_id=estate.id, kind=MeetingKind.FRIDAY, title=f"往期{tag}{i}",
                        state=MeetingState.PUBLISHED, starts_at=utcnow() - timedelta(days=7 * (i + 1)),
                        chair_id=secretary.id, created_by_id=secretary.id) for i in range(n)]
        db.session.add_all(past)
        db.session.flush()
        db.session.add_all(Minutes(meeting_id=m.id, revision=1, state=MinutesState.PUBLISHED, body=f"纪要 {m.title}",
                                   created_by_id=secretary.id, published_at=utcnow()) for m in past)
        db.session.commit()


def test_meeting_pages_do_not_grow(app, world, client, login):
    ids = _held_meeting(app, world)
    w = dict(ids, estate=world.estate)
    pages = [
        ("resident", "/places/{estate}/meetings"), ("secretary", "/places/{estate}/meetings"),
        ("resident", "/places/{estate}/meetings?past=1"), ("resident", "/places/{estate}"),
        ("resident", "/meetings/{meeting}"), ("secretary", "/meetings/{meeting}"),
        ("secretary", "/meetings/{meeting}/console"),
        (None, "/places/{estate}/minutes"), ("resident", "/places/{estate}/minutes?q=纪要"),
        (None, "/minutes/{published}"), ("resident", "/minutes/{draft}"), ("secretary", "/minutes/{draft}"),
        (None, "/minutes/{published}/print"),
        ("resident", "/places/{estate}/actions"), ("secretary", "/places/{estate}/actions"),
        ("secretary", "/places/{estate}/cobuilding?year={year}"),
        ("resident", "/places/{estate}/cobuilding?year={year}"),
        (None, "/places/{estate}/meetings.ics"), ("resident", "/meetings/{meeting}.ics"),
    ]
    grow_meetings(app, world, ids, 3, "a")
    small = measure(app, client, login, pages, w)
    grow_meetings(app, world, ids, 30, "b")
    large = measure(app, client, login, pages, w)
    assert_same(small, large)
    assert "更正b29" in login("secretary").get(f"/minutes/{ids['draft']}").text


# ---- a vote after its close, and the door-to-door list of an open one -------------------------------------

def _voted_building(app, world, units: int, tag: str) -> dict:
    """A building of the estate with `units` rooms, each with its owner as a member, and three proposals on it:
    a named and a secret vote, both voted (a quarter by written proxy, a quarter online, a quarter on paper) and
    closed, with objections from every other owner (half of them answered); and a vote still open, with its
    proxies recorded (the door-to-door list)."""
    with app.app_context():
        secretary, team, resident = _user("secretary"), _user("team"), _user("resident")
        estate = db.session.get(Place, world.estate)
        building = create_place(PlaceKind.BUILDING, f"{tag}号楼", estate, None)
        start = utcnow() - timedelta(days=8)  # the votes ran last week
        owners, owner_of = [], {}
        for i in range(units):
            room = create_household(building, "1", f"{i + 1:02d}01", 8000 + 10 * i, Tenure.OWNER_OCCUPIED, None,
                                    log=False)
            owners.append(person(f"{tag}owner{i}", f"业主{tag}{i}"))
            owner_of[room.id] = owners[-1]
            entry = membership.request_join(owners[-1], room, Relation.OWNER)
            membership.approve(entry, owners[-1])
            entry.decided_at = start - timedelta(days=1)  # a member before the roll froze
        found = {"owner": owners[0].username, "holder": owners[1].username}
        for kind in ("named", "secret", "open"):
            proposal = proposals.create(estate, resident, f"{tag}{kind}加装电梯", "一楼到六楼都受益",
                                        ProposalCategory.LIFT, building_ids=[building.id])
            proposals.publish(proposal, resident)
            proposal.eligible_at = start
            stages.put_on_agenda(proposal, secretary)
            closes = start + timedelta(days=7) if kind != "open" else utcnow() + timedelta(days=7)
            poll = stages.open_vote(proposal, secretary, Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, kind == "secret",
                                    closes, now=start, objection_days=10)
            lines = db.session.scalars(sa.select(RollLine).where(RollLine.poll_id == poll.id)
                                       .order_by(RollLine.sort_key)).all()
            when = start + timedelta(hours=1)
            for i, line in enumerate(lines):
                choice = (Choice.FOR, Choice.AGAINST, Choice.ABSTAIN)[i % 3]
                if i % 4 == 0:
                    holder = owners[(i + 1) % units]
                    polls.record_proxy(poll, line, holder, team, now=when)
                    if kind != "open":
                        polls.cast(poll, line, choice, holder, now=when)
                elif kind == "open":
                    continue
                elif i % 4 == 1:
                    polls.cast(poll, line, choice, owner_of[line.household_id], now=when)
                elif i % 4 == 2:
                    polls.check_off(poll, line, team, None if poll.secret else choice, now=when)
            if kind == "secret":
                polls.enter_paper(poll, {Choice.FOR: polls.paper_issued(poll)}, team, now=when)
            if kind != "open":
                assert polls.close(poll, None, closes)
                for i, owner in enumerate(owners[::2]):
                    objection = publication.lodge(poll, owner, f"异议{i}", now=closes + timedelta(hours=1))
                    if i % 2:
                        publication.answer(objection, poll, team, "已核实", now=closes + timedelta(hours=2))
            found[kind], found[f"{kind}_proposal"] = poll.id, proposal.id
        db.session.commit()
        return found


def test_vote_pages_after_the_close_do_not_grow(app, world, client, login):
    pages = [
        ("resident", "/votes/{named}"), ("team", "/votes/{named}"), ("{owner}", "/votes/{named}"),
        ("resident", "/votes/{named}/participation"), ("resident", "/votes/{named}/objections"),
        ("team", "/votes/{named}/objections"), ("team", "/votes/{named}/roll"), ("{owner}", "/votes/{named}/proxies"),
        ("team", "/votes/{named}/filing/print"), ("resident", "/proposals/{named_proposal}"),
        ("resident", "/votes/{secret}"), ("{owner}", "/votes/{secret}/ballots"), ("team", "/votes/{secret}"),
        ("resident", "/proposals/{secret_proposal}"),
        ("team", "/votes/{open}/doors"), ("{holder}", "/votes/{open}"),
    ]
    small_ids = _voted_building(app, world, 4, "a")
    large_ids = _voted_building(app, world, 40, "b")
    small = measure(app, client, login, pages, small_ids)
    large = measure(app, client, login, pages, large_ids)
    assert_same(small, large)
    with app.app_context():
        assert db.session.get(Poll, large_ids["named"]).roll_heads == 40
        assert db.session.scalar(sa.select(sa.func.count(PublishedBallot.id)).where(
            PublishedBallot.poll_id == large_ids["secret"])) == 30  # 10 by proxy, 10 online, 10 on paper


# ---- proposals: the estate's list and one discussed proposal, with many different authors ----------------

def _main_proposal(app, world) -> int:
    with app.app_context():
        resident = _user("resident")
        proposal = proposals.create(db.session.get(Place, world.estate), resident, "小区加装充电桩", "电动车越来越多",
                                    ProposalCategory.EBIKE_SHED)
        proposals.publish(proposal, resident)
        db.session.commit()
        return proposal.id


def grow_proposals(app, world, proposal_id: int, n: int, tag: str) -> None:
    """`n` more neighbours (each in a room of b1) who each write a proposal of their own, and co-sign, comment
    on and quote others on the resident's proposal; the resident answers each and reports every other one.
    Every comment and list entry has a different author, so nothing is shared through the identity map."""
    with app.app_context():
        estate, b1, resident = db.session.get(Place, world.estate), db.session.get(Place, world.b1), _user("resident")
        main = db.session.get(Proposal, proposal_id)
        for i in range(n):
            neighbour = person(f"{tag}neighbour{i}", f"邻居{tag}{i}")
            room = create_household(b1, "3", f"{tag}{i:03d}", 7000, Tenure.OWNER_OCCUPIED, None, log=False)
            membership.approve(membership.request_join(neighbour, room, Relation.OWNER), neighbour)
            standing = load_standing(neighbour.id)
            own = proposals.create(estate, neighbour, f"{tag}提议{i}", "内容", list(ProposalCategory)[i % 4],
                                   building_ids=[b1.id] if i % 2 else [])
            proposals.publish(own, neighbour)
            discussion.add_comment(own, resident, load_standing(resident.id), f"赞成{tag}{i}")
            proposals.cosign(main, neighbour, standing)
            top = discussion.add_comment(main, neighbour, standing, f"意见{tag}{i}")
            discussion.add_comment(main, resident, load_standing(resident.id), f"回复{tag}{i}", parent_id=top.id,
                                   quoted_id=top.id)
            if i % 2:
                discussion.report(top, main, resident, "离题")
        db.session.commit()


def test_proposal_pages_do_not_grow(app, world, client, login):
    ids = {"proposal": _main_proposal(app, world), "estate": world.estate}
    pages = [
        ("resident", "/places/{estate}/proposals"), ("resident", "/places/{estate}/proposals?sort=cosigned"),
        ("team", "/places/{estate}/proposals?sort=discussed"), ("leader", "/places/{estate}/proposals?state=open"),
        ("resident", "/proposals/{proposal}"), ("team", "/proposals/{proposal}"), ("leader", "/proposals/{proposal}"),
    ]
    grow_proposals(app, world, ids["proposal"], 3, "a")
    small = measure(app, client, login, pages, ids)
    grow_proposals(app, world, ids["proposal"], 30, "b")
    large = measure(app, client, login, pages, ids)
    assert_same(small, large)
    team = login("team")  # 33 comments: 20 a page, the last on page 2
    assert "意见b16" in team.get(f"/proposals/{ids['proposal']}").text
    assert "意见b29" in team.get(f"/proposals/{ids['proposal']}?comments=2").text


# ---- the estate's elections -----------------------------------------------------------------------------

def add_elections(app, world, n: int) -> None:
    """`n` more elections of the estate, each called after the previous one finished (one runs at a time)."""
    with app.app_context():
        for i in range(n):
            db.session.execute(sa.update(Election).values(finished_at=utcnow()))
            call_election(world, voters=0, start=utcnow() - timedelta(days=40 - i))
        db.session.commit()


def test_the_elections_index_does_not_grow(app, world, client, login):
    """Each card shows the election's phase, which needs its rounds and their polls: read for the whole page
    at once, not election by election."""
    pages = [("resident", "/estates/{estate}/elections"), ("committee", "/estates/{estate}/elections")]
    ids = {"estate": world.estate}
    add_elections(app, world, 2)
    small = measure(app, client, login, pages, ids)
    add_elections(app, world, 18)
    large = measure(app, client, login, pages, ids)
    assert_same(small, large)


def test_the_phases_of_a_page_are_each_election_s_phase(app, world):
    """The batched `phases` agrees with `phase` one election at a time, through every phase of a first round
    and of a second round (whose schedule still starts from the first round's poll)."""
    from council.elections import counting, services, voting
    from council.elections.rules import Mark, Marks
    from tests.election_helpers import DAY, slate, user

    with app.app_context():
        setup = call_election(world, voters=14)
        candidates = slate(setup, 9)
        election, first = setup.election, services.latest_round(setup.election)
        poll = services.poll_of(first)
        lines = dict(db.session.execute(sa.select(RollLine.user_id, RollLine.id).where(
            RollLine.poll_id == poll.id)).all())
        moments = [setup.start + timedelta(hours=1)] + [setup.at(p) for p in ("roll", "nominations", "candidates",
                                                                                "voting", "counting")]
        assert all(services.phases([election], at) == {election.id: services.phase(election, at)} for at in moments)
        for i, voter in enumerate(setup.voters):  # five elected, two seats left for a second round
            names = candidates[:5] + [candidates[5 if i % 2 else 6], candidates[7 if i < 7 else 8]]
            voting.cast(election, first, db.session.get(RollLine, lines[voter.id]),
                        Marks({c.id: Mark.FOR for c in names}), voter, now=setup.at("voting"))
        counting.count(election, first, user("committee"), now=setup.at("counting"))
        counted = setup.at("counting")
        counting.open_next_round(election, user("committee"), counted + DAY, counted + 2 * DAY, now=counted)
        later = [counted + DAY / 2, counted + DAY * 1.5, counted + 3 * DAY]
        assert all(services.phases([election], at) == {election.id: services.phase(election, at)} for at in later)
        assert len({services.phase(election, at) for at in moments + later}) >= 4  # really several phases
