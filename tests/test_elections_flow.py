"""A service-team election through its services: the roll and its objections, nominations, the slate,
online and paper ballots with two tellers, the public count, further rounds, 公示 and the new team."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from council.ballots import publication
from council.ballots import services as polls
from council.ballots.models import Channel, PollState, PublishedBallot, RollLine, SecretBallot
from council.elections import counting, nominations, recount, services, voting
from council.elections.models import Election
from council.elections.rules import Mark, Marks, Office, Phase, RollObjectionKind, RoundKind, Ruling
from council.exceptions import Refused
from council.extensions import db
from council.membership.models import Membership
from council.roles.models import Role, RoleGrant
from tests.election_helpers import DAY, appoint_tellers, call_election, member, slate, user


def _for(*people) -> Marks:
    return Marks({p.id: Mark.FOR for p in people})


def _line(setup, person, round_=None):
    poll = services.poll_of(round_ or services.latest_round(setup.election))
    return db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll.id, RollLine.user_id == person.id))


def test_calling_freezes_the_roll_and_the_phases_follow_the_dates(app, world):
    with app.app_context():
        setup = call_election(world, voters=4)
        election = setup.election
        poll = services.first_poll(election)
        assert poll.secret and poll.state is PollState.OPEN
        # Four voters and the world's resident; staff without a household are not on the roll.
        assert db.session.scalar(sa.select(sa.func.count(RollLine.id)).where(RollLine.poll_id == poll.id)) == 5
        assert services.office_of(election, user("committee")) is Office.COMMITTEE
        assert [services.phase(election, setup.at(p)) for p in ("roll", "nominations", "candidates", "voting",
                                                               "counting")] == [
            Phase.ROLL, Phase.NOMINATIONS, Phase.CANDIDATES, Phase.VOTING, Phase.COUNTING]
        with pytest.raises(Refused):  # one election under way per estate
            call_election(world, voters=0)


def test_seats_and_dates_are_checked(app, world):
    with app.app_context():
        with pytest.raises(Refused) as refused:
            call_election(world, voters=0, seats=13)
        assert refused.value.field == "seats"
        assert db.session.scalar(sa.select(sa.func.count(Election.id))) == 0


def test_roll_objections_are_ruled_on_and_change_the_roll(app, world):
    with app.app_context():
        setup = call_election(world, voters=3)
        election, committee = setup.election, user("committee")
        moved = _line(setup, setup.voters[0])
        objection = services.object_to_roll(election, setup.voters[1], RollObjectionKind.MOVED, "已经搬走两年了",
                                            line=moved, now=setup.at("roll"))
        services.rule_on(election, objection, Ruling.UPHELD, "经核实已搬离", committee, now=setup.at("nominations"))
        assert _line(setup, setup.voters[0]) is None
        with pytest.raises(Refused):  # ruled once
            services.rule_on(election, objection, Ruling.REJECTED, "x", committee, now=setup.at("nominations"))
        # Objections are taken only while the roll is posted.
        with pytest.raises(Refused):
            services.object_to_roll(election, setup.voters[1], RollObjectionKind.MOVED, "x", line=moved,
                                    now=setup.at("nominations"))


def test_a_missing_member_is_added_when_the_objection_is_upheld(app, world):
    with app.app_context():
        setup = call_election(world, voters=2)
        late = member("late", world.h12, "晚到")  # approved after the roll was frozen
        objection = services.object_to_roll(setup.election, late, RollObjectionKind.MISSING, "我漏登了",
                                            now=setup.at("roll"))
        services.rule_on(setup.election, objection, Ruling.UPHELD, "补登", user("committee"), now=setup.at("roll"))
        assert _line(setup, late) is not None
        other = services.object_to_roll(setup.election, late, RollObjectionKind.MOVED, "写错了楼号",
                                        line=_line(setup, setup.voters[0]), now=setup.at("roll"))
        with pytest.raises(Refused):  # the roll is fixed once voting opens
            services.rule_on(setup.election, other, Ruling.UPHELD, "x", user("committee"), now=setup.at("voting"))
        assert _line(setup, setup.voters[0]) is not None


def test_nominations_need_joint_nominators_and_acceptance_and_more_candidates_than_seats(app, world):
    with app.app_context():
        setup = call_election(world, voters=9, nominators_needed=2)
        election, when = setup.election, setup.at("nominations")
        a, b, c = setup.voters[:3]
        joint = nominations.nominate(election, a, b, now=when)
        nominations.accept(election, joint, a, "愿意服务", "", now=when)
        assert [stands for n, _c, stands in nominations.nominations(election)] == [False]  # one nominator of two
        nominations.second(election, joint, c, now=when)
        assert [stands for n, _c, stands in nominations.nominations(election)] == [True]
        with pytest.raises(Refused):
            nominations.second(election, joint, c, now=when)
        with pytest.raises(Refused):  # not before nominations open
            nominations.nominate(election, b, b, now=setup.at("roll"))
        for person in setup.voters[3:9]:
            own = nominations.nominate(election, person, person, now=when)
            nominations.accept(election, own, person, "为大家服务", "", now=when)
        # 7 candidates for 7 seats: no choice, no vote (差额).
        with pytest.raises(Refused):
            nominations.publish_slate(election, user("committee"), now=setup.at("candidates"))
        extra = nominations.nominate(election, b, b, now=when)
        nominations.accept(election, extra, b, "我也来", "", now=when)
        nominations.publish_slate(election, user("committee"), now=setup.at("candidates"))
        assert len(nominations.printed(services.latest_round(election).id)) == 8


def test_tellers_cannot_be_candidates_or_live_with_one(app, world):
    with app.app_context():
        setup = call_election(world, voters=9)
        election, when = setup.election, setup.at("nominations")
        candidate = setup.voters[0]
        nomination = nominations.nominate(election, candidate, candidate, now=when)
        nominations.accept(election, nomination, candidate, "服务", "", now=when)
        with pytest.raises(Refused):
            services.appoint(election, candidate, Office.TELLER, user("committee"))
        # Someone in the candidate's household cannot be a scrutineer either.
        home = db.session.scalar(sa.select(Membership.household_id).where(Membership.user_id == candidate.id))
        spouse = member("spouse", home, "家属")
        with pytest.raises(Refused):
            services.appoint(election, spouse, Office.SCRUTINEER, user("committee"))
        # And a teller cannot accept a nomination.
        services.appoint(election, setup.voters[1], Office.TELLER, user("committee"))
        other = nominations.nominate(election, setup.voters[1], setup.voters[1], now=when)
        with pytest.raises(Refused):
            nominations.accept(election, other, setup.voters[1], "服务", "", now=when)


def test_online_ballots_follow_the_rules(app, world):
    with app.app_context():
        setup = call_election(world, voters=12)
        candidates = slate(setup, 9)
        election = setup.election
        round_ = services.latest_round(election)
        voter = setup.voters[10]
        line = _line(setup, voter)
        with pytest.raises(Refused):  # before voting opens
            voting.cast(election, round_, line, _for(*candidates[:7]), voter, now=setup.at("candidates"))
        with pytest.raises(Refused) as refused:  # more names than seats
            voting.cast(election, round_, line, _for(*candidates[:8]), voter, now=setup.at("voting"))
        assert refused.value.field == "marks"
        with pytest.raises(Refused):  # a write-in who is a candidate
            voting.cast(election, round_, line, Marks({}, frozenset({candidates[0].id})), voter,
                        now=setup.at("voting"))
        with pytest.raises(Refused):  # someone else's line
            voting.cast(election, round_, _line(setup, setup.voters[11]), _for(candidates[0]), voter,
                        now=setup.at("voting"))
        ballot = Marks({candidates[0].id: Mark.FOR, candidates[1].id: Mark.AGAINST, candidates[2].id: Mark.ABSTAIN},
                       frozenset({setup.voters[11].id}))
        tracker = voting.cast(election, round_, line, ballot, voter, now=setup.at("voting"))
        assert len(tracker) == 12
        with pytest.raises(Refused):  # once
            voting.cast(election, round_, line, _for(candidates[0]), voter, now=setup.at("voting"))
        with pytest.raises(Refused):  # after close
            voting.cast(election, round_, _line(setup, setup.voters[11]), _for(candidates[0]), setup.voters[11],
                        now=setup.at("counting"))
        box = db.session.scalars(sa.select(SecretBallot.marks)).all()
        assert box == [f"{candidates[0].id}+ {candidates[1].id}- {candidates[2].id}= w{setup.voters[11].id}"]


def _vote_everyone(setup, candidates, paper_voters=()):
    """Every voter not in `paper_voters` votes for the first seven candidates, except voter 11 who names
    candidates 1 to 6 and 8."""
    election = setup.election
    round_ = services.latest_round(election)
    for person in setup.voters:
        if person in paper_voters:
            continue
        names = candidates[:7] if person is not setup.voters[11] else candidates[:6] + [candidates[7]]
        voting.cast(election, round_, _line(setup, person, round_), _for(*names), person, now=setup.at("voting"))


def test_full_election_with_paper_and_two_tellers(app, world):
    with app.app_context():
        setup = call_election(world, voters=14)
        first_teller, second_teller = appoint_tellers(setup, "leader", "team")
        candidates = slate(setup, 9)
        election = setup.election
        round_ = services.latest_round(election)
        paper = setup.voters[12:14]
        for person in paper:
            voting.check_off(election, round_, _line(setup, person), first_teller, now=setup.at("voting"))
        with pytest.raises(Refused):  # checked off: no online vote
            voting.cast(election, round_, _line(setup, paper[0]), _for(candidates[0]), paper[0],
                        now=setup.at("voting"))
        _vote_everyone(setup, candidates, paper)
        counting_at = setup.at("counting")
        with pytest.raises(Refused):  # more than the two papers issued
            voting.start_batch(election, round_, 3, first_teller, now=counting_at)
        batch = voting.start_batch(election, round_, 2, first_teller, now=counting_at)
        with pytest.raises(Refused):  # the same teller twice
            voting.join_batch(election, round_, batch, first_teller, now=counting_at)
        voting.join_batch(election, round_, batch, second_teller, now=counting_at)
        good = _for(*candidates[:7])
        too_many = _for(*candidates[:8])
        assert not voting.enter(election, round_, batch, good, first_teller, now=counting_at)
        assert not voting.enter(election, round_, batch, too_many, first_teller, now=counting_at)
        assert not voting.enter(election, round_, batch, good, second_teller, now=counting_at)
        # The second teller misreads the other ballot: the entries disagree and nothing is accepted.
        assert not voting.enter(election, round_, batch, good, second_teller, now=counting_at)
        assert voting.differences(batch)
        with pytest.raises(Refused):
            counting.count(election, round_, user("committee"), now=counting_at)
        wrong = [e for e in voting.entries(batch, 2)][0]
        voting.remove_entry(batch, wrong.id, second_teller)
        assert voting.enter(election, round_, batch, too_many, second_teller, now=counting_at)
        assert services.poll_of(round_).paper_entered == 2
        counting.count(election, round_, user("committee"), now=counting_at)
        db.session.flush()
        assert round_.returned == 14  # 12 online and 2 on paper; the resident did not vote
        assert round_.void == 1
        rows = counting.table(round_)
        assert [r.user_id for r in rows if r.elected] == sorted(
            [c.id for c in candidates[:7]], key=lambda uid: [c.id for c in candidates].index(uid))
        assert services.phase(election, counting_at) is Phase.RESULTS
        assert db.session.scalar(sa.select(sa.func.count(SecretBallot.id))) == 0
        # The published list recounts to the same figures.
        text = "".join(counting.ballots_csv(election, round_))
        again = recount.recount(recount.read(text.splitlines()))
        assert (again.returned, again.valid, again.void) == (round_.returned, round_.valid, round_.void)
        assert {v.candidate: v.votes for v in again.votes if v.votes} == {r.user_id: r.votes for r in rows if r.votes}
        # 公示: the team takes office only once the posting period is over.
        with pytest.raises(Refused):
            counting.finish(election, user("committee"), now=counting_at)
        later = counting_at + 8 * DAY
        assert counting.plan(election) is None
        counting.finish(election, user("committee"), now=later)
        team = set(db.session.scalars(sa.select(RoleGrant.user_id).where(
            RoleGrant.role == Role.SERVICE_TEAM, RoleGrant.place_id == world.estate, RoleGrant.revoked_at.is_(None))))
        assert {c.id for c in candidates[:7]} <= team
        assert services.phase(election, later) is Phase.CLOSED


def test_published_order_is_not_the_order_of_casting(app, world):
    with app.app_context():
        setup = call_election(world, voters=14)
        candidates = slate(setup, 9)
        election = setup.election
        round_ = services.latest_round(election)
        trackers = []
        for i, person in enumerate(setup.voters):
            ballot = _for(candidates[i % 9])
            trackers.append(voting.cast(election, round_, _line(setup, person), ballot, person,
                                        now=setup.at("voting")))
        counting.count(election, round_, user("committee"), now=setup.at("counting"))
        published = db.session.scalars(sa.select(PublishedBallot.tracker).where(
            PublishedBallot.poll_id == services.poll_of(round_).id).order_by(PublishedBallot.position)).all()
        assert sorted(published) == sorted(trackers)
        assert published != trackers  # 14! orders: the chance of the casting order is negligible


def test_unfilled_seats_go_to_a_second_round_on_the_same_roll(app, world):
    with app.app_context():
        setup = call_election(world, voters=14)
        candidates = slate(setup, 9)
        election = setup.election
        round_ = services.latest_round(election)
        # Everyone votes for candidates 0-4; each of 5 to 8 gets half the ballots, not more: five elected.
        for i, person in enumerate(setup.voters):
            names = candidates[:5] + [candidates[5 if i % 2 else 6], candidates[7 if i < 7 else 8]]
            voting.cast(election, round_, _line(setup, person), _for(*names), person, now=setup.at("voting"))
        counting.count(election, round_, user("committee"), now=setup.at("counting"))
        assert sum(r.elected for r in counting.table(round_)) == 5
        upcoming = counting.plan(election)
        assert upcoming.kind is RoundKind.SECOND and upcoming.seats == 2 and len(upcoming.candidates) == 4
        second = counting.open_next_round(election, user("committee"), setup.at("counting") + DAY,
                                          setup.at("counting") + 2 * DAY, now=setup.at("counting"))
        assert second.number == 2
        roll = lambda r: sorted(db.session.scalars(sa.select(RollLine.user_id).where(  # noqa: E731
            RollLine.poll_id == services.poll_of(r).id)))
        assert roll(second) == roll(round_)
        assert services.phase(election, setup.at("counting") + DAY + DAY / 2) is Phase.VOTING
        assert not polls.close_if_due(services.poll_of(second), now=setup.at("counting") + 3 * DAY)
        assert services.poll_of(second).state is PollState.OPEN  # waits for the tellers and the count


def test_a_low_turnout_round_is_held_again(app, world):
    with app.app_context():
        setup = call_election(world, voters=14)
        candidates = slate(setup, 9)
        election = setup.election
        round_ = services.latest_round(election)
        for person in setup.voters[:7]:  # 7 of 15: not more than half
            voting.cast(election, round_, _line(setup, person), _for(*candidates[:7]), person, now=setup.at("voting"))
        counting.count(election, round_, user("committee"), now=setup.at("counting"))
        assert not counting.is_valid(round_)
        assert not any(r.elected for r in counting.table(round_))
        upcoming = counting.plan(election)
        assert upcoming.kind is RoundKind.FIRST and upcoming.seats == 7 and len(upcoming.candidates) == 9


def test_results_objections_hold_the_result(app, world):
    with app.app_context():
        setup = call_election(world, voters=14)
        candidates = slate(setup, 9)
        election = setup.election
        _vote_everyone(setup, candidates)
        round_ = services.latest_round(election)
        counting.count(election, round_, user("committee"), now=setup.at("counting"))
        poll = services.poll_of(round_)
        publication.lodge(poll, setup.voters[0], "计票时监票人不在场", now=setup.at("counting"))
        with pytest.raises(Refused):
            counting.finish(election, user("committee"), now=setup.at("counting") + 8 * DAY)
        assert poll.state is PollState.CLOSED
        assert db.session.scalar(sa.select(sa.func.count(RollLine.id)).where(
            RollLine.poll_id == poll.id, RollLine.status == Channel.ONLINE)) == 14


@pytest.mark.parametrize(("kind", "returned", "needed"), [
    (RoundKind.FIRST, 22, 12), (RoundKind.FIRST, 21, 11), (RoundKind.FIRST, 0, 1),
    (RoundKind.SECOND, 21, 7), (RoundKind.SECOND, 22, 8), (RoundKind.SECOND, 0, 1), (RoundKind.RUNOFF, 30, 1)])
def test_votes_needed_matches_the_count(kind, returned, needed):
    """The figure posted with the count agrees with the pure count: `needed` elects, one fewer does not."""
    from council.ballots.rules import ElectionBallot, ElectionForm
    from council.elections.rules import count_round, votes_needed
    assert votes_needed(kind, returned) == needed
    if returned:
        def outcome(votes):
            ballots = [ElectionBallot({1})] * votes + [ElectionBallot()] * (returned - votes)
            return 1 in count_round(kind, returned, ballots, 1, ElectionForm((1, 2))).elected
        assert outcome(needed) and (needed == 1 or not outcome(needed - 1))
