"""`flask council seed-scale`: a two-estate district through the CLI, on SQLite or PostgreSQL like the rest of
the suite. One district is seeded once into a database of its own (module fixture `district`) and read by
most tests; the determinism and refusal tests seed the suite's own database, emptied after each test."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from council import create_app
from council.accounts.models import User
from council.ballots import services as polls
from council.ballots.models import PollState, RollLine, SecretBallot
from council.ballots.rules import Choice
from council.concerns.models import Comment, Concern, Support
from council.config import TestConfig
from council.elections import nominations, services, voting
from council.elections.models import Election
from council.elections.rules import Mark, Marks, Phase
from council.exceptions import Refused
from council.extensions import db
from council.meetings.models import Meeting, Minutes
from council.meetings.rules import MinutesState
from council.membership.models import Membership, MembershipStatus
from council.proposals import stages
from council.proposals.models import Cosign, Proposal, ProposalComment
from council.scale import BENCH_ESTATE, SCALE_PASSWORD
from council.scale.content import HOT_TITLE, VOTE_TITLE
from council.scale.election import TITLE as ELECTION_TITLE
from council.territory.models import PARENT_KINDS, Household, Place, PlaceKind
from tests.conftest import EnglishClient, database_url, empty_tables

DISTRICT = ["council", "seed-scale", "--fingerprint", "--estates", "2", "--benchmark-households", "300", "--seed", "11"]


def _count(model_or_query) -> int:
    query = model_or_query if isinstance(model_or_query, sa.Select) else sa.select(sa.func.count()).select_from(
        model_or_query)
    return db.session.scalar(query)


def _fingerprint(output: str) -> str:
    return re.search(r"Fingerprint \(same seed, same fingerprint\): (\w+)", output).group(1)


def _seed(application, *args: str) -> str:
    result = application.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def district(tmp_path_factory, worker_id):
    """A district seeded once, in a database of its own (the suite's is emptied after every test)."""
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url(tmp_path_factory, f"{worker_id}_scale")

    application = create_app(Config)
    application.test_client_class = EnglishClient
    with application.app_context():
        db.drop_all()
        db.create_all()
    application.seed_output = _seed(application, *DISTRICT)
    yield application
    with application.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def _bench() -> Place:
    return db.session.scalar(sa.select(Place).where(Place.name == BENCH_ESTATE))


def _households_of(estate: Place) -> int:
    return _count(sa.select(sa.func.count(Household.id)).join(Place, Place.id == Household.building_id)
                  .where(Place.parent_id == estate.id))


def _adults_of(estate: Place) -> int:
    return _count(sa.select(sa.func.count(sa.distinct(Membership.user_id)))
                  .join(Household, Household.id == Membership.household_id)
                  .join(Place, Place.id == Household.building_id)
                  .where(Place.parent_id == estate.id, Membership.status == MembershipStatus.APPROVED,
                         Membership.is_adult.is_(True)))


def test_the_district_has_the_promised_sizes(district):
    output = district.seed_output
    assert "bench0001" in output and "benchsec" in output and SCALE_PASSWORD in output
    with district.app_context():
        estates = db.session.scalars(sa.select(Place).where(Place.kind == PlaceKind.ESTATE)).all()
        assert len(estates) == 2 and BENCH_ESTATE in {e.name for e in estates}
        other = next(e for e in estates if e.name != BENCH_ESTATE)
        assert _households_of(_bench()) == 300 and 350 <= _households_of(other) <= 650
        assert 1.2 <= _count(Membership) / _count(Household) <= 1.5  # about 1.33 members per household
        assert _count(Proposal) == 2 * 33 and _count(Concern) == 2 * 83 and _count(Meeting) == 2 * 5
        assert 2 * 33 * 6 <= _count(ProposalComment) - 200 <= 2 * 33 * 14  # about ten per proposal
        hot = db.session.scalar(sa.select(Proposal).where(Proposal.title == HOT_TITLE))
        assert hot.comment_count == 200 == _count(sa.select(sa.func.count(ProposalComment.id)).where(
            ProposalComment.proposal_id == hot.id))
        published = db.session.scalars(sa.select(Minutes.meeting_id).where(
            Minutes.state == MinutesState.PUBLISHED, Minutes.revision == 1)).all()
        assert sorted(published) == sorted(db.session.scalars(sa.select(Meeting.id)))
        assert f"{_households_of(_bench())} households" in output.replace(",", "")


def test_counters_on_the_rows_match_the_rows_they_count(district):
    with district.app_context():
        supports = sa.select(sa.func.count(Support.id)).where(Support.concern_id == Concern.id).scalar_subquery()
        talk = sa.select(sa.func.count(Comment.id)).where(Comment.concern_id == Concern.id).scalar_subquery()
        assert _count(sa.select(sa.func.count(Concern.id)).where(
            sa.or_(Concern.support_count != supports + 1, Concern.comment_count != talk))) == 0
        comments = (sa.select(sa.func.count(ProposalComment.id)).where(ProposalComment.proposal_id == Proposal.id)
                    .scalar_subquery())
        households = (sa.select(sa.func.count(sa.distinct(Membership.household_id)))
                      .join(Cosign, Cosign.user_id == Membership.user_id)
                      .where(Cosign.proposal_id == Proposal.id, Membership.status == MembershipStatus.APPROVED)
                      .scalar_subquery())
        assert _count(sa.select(sa.func.count(Proposal.id)).where(
            sa.or_(Proposal.comment_count != comments, Proposal.household_count != households))) == 0
        # On the agenda means enough households co-signed (the default threshold of five).
        assert _count(sa.select(sa.func.count(Proposal.id)).where(
            Proposal.state == "on_agenda", sa.or_(Proposal.eligible_at.is_(None), Proposal.household_count < 5))) == 0


def test_references_paths_and_memberships_are_sound(district):
    with district.app_context():
        orphans = (sa.select(sa.func.count(Membership.id))
                   .outerjoin(Household, Household.id == Membership.household_id)
                   .outerjoin(User, User.id == Membership.user_id)
                   .where(sa.or_(Household.id.is_(None), User.id.is_(None))))
        assert _count(orphans) == 0
        places = {p.id: p for p in db.session.scalars(sa.select(Place))}
        for place in places.values():
            parent = places.get(place.parent_id)
            assert place.path == f"{parent.path if parent else '/'}{place.id}/"
            assert (parent.kind if parent else None) in PARENT_KINDS[place.kind]
        buildings = set(db.session.scalars(sa.select(Household.building_id).distinct()))
        assert all(places[b].kind is PlaceKind.BUILDING for b in buildings)
        approved = db.session.scalars(sa.select(Membership).where(
            Membership.status == MembershipStatus.APPROVED)).all()
        assert all(m.decided_by_id and m.decided_at >= m.requested_at for m in approved)
        represented = [m.household_id for m in approved if m.is_representative]
        assert len(represented) == len(set(represented)) == len({m.household_id for m in approved if m.is_adult})
        # Accounts sign in by username; people without one were registered by staff.
        assert _count(sa.select(sa.func.count(User.id)).where(
            User.password_hash.is_not(None), User.username.is_(None))) == 0
        assert _count(sa.select(sa.func.count(User.id)).where(
            User.password_hash.is_(None), User.registered_by_id.is_(None))) == 0
        # The ids were given by the seeder; the database's own sequences must carry on after them.
        newcomer = User(display_name="新来的", username="newcomer_scale")
        db.session.add(newcomer)
        db.session.flush()
        assert newcomer.id > db.session.scalar(sa.select(sa.func.max(User.id)).where(User.id != newcomer.id))
        db.session.rollback()
    # Every privileged step was appended to the audit log's hash chain, and the chain holds.
    verified = district.test_cli_runner().invoke(args=["council", "audit-verify"])
    assert verified.exit_code == 0, verified.output


def test_the_benchmark_election_is_open_and_a_generated_voter_can_vote(district):
    with district.app_context():
        bench = _bench()
        election = db.session.scalar(sa.select(Election).where(Election.title == ELECTION_TITLE))
        round_ = services.latest_round(election)
        poll = services.poll_of(round_)
        assert services.phase(election) is Phase.VOTING and voting.may_vote_now(election, round_)
        roll = db.session.scalars(sa.select(RollLine).where(RollLine.poll_id == poll.id)).all()
        assert len(roll) == _adults_of(bench) and all(line.status is None for line in roll)
        candidates = nominations.printed(round_.id)
        assert len(candidates) > election.seats
        voter = db.session.scalar(sa.select(User).where(User.username == "bench0001"))
        assert voter.check_password(SCALE_PASSWORD)
        line = services.my_line(election, voter)
        tracker = voting.cast(election, round_, line, Marks({candidates[0].user_id: Mark.FOR}), voter)
        db.session.flush()
        db.session.refresh(line)
        assert tracker and line.status is not None
        assert _count(sa.select(sa.func.count()).select_from(SecretBallot).where(SecretBallot.poll_id == poll.id)) == 1
        with pytest.raises(Refused):
            voting.cast(election, round_, line, Marks({candidates[1].user_id: Mark.FOR}), voter)
        # The e-bike shed: a secret vote of the households, open, nobody has voted; the voter's household can.
        proposal = db.session.scalar(sa.select(Proposal).where(Proposal.title == VOTE_TITLE))
        vote = stages.poll_of(proposal)
        assert vote.state is PollState.OPEN and vote.secret
        lines = db.session.scalars(sa.select(RollLine).where(RollLine.poll_id == vote.id)).all()
        assert len(lines) == _households_of(bench) and all(line.status is None for line in lines)
        mine = polls.lines_for(vote, voter)
        assert len(mine) == 1 and polls.cast(vote, mine[0], Choice.FOR, voter)
        db.session.rollback()  # the district stays as seeded for the other tests


def test_a_generated_resident_signs_in_and_sees_their_estate(district):
    with district.app_context():
        bench = _bench()
        election = db.session.scalar(sa.select(Election.id).where(Election.title == ELECTION_TITLE))
        hot = db.session.scalar(sa.select(Proposal.id).where(Proposal.title == HOT_TITLE))
        vote = stages.poll_of(db.session.scalar(sa.select(Proposal).where(Proposal.title == VOTE_TITLE))).id
        other = db.session.scalar(sa.select(Place).where(Place.kind == PlaceKind.ESTATE, Place.id != bench.id))
        neighbour = db.session.scalar(
            sa.select(User.username).join(Membership, Membership.user_id == User.id)
            .where(User.username.like("e001r%"), Membership.status == MembershipStatus.APPROVED)
            .order_by(User.username).limit(1))
        bench_id, other_id = bench.id, other.id
    client = district.test_client()
    signed_in = client.post("/login", data={"login": "bench0001", "password": SCALE_PASSWORD})
    assert signed_in.status_code == 302
    home = client.get("/")
    assert home.status_code == 200 and BENCH_ESTATE in home.text
    # Their estate, the 200-comment discussion, and both open votes' pages, ballot included.
    for url in (f"/places/{bench_id}", f"/proposals/{hot}", f"/elections/{election}",
                f"/elections/{election}/rounds/1/ballot", f"/votes/{vote}"):
        assert client.get(url).status_code == 200, url
    client.post("/logout")
    assert client.post("/login", data={"login": neighbour, "password": SCALE_PASSWORD}).status_code == 302
    assert client.get(f"/places/{other_id}").status_code == 200
    assert client.get(f"/places/{bench_id}").status_code == 403  # not their estate


def test_the_same_seed_gives_the_same_data_in_another_database(app, district):
    """The district's database and the suite's are two empty databases: seeded alike, they hold the same rows;
    another seed gives other data."""
    first = _fingerprint(district.seed_output)
    again = _seed(app, *DISTRICT)
    assert _fingerprint(again) == first
    with district.app_context():
        counts = _counts_of_main_tables()
    with app.app_context():
        assert _counts_of_main_tables() == counts
    empty_tables(app)
    other = _seed(app, *DISTRICT[:-1], "12")
    assert _fingerprint(other) != first


def _counts_of_main_tables() -> dict[str, int]:
    tables = ("places", "households", "users", "memberships", "proposals", "proposal_comments", "concerns",
              "concern_supports", "meetings", "minutes", "activities", "audit_log", "poll_roll")
    return {name: _count(db.metadata.tables[name]) for name in tables}


def test_a_database_with_data_is_refused(app, world):
    with app.app_context():
        before = _count(Place)
    result = app.test_cli_runner().invoke(args=DISTRICT)
    assert result.exit_code != 0 and "fresh database" in result.output
    with app.app_context():
        assert _count(Place) == before
