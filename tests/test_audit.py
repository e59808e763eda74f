"""The audit log (issue #8 item 4): the pure hash chain, property-tested; privileged actions through the real
services and pages append entries, ordinary ones do not; `flask council audit-verify` passes an intact log and
names the entry when the database was tampered with; no entry ever holds a ballot choice, a mark or a tracker."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from council.accounts.models import User
from council.audit import cli as audit_cli
from council.audit import rules
from council.audit import services as audit
from council.audit.models import AuditEntry, AuditHead
from council.audit.rules import GENESIS, Fields, Head, Problem, Stored
from council.ballots import services as polls
from council.ballots.models import Basis, Poll, RollLine, SecretBallot
from council.ballots.rules import Choice, Rule
from council.concerns import services as concerns
from council.concerns.rules import Category
from council.elections import counting, voting
from council.elections import services as elections
from council.elections.rules import Mark, Marks
from council.extensions import db
from council.meetings import minutes
from council.meetings.models import Meeting
from council.membership import services as membership
from council.membership.models import Relation
from council.roles import services as roles
from council.roles.models import Role, RoleGrant
from council.territory.models import Household, Place
from tests import factories
from tests.election_helpers import appoint_tellers, call_election, slate
from tests.test_ballots_concurrency import _race
from tests.test_ballots_votes import _line, _on_agenda, _open, lift  # noqa: F401  (fixture)
from tests.test_meetings_minutes import held  # noqa: F401  (fixture)

# ---- the pure chain ------------------------------------------------------------------------------------

_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
_ids = st.none() | st.integers(1, 2**31 - 1)
_words = st.none() | st.text(max_size=12)
_hashes = st.text("0123456789abcdef", min_size=64, max_size=64)


@st.composite
def _fields(draw, seq: int) -> Fields:
    return Fields(seq, draw(_times), draw(_ids), draw(st.text(min_size=1, max_size=20)), draw(_ids), draw(_words),
                  draw(_ids), draw(_ids), draw(_words))


@st.composite
def logs(draw, min_size: int = 1) -> list[Stored]:
    """A well-formed log of 1..8 entries."""
    size = draw(st.integers(min_size, 8))
    return rules.chain([draw(_fields(seq)) for seq in range(1, size + 1)])


def _head(log: list[Stored]) -> Head:
    return Head(len(log), log[-1].hash if log else GENESIS)


_FIELD_STRATEGIES = {"seq": st.integers(-3, 20), "at": _times, "actor_id": _ids, "action": st.text(max_size=20),
                     "place_id": _ids, "subject_type": _words, "subject_id": _ids, "target_user_id": _ids,
                     "detail": _words}


@given(logs())
def test_an_untouched_chain_verifies(log):
    assert rules.verify(iter(log), _head(log)) is None


def test_an_empty_log_verifies_with_or_without_its_head():
    assert rules.verify([], None) is None
    assert rules.verify([], Head(0, GENESIS)) is None


@given(logs(), st.data())
def test_any_single_edited_field_is_detected(log, data):
    position = data.draw(st.integers(0, len(log) - 1))
    entry = log[position]
    name = data.draw(st.sampled_from([*Fields._fields, "prev_hash", "hash"]))
    if name in ("prev_hash", "hash"):
        edited = entry._replace(**{name: data.draw(_hashes.filter(lambda new: new != getattr(entry, name)))})
    else:
        old = getattr(entry.fields, name)
        new = data.draw(_FIELD_STRATEGIES[name].filter(lambda value: value != old or type(value) is not type(old)))
        edited = entry._replace(fields=entry.fields._replace(**{name: new}))
    tampered = [*log[:position], edited, *log[position + 1:]]
    problem = rules.verify(tampered, _head(log))
    assert problem is not None and problem.first <= position + 2  # at the entry or the next link


@given(logs(), st.data())
def test_an_edit_with_its_hash_rewritten_breaks_the_next_link_or_the_head(log, data):
    position = data.draw(st.integers(0, len(log) - 1))
    entry = log[position]
    edited = rules.seal(entry.prev_hash, entry.fields._replace(detail=(entry.fields.detail or "") + "!"))
    problem = rules.verify([*log[:position], edited, *log[position + 1:]], _head(log))
    if position + 1 < len(log):
        assert (problem.kind, problem.first) == (Problem.RELINKED, position + 2)
    else:
        assert (problem.kind, problem.first) == (Problem.HEAD_MISMATCH, len(log))


@given(logs(), st.data())
def test_a_deleted_entry_is_detected(log, data):
    position = data.draw(st.integers(0, len(log) - 1))
    problem = rules.verify([*log[:position], *log[position + 1:]], _head(log))
    expected = Problem.TRUNCATED if position == len(log) - 1 else Problem.MISSING
    assert (problem.kind, problem.first, problem.last) == (expected, position + 1, position + 1)


@given(logs(min_size=2), st.data())
def test_reordered_entries_are_detected(log, data):
    order = data.draw(st.permutations(range(len(log))).filter(lambda p: list(p) != sorted(p)))
    assert rules.verify([log[i] for i in order], _head(log)) is not None


@given(logs(), st.data())
def test_an_inserted_entry_is_detected(log, data):
    position = data.draw(st.integers(0, len(log)))
    kind = data.draw(st.sampled_from(["copy", "forged"]))
    if kind == "copy":
        extra = log[data.draw(st.integers(0, len(log) - 1))]
    else:  # correctly sealed after the entry before it, with any sequence number
        before = log[position - 1].hash if position else GENESIS
        extra = rules.seal(before, data.draw(_fields(data.draw(st.integers(-1, 12)))))
    assert rules.verify([*log[:position], extra, *log[position:]], _head(log)) is not None


@given(logs(), st.data())
def test_a_truncated_tail_is_detected_by_the_head(log, data):
    keep = data.draw(st.integers(0, len(log) - 1))
    problem = rules.verify(log[:keep], _head(log))
    assert (problem.kind, problem.first, problem.last) == (Problem.TRUNCATED, keep + 1, len(log))


def test_the_head_itself_is_checked():
    log = rules.chain([Fields(1, datetime(2026, 1, 1, tzinfo=UTC), 1, "role.granted", 2, "role_grant", 3, 4, "x")])
    assert rules.verify(log, None).kind is Problem.NO_HEAD
    assert rules.verify(log, Head(1, GENESIS)).kind is Problem.HEAD_MISMATCH
    assert rules.verify(log, Head(0, GENESIS)).kind is Problem.EXTRA


def test_the_serialisation_tells_null_from_empty_and_refuses_local_times():
    at = datetime(2026, 1, 1, 8, tzinfo=UTC)
    base = Fields(1, at, None, "vote.opened", 1, "proposal", 1, None, None)
    assert rules.entry_hash(GENESIS, base) != rules.entry_hash(GENESIS, base._replace(detail=""))
    assert rules.entry_hash(GENESIS, base) != rules.entry_hash(GENESIS, base._replace(actor_id=0))
    shanghai = at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert rules.entry_hash(GENESIS, base) == rules.entry_hash(GENESIS, base._replace(at=shanghai))
    with pytest.raises(ValueError):
        rules.canonical(base._replace(at=datetime(2026, 1, 1)))


# ---- privileged actions through the services and pages ----------------------------------------------------

def _user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def _entries() -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)))


def _actions() -> list[str]:
    return [entry.action for entry in _entries()]


def test_privileged_verbs_are_one_explicit_list():
    for verb in ("role.granted", "role.revoked", "membership.approved", "membership.refused", "vote.opened",
                 "vote.closed", "vote.paper", "minutes.published", "election.called", "election.counted",
                 "owners.exported", "concern.exported", "concern.escalate", "household.imported"):
        assert audit.privileged(verb), verb
    for verb in ("membership.requested", "membership.withdrawn", "concern.reported", "proposal.created",
                 "proposal.comment_reported", "cobuilding.claimed", "account.claimed", "vote.objection"):
        assert not audit.privileged(verb), verb


def test_role_grants_and_membership_decisions_are_audited_with_their_actor(app, world):
    with app.app_context():
        before = len(_entries())
        assert before and all(entry.hash for entry in _entries())  # building the world granted roles
        admin, person = _user("estate_admin"), _user("newcomer")
        grant = roles.grant(person, Role.BUILDING_LEADER, db.session.get(Place, world.b2), admin)
        db.session.commit()
        roles.revoke(db.session.get(RoleGrant, grant.id), admin)
        request = membership.request_join(person, db.session.get(Household, world.h12), Relation.TENANT)
        db.session.flush()
        membership.approve(request, _user("leader"))
        db.session.commit()
        added = _entries()[before:]
        assert [(e.action, e.actor_id, e.target_user_id) for e in added] == [
            ("role.granted", admin.id, person.id), ("role.revoked", admin.id, person.id),
            ("membership.approved", _user("leader").id, person.id)]
        assert [e.id for e in _entries()] == list(range(1, len(_entries()) + 1))
        assert db.session.get(AuditHead, 1).count == len(_entries())


def test_ordinary_actions_are_not_audited(app, world):
    with app.app_context():
        before = _actions()
        resident = _user("resident")
        concern = concerns.report(db.session.get(Place, world.b1), resident, "楼道灯坏了", "三楼", Category.OTHER)
        concerns.add_comment(concern, resident, "还没修")
        concerns.support(concern, _user("outsider"))
        db.session.commit()
        assert _actions() == before


def test_a_rolled_back_action_leaves_no_entry_and_the_chain_goes_on(app, world, monkeypatch):
    with app.app_context():
        before = _actions()
        roles.grant(_user("newcomer"), Role.BUILDING_LEADER, db.session.get(Place, world.b2), _user("estate_admin"))
        db.session.rollback()
        assert _actions() == before
        roles.grant(_user("newcomer"), Role.BUILDING_LEADER, db.session.get(Place, world.b2), _user("estate_admin"))
        db.session.commit()
        assert _actions() == [*before, "role.granted"]
    assert app.test_cli_runner().invoke(args=["council", "audit-verify"]).exit_code == 0


def test_exports_are_audited(app, world, lift, login):  # noqa: F811
    poll_id = _open(app, lift["proposal"], Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS)
    with app.app_context():
        poll = db.session.get(Poll, poll_id)
        polls.close(poll, None, poll.closes_at)
        db.session.commit()
    team = login("team")
    assert team.get(f"/places/{world.estate}/ledger/print").status_code == 200
    assert team.get(f"/places/{world.estate}/ledger.csv").status_code == 200
    secretary = login("secretary")
    for url in ("filing/detail.csv", "filing/summary.csv", "filing/print"):
        assert secretary.get(f"/votes/{poll_id}/{url}").status_code == 200
    assert login("estate_admin").get(f"/places/{world.estate}/owners.csv").status_code == 200
    with app.app_context():
        exported = [(e.action, e.actor_id) for e in _entries() if "export" in e.action]
        assert exported == [("export.ledger_print", world.users["team"]), ("concern.exported", world.users["team"]),
                            ("export.filing_detail_csv", world.users["secretary"]),
                            ("export.filing_summary_csv", world.users["secretary"]),
                            ("export.filing_print", world.users["secretary"]),
                            ("owners.exported", world.users["estate_admin"])]
    assert login("resident").get(f"/votes/{poll_id}/filing/detail.csv").status_code == 403
    with app.app_context():
        assert len([e for e in _entries() if "export" in e.action]) == 6  # a refused download is not one


def test_minutes_corrections_approval_and_publication_are_audited(app, world, held):  # noqa: F811
    with app.app_context():
        before = len(_entries())
        meeting, secretary = db.session.get(Meeting, held), _user("secretary")
        draft = minutes.draft(meeting, secretary)
        correction = minutes.suggest(draft, _user("resident"), "时间是九点。")
        minutes.decide(correction, draft, secretary, accept=False)
        minutes.approve(draft, secretary)
        minutes.publish(draft, secretary)
        db.session.commit()
        assert [(e.action, e.actor_id, e.target_user_id, e.detail) for e in _entries()[before:]] == [
            ("minutes.correction_declined", secretary.id, world.users["resident"], "r1"),
            ("minutes.approved", secretary.id, None, None), ("minutes.published", secretary.id, None, "r1")]


# ---- no ballot choice in the log ---------------------------------------------------------------------------

def test_no_entry_holds_a_choice_a_mark_or_a_tracker(app, world, lift):  # noqa: F811
    secrets: list[str] = []  # trackers and the box's marks: none may appear in the log
    secret_id = _open(app, lift["proposal"], Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, secret=True)
    with app.app_context():
        poll, teller = db.session.get(Poll, secret_id), _user("team")
        secrets.append(polls.cast(poll, _line(secret_id, world.h11), Choice.AGAINST, _user("resident")))
        polls.record_proxy(poll, _line(secret_id, world.h12), _user("owner13"), teller)
        secrets.append(polls.cast(poll, _line(secret_id, world.h12), Choice.ABSTAIN, _user("owner13")))
        polls.check_off(poll, _line(secret_id, lift["h13"]), teller)
        polls.enter_paper(poll, {Choice.AGAINST: 1}, teller)
        db.session.commit()
        polls.close(poll, None, poll.closes_at)
        db.session.commit()
        # A named vote on the next proposal: an online choice and a paper ballot checked off with its choice.
        named = _on_agenda(world, buildings=[world.b1])
        db.session.commit()
        named_id = named.id
    named_poll = _open(app, named_id, Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS)
    with app.app_context():
        poll = db.session.get(Poll, named_poll)
        polls.cast(poll, _line(named_poll, world.h11), Choice.AGAINST, _user("resident"))
        polls.check_off(poll, _line(named_poll, lift["h14"]), _user("team"), Choice.ABSTAIN)
        db.session.commit()
        polls.close(poll, None, poll.closes_at)
        db.session.commit()
        # An election with marks: online ballots, two paper ballots entered by two tellers, the count.
        setup = call_election(world, voters=10, seats=7)
        first, second = appoint_tellers(setup, "leader", "team")
        candidates = slate(setup, 8)
        election = setup.election
        round_ = elections.latest_round(election)
        vote_at, count_at = setup.at("voting"), setup.at("counting")

        def line(person):
            return db.session.scalar(sa.select(RollLine).where(
                RollLine.poll_id == elections.poll_of(round_).id, RollLine.user_id == person.id))

        ballot = Marks({candidates[0].id: Mark.FOR, candidates[1].id: Mark.AGAINST, candidates[2].id: Mark.ABSTAIN})
        for person in setup.voters[:6]:
            secrets.append(voting.cast(election, round_, line(person), ballot, person, now=vote_at))
        for person in setup.voters[8:10]:
            voting.check_off(election, round_, line(person), first, now=vote_at)
        secrets.extend(m for m in db.session.scalars(sa.select(SecretBallot.marks)) if m)
        batch = voting.start_batch(election, round_, 2, first, now=count_at)
        voting.join_batch(election, round_, batch, second, now=count_at)
        for teller in (first, second):
            for _ in range(2):
                voting.enter(election, round_, batch, ballot, teller, now=count_at)
        counting.count(election, round_, _user("committee"), now=count_at)
        db.session.commit()

        entries = _entries()
        actions = {e.action for e in entries}
        assert {"vote.opened", "vote.proxy", "vote.paper", "vote.paper_batch", "vote.closed", "election.called",
                "election.batch", "election.batch_accepted", "election.counted"} <= actions
        assert secrets and all(len(s) >= 5 for s in secrets)
        words = {choice.value for choice in Choice} | {mark.value for mark in Mark}
        for entry in entries:
            text = " ".join(str(getattr(entry, c.key)) for c in AuditEntry.__table__.columns)
            assert not any(secret in text for secret in secrets), entry.action
            assert not words & set((entry.detail or "").lower().replace(":", " ").split()), entry.detail
            if entry.action.startswith(("vote.", "election.")) and entry.detail:
                # at most a count, a batch "number:size", a round "number:kind", a roll line's label, an office
                assert entry.detail.replace(":", "").replace(" ", "").isalnum() or "号楼" in entry.detail, entry.detail
    assert app.test_cli_runner().invoke(args=["council", "audit-verify"]).exit_code == 0


# ---- audit-verify against a tampered database ----------------------------------------------------------------

def _verify(app):
    result = app.test_cli_runner().invoke(args=["council", "audit-verify"])
    return result.exit_code, result.output


@pytest.fixture
def logged(app, world):
    """The world's log plus a few more entries: at least eight in all. Returns how many."""
    with app.app_context():
        admin, place = _user("street_admin"), db.session.get(Place, world.b2)
        for username in ("newcomer", "resident", "outsider"):
            roles.grant(_user(username), Role.BUILDING_LEADER, place, admin)
        db.session.commit()
        count = db.session.get(AuditHead, 1).count
        assert count >= 8
        return count


def _sql(app, statement: str, **params) -> None:
    with app.app_context():
        db.session.execute(sa.text(statement), params)
        db.session.commit()


def test_an_intact_log_verifies(app, logged):
    code, output = _verify(app)
    assert code == 0, output
    assert f"{logged:,} entries, chain intact." in output and "Head hash: " in output


def test_an_empty_log_verifies(app):
    code, output = _verify(app)
    assert code == 0 and "empty" in output


def test_an_edited_detail_is_named(app, logged):
    _sql(app, "UPDATE audit_log SET detail = 'admin' WHERE id = 3")
    code, output = _verify(app)
    assert code == 1 and "entry 3: hash does not match (edited?)" in output


def test_an_edited_actor_is_named(app, logged):
    _sql(app, "UPDATE audit_log SET actor_id = NULL WHERE id = :n", n=logged - 1)  # a grant by street_admin
    code, output = _verify(app)
    assert code == 1 and f"entry {logged - 1}: hash does not match" in output


def test_a_deleted_middle_entry_is_named(app, logged):
    _sql(app, "DELETE FROM audit_log WHERE id IN (4, 5, 6)")
    code, output = _verify(app)
    assert code == 1 and "entries 4-6 missing" in output


def test_a_deleted_newest_entry_is_detected_by_the_head(app, logged):
    _sql(app, "DELETE FROM audit_log WHERE id = :n", n=logged)
    code, output = _verify(app)
    assert code == 1 and "log shorter than its head: the newest entries were deleted" in output
    assert f"entry {logged} missing" in output


def test_a_rewritten_hash_hides_an_edit_only_until_the_next_entry(app, logged):
    with app.app_context():
        [stored] = [e for e in audit.stored_entries() if e.fields.seq == 4]
        edited = stored.fields._replace(detail="forged")
        rehashed = rules.entry_hash(stored.prev_hash, edited)
    _sql(app, "UPDATE audit_log SET detail = 'forged', hash = :h WHERE id = 4", h=rehashed)
    code, output = _verify(app)
    assert code == 1 and "entry 5: does not follow entry 4" in output


def test_a_rewritten_newest_entry_is_caught_by_the_head(app, logged):
    with app.app_context():
        stored = list(audit.stored_entries())[-1]
        rehashed = rules.entry_hash(stored.prev_hash, stored.fields._replace(detail="forged"))
    _sql(app, "UPDATE audit_log SET detail = 'forged', hash = :h WHERE id = :n", h=rehashed, n=logged)
    code, output = _verify(app)
    assert code == 1 and f"entry {logged}: hash does not match the head" in output


def test_an_entry_added_behind_the_head_is_detected(app, logged):
    with app.app_context():
        newest = list(audit.stored_entries())[-1]
        fields = Fields(logged + 1, datetime.now(UTC), None, "role.granted", None, None, None, None, "forged")
        forged = rules.seal(newest.hash, fields)
        db.session.execute(sa.insert(AuditEntry).values(
            id=fields.seq, at=fields.at, action=fields.action, detail=fields.detail, prev_hash=forged.prev_hash,
            hash=forged.hash))
        db.session.commit()
    code, output = _verify(app)
    assert code == 1 and f"entry {logged + 1}: not counted in the head" in output


def test_a_deleted_head_is_detected_and_appending_refused(app, logged):
    _sql(app, "DELETE FROM audit_head")
    code, output = _verify(app)
    assert code == 1 and "head row is missing" in output
    with app.app_context():
        with pytest.raises(audit.AuditBroken):
            audit.append(None, "export.test", None)
        db.session.rollback()


def test_a_long_log_is_read_in_chunks_with_a_progress_bar(app, world, monkeypatch):
    monkeypatch.setattr(audit, "CHUNK", 3)
    monkeypatch.setattr(audit_cli, "PROGRESS_FROM", 5)
    with app.app_context():
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for i in range(20):
            audit.append(None, "export.test", world.estate, "place", world.estate, detail=str(i),
                         at=start + timedelta(minutes=i))
        db.session.commit()
        total = db.session.get(AuditHead, 1).count
    code, output = _verify(app)
    assert code == 0 and f"{total:,} entries, chain intact." in output
    assert "Checking the audit log" in output
    _sql(app, "UPDATE audit_log SET detail = '99' WHERE id = :n", n=total - 1)
    code, output = _verify(app)
    assert code == 1 and f"entry {total - 1}: hash does not match" in output


def test_the_application_never_edits_an_entry(app, logged):
    with app.app_context():
        entry = db.session.get(AuditEntry, 1)
        entry.detail = "changed"
        with pytest.raises(RuntimeError, match="append-only"):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(AuditEntry, 1))
        with pytest.raises(RuntimeError, match="append-only"):
            db.session.flush()
        db.session.rollback()


@pytest.mark.parametrize("from_empty", [True, False])
def test_concurrent_appends_make_one_unbroken_chain(app, world, from_empty):
    """Sessions on their own connections, as several app processes would have, append at once (the first
    ones racing to write the head, too): every entry lands, numbered without gaps, on one chain."""
    if from_empty:
        _sql(app, "DELETE FROM audit_log")
        _sql(app, "DELETE FROM audit_head")
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))

    def work():
        db.session.get(Place, world.estate)  # a read first, as a view's service would
        audit.append(None, "export.test", world.estate, "place", world.estate)
        return "ok"

    assert _race(app, work, n=12) == ["ok"] * 12
    with app.app_context():
        assert [e.id for e in _entries()] == list(range(1, before + 13))
    assert _verify(app)[0] == 0


def test_factories_world_is_audited(app, world):
    with app.app_context():
        grants = [e for e in _entries() if e.action == "role.granted"]
        assert len(grants) == len(factories.ROLE_HOLDERS)
        assert {e.actor_id for e in grants} == {world.users["siteadmin"]}
