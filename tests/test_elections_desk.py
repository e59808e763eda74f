"""The officials' election pages: calling an election, officials, rulings, the slate, the tellers' desk,
two tellers entering a paper batch, the count, a further round and the end; and who is kept out."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from council.ballots.models import Channel, PollState, RollLine, SecretBallot
from council.elections import counting, nominations, services, voting
from council.elections.models import Election, ElectionOfficial, PaperBatch, PaperEntry
from council.elections.rules import Mark, Marks, Office, Phase, RollObjectionKind
from council.extensions import db
from council.roles.models import Role, RoleGrant
from council.sqltypes import utcnow
from tests.election_helpers import appoint_tellers, call_election, slate, user


def _in(days: float):
    """A start date that puts now `days` after an election was called (see Setup.at)."""
    return utcnow() - timedelta(days=days)


CALL = dict(title="化肥厂小区服务队选举", seats="7", basis="members", with_marks="y", self_nomination="y",
            nominators_needed="3", second_round_factor="2", notice_days="7", opens_time="08:00",
            closes_time="18:00")


def _dates(**days):
    today = utcnow().date()
    return {name: (today + timedelta(days=d)).isoformat() for name, d in days.items()}


def test_the_community_calls_an_election_and_the_roll_is_frozen(app, world, client, login):
    login("committee")
    page = client.get(f"/estates/{world.estate}/elections/new")
    assert page.status_code == 200 and "Call a service-team election" in page.text
    data = {**CALL, **_dates(roll_until=3, nominations_until=6, opens_on=8, closes_on=8)}
    response = client.post(f"/estates/{world.estate}/elections/new", data=data)
    assert response.status_code == 302
    with app.app_context():
        election = db.session.scalar(sa.select(Election))
        assert election.seats == 7 and services.phase(election) is Phase.ROLL
        assert services.office_of(election, user("committee")) is Office.COMMITTEE


def test_calling_refuses_bad_seats_and_dates_without_saving(app, world, client, login):
    login("committee")
    bad_seats = {**CALL, "seats": "13", **_dates(roll_until=3, nominations_until=6, opens_on=8, closes_on=8)}
    assert client.post(f"/estates/{world.estate}/elections/new", data=bad_seats).status_code == 200
    disordered = {**CALL, **_dates(roll_until=6, nominations_until=3, opens_on=8, closes_on=8)}
    page = client.post(f"/estates/{world.estate}/elections/new", data=disordered)
    assert page.status_code == 200 and "The dates must follow each other" in page.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Election.id))) == 0


@pytest.mark.parametrize("username", ["resident", "leader", "secretary", "outsider", "admin3"])
def test_only_the_community_may_call_an_election(world, client, login, username):
    login(username)
    assert client.get(f"/estates/{world.estate}/elections/new").status_code == 403


def test_officials_are_appointed_by_the_committee_only(app, world, client, login):
    with app.app_context():
        setup = call_election(world, voters=2, start=_in(1))
        election_id = setup.election.id
        db.session.commit()
    login("resident")
    assert client.post(f"/elections/{election_id}/officials", data={"person": "leader", "office": "teller"}
                       ).status_code == 403
    login("outsider")
    assert client.get(f"/elections/{election_id}/officials").status_code == 403
    login("committee")
    assert client.post(f"/elections/{election_id}/officials", data={"person": "leader", "office": "teller"}
                       ).status_code == 302
    page = client.post(f"/elections/{election_id}/officials", data={"person": "nobody-here", "office": "teller"})
    assert "Nobody with that mobile number" in page.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ElectionOfficial.id))) == 2


def test_a_ruling_on_a_roll_objection(app, world, client, login):
    with app.app_context():
        setup = call_election(world, voters=2, start=_in(1))
        line = db.session.scalar(sa.select(RollLine).where(RollLine.user_id == setup.voters[0].id))
        objection = services.object_to_roll(setup.election, setup.voters[1], RollObjectionKind.MOVED, "搬走了",
                                            line=line)
        ids = setup.election.id, objection.id, line.id
        db.session.commit()
    login("resident")
    assert client.post(f"/elections/{ids[0]}/roll/objections/{ids[1]}/rule",
                       data={"ruling": "upheld", "reason": "核实"}).status_code == 403
    login("committee")
    assert client.post(f"/elections/{ids[0]}/roll/objections/{ids[1]}/rule",
                       data={"ruling": "upheld", "reason": "经核实已搬离"}).status_code == 302
    with app.app_context():
        assert db.session.get(RollLine, ids[2]) is None


def test_tellers_desk_checks_off_and_never_shows_a_choice(app, world, client, login):
    with app.app_context():
        setup = call_election(world, voters=10, start=_in(8.5))
        appoint_tellers(setup, "leader")
        candidates = slate(setup, 8)
        election = setup.election
        round_ = services.latest_round(election)
        poll = services.poll_of(round_)
        voter, paper = setup.voters[9], setup.voters[8]
        line = db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll.id,
                                                           RollLine.user_id == voter.id))
        voting.cast(election, round_, line, Marks({candidates[0].id: Mark.FOR}), voter)
        paper_line = db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll.id,
                                                                 RollLine.user_id == paper.id))
        ids = election.id, paper_line.id, line.id
        db.session.commit()
    login("resident")
    assert client.get(f"/elections/{ids[0]}/rounds/1/desk").status_code == 403
    login("leader")
    desk = client.get(f"/elections/{ids[0]}/rounds/1/desk")
    assert desk.status_code == 200 and "Voted online" in desk.text
    assert client.post(f"/elections/{ids[0]}/rounds/1/lines/{ids[1]}/paper").status_code == 302
    client.post(f"/elections/{ids[0]}/rounds/1/lines/{ids[2]}/paper")  # voted online: refused
    with app.app_context():
        statuses = dict(db.session.execute(sa.select(RollLine.id, RollLine.status).where(
            RollLine.id.in_(ids[1:]))).all())
        assert statuses == {ids[1]: Channel.PAPER, ids[2]: Channel.ONLINE}
    login("committee")  # the committee is not a teller: no check-off
    assert client.post(f"/elections/{ids[0]}/rounds/1/lines/{ids[1]}/paper").status_code == 403


def test_two_tellers_enter_a_batch_then_the_committee_counts_and_closes(app, world, client, login):
    with app.app_context():
        setup = call_election(world, voters=10, start=_in(10.5))
        tellers = appoint_tellers(setup, "leader", "team")
        candidates = slate(setup, 8)
        election = setup.election
        round_ = services.latest_round(election)
        poll = services.poll_of(round_)
        lines = {v.id: db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll.id,
                                                                   RollLine.user_id == v.id)) for v in setup.voters}
        for person in setup.voters[:8]:
            voting.cast(election, round_, lines[person.id], Marks({c.id: Mark.FOR for c in candidates[:7]}), person,
                        now=setup.at("voting"))
        for person in setup.voters[8:]:
            voting.check_off(election, round_, lines[person.id], tellers[0], now=setup.at("voting"))
        ids = election.id, [c.id for c in candidates]
        db.session.commit()
    election_id, candidate_ids = ids
    base = f"/elections/{election_id}/rounds/1"
    ballot = {f"mark-{c}": "+" for c in candidate_ids[:7]}
    login("leader")
    assert client.post(f"{base}/batches", data={"size": "3"}).status_code == 200  # only 2 issued
    assert client.post(f"{base}/batches", data={"size": "2"}).status_code == 302
    assert client.post(f"{base}/batches/1", data=ballot).status_code == 302
    assert client.post(f"{base}/batches/1", data={"spoilt": "1"}).status_code == 302
    login("resident")
    assert client.post(f"{base}/batches/1", data=ballot).status_code == 403
    login("team")
    assert client.post(f"{base}/batches/1/join").status_code == 302
    page = client.get(f"{base}/batches/1")
    assert "Enter this ballot" in page.text
    client.post(f"{base}/batches/1", data=ballot)
    client.post(f"{base}/batches/1", data={"spoilt": "1"})
    with app.app_context():
        assert db.session.scalar(sa.select(PaperBatch.accepted_at)) is not None
        assert db.session.scalar(sa.select(sa.func.count(SecretBallot.id))) == 10
    login("leader")
    assert client.post(f"{base}/count").status_code == 403  # a teller does not count
    login("committee")
    assert client.post(f"{base}/count").status_code == 302
    with app.app_context():
        election = db.session.get(Election, election_id)
        round_ = services.latest_round(election)
        assert services.poll_of(round_).state is PollState.CLOSED
        assert (round_.returned, round_.void) == (10, 1)
        assert sum(r.elected for r in counting.table(round_)) == 7
        assert counting.plan(election) is None
    # The posting period is still running: the election cannot be closed yet.
    client.post(f"/elections/{election_id}/finish")
    with app.app_context():
        assert db.session.get(Election, election_id).finished_at is None


def test_finishing_gives_the_elected_the_service_team_role(app, world, client, login):
    with app.app_context():
        setup = call_election(world, voters=10, start=_in(30))
        candidates = slate(setup, 8)
        election = setup.election
        round_ = services.latest_round(election)
        poll = services.poll_of(round_)
        for person in setup.voters:
            line = db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll.id,
                                                               RollLine.user_id == person.id))
            voting.cast(election, round_, line, Marks({c.id: Mark.FOR for c in candidates[:7]}), person,
                        now=setup.at("voting"))
        counting.count(election, round_, user("committee"), now=setup.at("counting"))
        election_id = election.id
        elected = {c.id for c in candidates[:7]}
        db.session.commit()
    login("resident")
    assert client.post(f"/elections/{election_id}/finish").status_code == 403
    login("committee")
    assert client.post(f"/elections/{election_id}/finish").status_code == 302
    with app.app_context():
        team = set(db.session.scalars(sa.select(RoleGrant.user_id).where(
            RoleGrant.role == Role.SERVICE_TEAM, RoleGrant.place_id == world.estate, RoleGrant.revoked_at.is_(None))))
        assert elected <= team
        contact = db.session.scalar(sa.select(RoleGrant.contact).where(RoleGrant.user_id == min(elected)))
        assert contact == "13900000000"
    estate_page = client.get(f"/places/{world.estate}")
    assert "13900000000" in estate_page.text


def test_a_second_round_is_called_with_its_dates(app, world, client, login):
    with app.app_context():
        setup = call_election(world, voters=10, start=_in(11))
        candidates = slate(setup, 9)
        election = setup.election
        round_ = services.latest_round(election)
        poll = services.poll_of(round_)
        for i, person in enumerate(setup.voters):
            line = db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll.id,
                                                               RollLine.user_id == person.id))
            names = candidates[:5] + [candidates[5 + i % 4]]
            voting.cast(election, round_, line, Marks({c.id: Mark.FOR for c in names}), person,
                        now=setup.at("voting"))
        counting.count(election, round_, user("committee"), now=setup.at("counting"))
        election_id = election.id
        db.session.commit()
    login("committee")
    page = client.get(f"/elections/{election_id}/next-round")
    assert page.status_code == 200 and "Second round" in page.text
    data = _dates(opens_on=1, closes_on=1) | {"opens_time": "08:00", "closes_time": "18:00"}
    assert client.post(f"/elections/{election_id}/next-round", data=data).status_code == 302
    with app.app_context():
        election = db.session.get(Election, election_id)
        second = services.latest_round(election)
        assert second.number == 2 and second.seats == 2
        assert len(nominations.printed(second.id)) == 4


def test_the_committee_publishes_the_slate_and_removes_an_official(app, world, client, login):
    with app.app_context():
        setup = call_election(world, voters=10, start=_in(6.5))  # nominations are over
        when = setup.at("nominations")
        for person in setup.voters[:8]:
            nomination = nominations.nominate(setup.election, person, person, now=when)
            nominations.accept(setup.election, nomination, person, "服务大家", "", now=when)
        appoint_tellers(setup, "leader")
        teller = db.session.scalar(sa.select(ElectionOfficial.id).where(ElectionOfficial.office == Office.TELLER))
        election_id = setup.election.id
        db.session.commit()
    login("resident")
    assert client.post(f"/elections/{election_id}/slate").status_code == 403
    assert client.post(f"/elections/{election_id}/officials/{teller}/remove").status_code == 403
    login("committee")
    assert client.post(f"/elections/{election_id}/slate").status_code == 302
    assert client.post(f"/elections/{election_id}/officials/{teller}/remove").status_code == 302
    with app.app_context():
        election = db.session.get(Election, election_id)
        assert election.slate_published_at is not None
        assert len(nominations.printed(services.latest_round(election).id)) == 8
        assert db.session.get(ElectionOfficial, teller) is None


def test_a_teller_takes_back_a_mistyped_entry(app, world, client, login):
    with app.app_context():
        setup = call_election(world, voters=10, start=_in(10.5))
        tellers = appoint_tellers(setup, "leader", "team")
        slate(setup, 8)
        election = setup.election
        round_ = services.latest_round(election)
        poll = services.poll_of(round_)
        line = db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll.id,
                                                           RollLine.user_id == setup.voters[9].id))
        voting.check_off(election, round_, line, tellers[0], now=setup.at("voting"))
        batch = voting.start_batch(election, round_, 1, tellers[0], now=setup.at("counting"))
        voting.enter(election, round_, batch, Marks(spoilt=True), tellers[0], now=setup.at("counting"))
        entry = voting.entries(batch, 1)[0].id
        election_id = election.id
        db.session.commit()
    base = f"/elections/{election_id}/rounds/1/batches/1"
    login("team")  # not this entry's teller: nothing is removed
    client.post(f"{base}/entries/{entry}/remove")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PaperEntry)) == 1
    login("leader")
    assert client.post(f"{base}/entries/{entry}/remove").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PaperEntry)) == 0


def test_written_proxies_are_posted_and_the_recount_command_reproduces_the_result(app, world, client, login,
                                                                                   tmp_path):
    with app.app_context():
        setup = call_election(world, voters=10, start=_in(30))
        candidates = slate(setup, 8)
        election = setup.election
        round_ = services.latest_round(election)
        poll = services.poll_of(round_)
        lines = {p.id: db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll.id,
                                                                   RollLine.user_id == p.id)) for p in setup.voters}
        holder = setup.voters[0]
        voting.record_proxy(election, round_, lines[setup.voters[9].id], holder, user("committee"),
                            now=setup.at("candidates"))
        for i, person in enumerate(setup.voters[:9]):
            names = candidates[:7] if i % 3 else candidates[1:8]
            voting.cast(election, round_, lines[person.id], Marks({c.id: Mark.FOR for c in names}), person,
                        now=setup.at("voting"))
        voting.cast(election, round_, lines[setup.voters[9].id], Marks({candidates[0].id: Mark.FOR}), holder,
                    now=setup.at("voting"))
        counting.count(election, round_, user("committee"), now=setup.at("counting"))
        election_id = election.id
        posted = {r.user.display_name: r.votes for r in counting.table(round_)}
        holder_name = holder.display_name
        db.session.commit()
    login("resident")
    page = client.get(f"/elections/{election_id}/rounds/1/proxies")
    assert page.status_code == 200 and holder_name in page.text
    login("outsider")
    assert client.get(f"/elections/{election_id}/rounds/1/proxies").status_code == 403
    login("resident")
    csv_file = tmp_path / "ballots.csv"
    csv_file.write_bytes(client.get(f"/elections/{election_id}/rounds/1/ballots.csv").data)
    result = app.test_cli_runner().invoke(args=["council", "recount", str(csv_file)])
    assert result.exit_code == 0, result.output
    for name, votes in posted.items():
        assert any(line.split()[:2] == [str(votes), name] for line in result.output.splitlines()), (name, votes)
    assert "Elected 当选: 7 of 7" in result.output
    csv_file.write_text("not,a,ballot list\n", encoding="utf-8")
    assert app.test_cli_runner().invoke(args=["council", "recount", str(csv_file)]).exit_code == 1
