"""How long the two big counts take, in process: an election round with 100,000 secret ballots, and a Civil Code
Art. 278 owners' vote over 5,000 households (issue #9's target: at most a second each).

Each count is timed twice: the pure rule over plain data (what the count itself costs), and the whole closing
transaction the committee or the cron job runs (read the box or the roll, shuffle the box into the published
list, count, write the figures, commit). The data are built on the demo street, in a fresh database of their
own, with bulk inserts:

- the demo's open election at 送变电家园 (nine candidates, seven seats) gets 100,000 more lines on its roll and a
  box of 100,000 ballots with random marks (seeded), then the committee counts it at the close;
- a new building of 5,000 owner-occupied households (floor areas 50-150 m²) at 化肥厂小区 gets an Art. 278 vote
  of its owners, of which 80% vote by name (named ballots, by law), then the cron job closes it.

Run: `python -m bench.counts [--database URL] [--ballots 100000] [--households 5000]` (default: a temporary SQLite
file). Prints a table and returns the figures (bench/run.py puts them in its results).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

LIMIT_SECONDS = 1.0  # issue #9: each count within a second, in process
CHUNK = 10_000


def _app(url: str):
    from council import create_app
    from council.config import Config

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = url
        SECRET_KEY = "bench-counts-only"  # a throwaway database, never served
        TESTING = True

    return create_app(BenchConfig)


def _prepare(url: str) -> None:
    """Every migration, then the demo street."""
    import flask_migrate

    from council.demo import seed
    from council.extensions import db

    app = _app(url)
    with app.app_context():
        flask_migrate.upgrade()
        seed()
        db.session.commit()
        db.engine.dispose()


def _insert(model, rows: list[dict]) -> None:
    from council.extensions import db

    for start in range(0, len(rows), CHUNK):
        db.session.execute(sa.insert(model), rows[start:start + CHUNK])


def _timed(run) -> tuple[float, object]:
    started = time.perf_counter()
    value = run()
    return time.perf_counter() - started, value


def election_count(ballots: int, rng: random.Random) -> dict:
    """Fill the demo's open election with `ballots` ballots and count it as the committee does."""
    from council.accounts.models import User
    from council.ballots.casting import new_tracker
    from council.ballots.models import Channel, RollLine, SecretBallot
    from council.ballots.rules import ElectionForm
    from council.demo_elections import SBD_TITLE
    from council.elections import counting, nominations, rules, services
    from council.elections.models import Election
    from council.extensions import db

    election = db.session.scalar(sa.select(Election).where(Election.title == SBD_TITLE))
    round_ = services.latest_round(election)
    poll = services.poll_of(round_)
    already = db.session.scalar(sa.select(sa.func.count()).select_from(SecretBallot)
                                .where(SecretBallot.poll_id == poll.id))  # the demo's own few
    candidates = [c.user_id for c in nominations.printed(round_.id)]
    first = (db.session.scalar(sa.select(sa.func.max(User.id))) or 0) + 1  # the voters: members without logins
    _insert(User, [dict(id=first + i, display_name=f"基准选民{i:06d}", session_version=1, is_site_admin=False)
                   for i in range(ballots)])
    _insert(RollLine, [dict(poll_id=poll.id, user_id=first + i, label=f"基准选民{i:06d}", sort_key=f"zz/{i:06d}",
                            area_dm2=0, status=Channel.ONLINE) for i in range(ballots)])
    marks = []
    for _ in range(ballots):  # most vote for five to seven names; a few spoil by naming too many
        named = rng.sample(candidates, rng.choice((5, 6, 7, 7, 7, 8)) if rng.random() < 0.02 else rng.randint(5, 7))
        marks.append(rules.encode(rules.Marks({p: rules.Mark.FOR if rng.random() < 0.85 else rules.Mark.AGAINST
                                               for p in named})))
    trackers = set()
    while len(trackers) < ballots:
        trackers.add(new_tracker())
    _insert(SecretBallot, [dict(id=f"b{i:031d}", poll_id=poll.id, tracker=t, choice="for", marks=m)
                           for i, (t, m) in enumerate(zip(trackers, marks, strict=True))])
    db.session.commit()
    roll_size = db.session.scalar(sa.select(sa.func.count(RollLine.id)).where(RollLine.poll_id == poll.id))

    form = ElectionForm(candidates=tuple(candidates), second_round_factor=election.second_round_factor)
    decoded = [rules.decode(m).ballot() for m in marks]
    pure, result = _timed(lambda: rules.count_round(round_.kind, roll_size, decoded, round_.seats, form))

    committee = db.session.scalar(sa.select(User).where(User.username == "sbdsec"))
    at = poll.closes_at + timedelta(hours=1)

    def close_and_count():
        counting.count(election, round_, committee, now=at)
        db.session.commit()

    whole, _ = _timed(close_and_count)
    db.session.refresh(round_)
    # The count alone, as the close ran it: the published list read from the database, decoded and counted.
    counted, (again, _against, _roll) = _timed(lambda: counting.tally(poll, round_, nominations.printed(round_.id)))
    assert (again.returned, again.valid) == (round_.returned, round_.valid)
    assert round_.returned == ballots + already, (round_.returned, ballots, already)
    assert round_.valid + round_.void == round_.returned
    return {"name": f"election round, {ballots:,} secret ballots", "pure_s": pure, "count_s": counted,
            "whole_s": whole,
            "detail": f"{len(result.elected)} elected, {round_.void} void, roll {roll_size:,}"}


def owners_vote(households: int, rng: random.Random) -> dict:
    """An Art. 278 vote over `households` owner-occupied units, 80% voting by name, closed by the cron job."""
    from council.accounts.models import User
    from council.ballots import services as polls
    from council.ballots.models import Basis, Channel, Poll, RollLine
    from council.ballots.rules import Ballot, Choice, Rule, tally
    from council.extensions import db
    from council.sqltypes import utcnow
    from council.territory.models import Household, Place, PlaceKind, Tenure
    from council.territory.services import create_place

    admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
    estate = db.session.scalar(sa.select(Place).where(Place.kind == PlaceKind.ESTATE, Place.name == "化肥厂小区"))
    building = create_place(PlaceKind.BUILDING, "基准楼", estate, admin)
    db.session.flush()
    _insert(Household, [dict(building_id=building.id, unit=str(1 + i // 1000), room=f"{i % 1000:04d}",
                             sort_key=f"{1 + i // 1000:04d}/{i % 1000:06d}", floor_area_dm2=rng.randint(5000, 15000),
                             tenure=Tenure.OWNER_OCCUPIED) for i in range(households)])
    now = utcnow()
    poll = polls.open_poll(estate, "bench", building.id, "基准楼业主共同决定", Rule.CIVIL_CODE_278_ORDINARY,
                           Basis.OWNERS, secret=False, closes_at=now + timedelta(days=7), by=admin,
                           lines=polls.roll_lines(Basis.OWNERS, [building.id]), now=now)
    lines = list(db.session.scalars(sa.select(RollLine.id).where(RollLine.poll_id == poll.id)))
    voted = rng.sample(lines, int(len(lines) * 0.8))
    marks, weights = [Choice.FOR, Choice.AGAINST, Choice.ABSTAIN], [0.7, 0.2, 0.1]
    for start in range(0, len(voted), CHUNK):
        db.session.execute(sa.update(RollLine).execution_options(synchronize_session=False), [
            dict(id=line, status=Channel.ONLINE, choice=rng.choices(marks, weights)[0],
                 cast_by_id=admin.id, cast_at=now + timedelta(seconds=i))
            for i, line in enumerate(voted[start:start + CHUNK], start=start)])
    db.session.commit()

    # The count as the close runs it (the roll and the named ballots read from the database, then tallied), and
    # the pure rule alone over the same plain data.
    pure, result = _timed(lambda: polls.count(poll))
    roll, named = polls._roll(poll), [Ballot(c, voter=v) for v, c, _p in polls._ballot_rows(poll)]
    tally_s, _ = _timed(lambda: tally(poll.rule, roll, named))

    def close():
        assert polls.close(db.session.get(Poll, poll.id), None, now + timedelta(days=8))
        db.session.commit()

    whole, _ = _timed(close)
    db.session.refresh(poll)
    assert poll.roll_heads == households and poll.passed == result.passed
    return {"name": f"Art. 278 owners' vote, {households:,} households", "pure_s": tally_s, "count_s": pure,
            "whole_s": whole,
            "detail": f"{'passed' if result.passed else 'not passed'}, "
                      f"{poll.for_heads + poll.against_heads + poll.abstain_heads:,} voted"}


def run(url: str | None = None, ballots: int = 100_000, households: int = 5_000, seed: int = 1) -> list[dict]:
    """Build the data in a fresh database (a temporary SQLite file by default) and time both counts."""
    from council.extensions import db

    with tempfile.TemporaryDirectory() as folder:
        url = url or f"sqlite:///{Path(folder) / 'counts.db'}"
        print(f"== preparing the counts' database ({url.split('@')[-1]})", file=sys.stderr)
        _prepare(url)
        app = _app(url)
        rng = random.Random(seed)
        with app.app_context(), app.test_request_context():
            figures = [election_count(ballots, rng), owners_vote(households, rng)]
            db.session.remove()
            db.engine.dispose()
    for figure in figures:
        figure["limit_s"] = LIMIT_SECONDS
        figure["met"] = figure["count_s"] <= LIMIT_SECONDS
    return figures


def table(figures: list[dict]) -> str:
    lines = [f"{'count':<42} {'pure rule':>9} {'count':>7} {'limit':>6}  met  {'whole close':>11}  detail"]
    for f in figures:
        lines.append(f"{f['name']:<42} {f['pure_s']:>8.3f}s {f['count_s']:>6.3f}s {f['limit_s']:>5.1f}s  "
                     f"{'yes' if f['met'] else 'NO ':<4} {f['whole_s']:>10.3f}s  {f['detail']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a database URL for a throwaway database (default: a temporary SQLite)")
    parser.add_argument("--ballots", type=int, default=100_000)
    parser.add_argument("--households", type=int, default=5_000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    figures = run(args.database, args.ballots, args.households)
    print(table(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0 if all(f["met"] for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
