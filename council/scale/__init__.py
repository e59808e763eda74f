"""`flask council seed-scale`: a district-scale data set, built deterministically from a seed.

A district of N estates (default 600): streets, communities and grids above them; about 500 households and
665 members per estate; 33 proposals with about ten comments each, 83 concerns and 5 meetings with published
minutes per estate. One of them, 基准小区 (the benchmark estate, min(5000, 250·N) households unless given),
holds an election open for voting (roll frozen, candidates published, nobody voted yet), an open secret vote
of its households on a proposal, and a proposal with 200 comments.

The same seed gives the same data: every name, text, number and id comes from random.Random seeded per
estate, and ids are given here (not by the database). Timestamps are relative to today (midnight UTC) and the
open votes to the moment of seeding. `fingerprint` hashes the generated columns without timestamps, so two
runs of the same seed, on any database, give the same fingerprint (printed on request: it reads every row).

Accounts share ONE password hash (hashing 400,000 passwords would take hours): every generated account's
password is SCALE_PASSWORD. Rows go in by bulk writes (council.scale.bulk), never one ORM object at a time.
"""
from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from council.accounts.models import User
from council.activity.models import Activity
from council.concerns.models import Comment, Concern, Support
from council.extensions import db
from council.meetings.models import ActionItem, AgendaItem, Attendance, Meeting, Minutes
from council.membership.models import Membership, PartyMember
from council.proposals.models import Cosign, Follow, Proposal, ProposalComment
from council.roles.models import RoleGrant
from council.scale.bulk import Bulk, Recorder
from council.scale.content import HOT_TITLE, VOTE_TITLE, concerns, proposals
from council.scale.election import TITLE as ELECTION_TITLE
from council.scale.election import open_bench_votes
from council.scale.meetings import meetings
from council.scale.people import Serial, populate
from council.scale.territory import BENCH_ESTATE, fill_estate, plan_district
from council.territory.models import Household, Place

# Every model whose rows the seeder writes with ids of its own (council.scale.bulk).
SEEDED = (Place, Household, User, Membership, PartyMember, RoleGrant, Activity, Proposal, Cosign, Follow,
          ProposalComment, Concern, Support, Comment, Meeting, AgendaItem, Attendance, ActionItem, Minutes)
SCALE_PASSWORD = "scale-2026"  # every generated account's password; printed in the summary and the help
DEFAULT_ESTATES = 600
FLUSH_ROWS = 60_000  # buffered rows written after the estate that passes this many

__all__ = ["BENCH_ESTATE", "SCALE_PASSWORD", "ScaleSummary", "bench_households", "fingerprint", "has_data",
           "seed_scale", "steps"]


@dataclass
class ScaleSummary:
    estates: int
    seed: int
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    bench: dict[str, object] = field(default_factory=dict)
    logins: list[tuple[str, str]] = field(default_factory=list)
    fingerprint: str = ""

    def describe(self) -> str:
        lines = [f"Seeded {self.estates} estates from seed {self.seed} in {self.seconds:.1f} s.", "",
                 "Rows per table:"]
        lines += [f"  {name:<32} {count:>10,}" for name, count in self.counts.items()]
        lines += ["", f"Benchmark estate: {BENCH_ESTATE} (place {self.bench['estate_id']}), "
                      f"{self.bench['households']:,} households",
                  f"  election {self.bench['election_id']} ({ELECTION_TITLE}): voting open, poll "
                  f"{self.bench['poll_id']}, {self.bench['roll']:,} voters on the roll, none voted",
                  f"  proposal {self.bench['vote_proposal_id']} ({VOTE_TITLE}): secret household vote open, poll "
                  f"{self.bench['vote_poll_id']}, {self.bench['vote_roll']:,} households on the roll",
                  f"  proposal {self.bench['hot_proposal_id']} ({HOT_TITLE}): "
                  f"{self.bench['hot_comments']} comments", "",
                  f"Sign-ins (password for every generated account: {SCALE_PASSWORD}):"]
        lines += [f"  {username:<28} {who}" for username, who in self.logins]
        if self.fingerprint:
            lines += ["", f"Fingerprint (same seed, same fingerprint): {self.fingerprint}"]
        return "\n".join(lines)


def bench_households(estates: int) -> int:
    """The benchmark estate's default size: 5,000 households, less for a small district."""
    return min(5000, 250 * estates)


def steps(estates: int) -> int:
    """How many times `seed_scale` calls `progress`: once per estate, then once for the open votes."""
    return estates + 1


def has_data() -> bool:
    """Anything there already? The seeder wants a fresh database (its ids, usernames and fingerprint)."""
    return bool(db.session.scalar(sa.select(Place.id).limit(1)) or db.session.scalar(sa.select(User.id).limit(1)))


def seed_scale(estates: int = DEFAULT_ESTATES, seed: int = 1, households: int | None = None,
               progress: Callable[[int], None] | None = None, now: datetime | None = None,
               with_fingerprint: bool = False) -> ScaleSummary:
    """Build the district in the session's transaction (the caller commits) and describe what was made."""
    if estates < 1:
        raise ValueError("at least one estate")
    started = time.monotonic()
    now = now or datetime.now(UTC)
    anchor = now.replace(hour=0, minute=0, second=0, microsecond=0)
    progress = progress or (lambda _n: None)
    hashed = generate_password_hash(SCALE_PASSWORD)
    bulk = Bulk(db.session, SEEDED)
    try:
        district, summary, bench_people, bench_content = _generate(bulk, estates, seed, households, hashed, anchor,
                                                                  progress)
    finally:
        bulk.close()
    bench = district.estates[0]
    votes = open_bench_votes(bench.id, district.bench_committee_id, bench_people, bench_content.vote_proposal, now)
    db.session.flush()
    progress(1)
    summary.logins += votes.logins
    summary.bench = {"estate_id": bench.id, "households": bench.target, "election_id": votes.election_id,
                     "poll_id": votes.poll_id, "roll": votes.roll, "vote_proposal_id": bench_content.vote_proposal,
                     "vote_poll_id": votes.vote_poll_id, "vote_roll": votes.vote_roll,
                     "hot_proposal_id": bench_content.hot_proposal,
                     "hot_comments": db.session.scalar(sa.select(Proposal.comment_count).where(
                         Proposal.id == bench_content.hot_proposal))}
    summary.counts = table_counts()
    summary.fingerprint = fingerprint() if with_fingerprint else ""
    summary.seconds = time.monotonic() - started
    return summary


def _generate(bulk: Bulk, estates: int, seed: int, households: int | None, hashed: str, anchor: datetime,
              progress: Callable[[int], None]):
    """Every estate's rows, written in bulk; returns what the open votes and the summary need."""
    record = Recorder(bulk)
    district = plan_district(bulk, record, random.Random(f"{seed}/district"), estates,
                             households or bench_households(estates), hashed, anchor)
    serial = Serial()
    summary = ScaleSummary(estates, seed, logins=list(district.logins))
    bench_people = bench_content = None
    for estate in district.estates:
        rng = random.Random(f"{seed}/estate/{estate.index}")
        fill_estate(bulk, record, district, estate, rng, anchor)
        people = populate(bulk, record, district, estate, rng, anchor, hashed, serial)
        content = proposals(bulk, record, estate, people, rng, anchor)
        concerns(bulk, record, estate, people, content, rng, anchor)
        meetings(bulk, record, estate, people, content, rng, anchor)
        summary.logins += people.logins
        if estate.is_bench:
            bench_people, bench_content = people, content
        estate.homes.clear()  # written; keeps memory flat over 600 estates
        if bulk.buffered >= FLUSH_ROWS:
            bulk.flush()
        progress(1)
    bulk.finish()
    record.chain.write_head()
    bulk.reset_sequences()
    return district, summary, bench_people, bench_content


def table_counts() -> dict[str, int]:
    """Rows in every table that has any, in the schema's dependency order."""
    counts = {}
    for table in db.metadata.sorted_tables:
        count = db.session.scalar(sa.select(sa.func.count()).select_from(table))
        if count:
            counts[table.name] = count
    return counts


# The columns the fingerprint covers: what the seed decides (names, texts, numbers, ids), never a timestamp
# or the password hash (salted afresh on every run).
FINGERPRINT_COLUMNS = (
    (Place, ("id", "kind", "name", "parent_id", "path")),
    (Household, ("id", "building_id", "unit", "room", "floor_area_dm2", "tenure")),
    (User, ("id", "username", "display_name", "mobile", "registered_by_id")),
    (Membership, ("id", "user_id", "household_id", "status", "relation", "is_adult", "is_representative")),
    (Proposal, ("id", "estate_id", "author_id", "title", "state", "household_count", "comment_count")),
    (ProposalComment, ("id", "proposal_id", "author_id", "parent_id", "body")),
    (Concern, ("id", "place_id", "title", "status", "level", "owner_id", "support_count", "comment_count")),
)


def fingerprint() -> str:
    """A sha256 over the generated columns of the main tables, in id order (streamed, constant memory)."""
    digest = hashlib.sha256()
    for model, names in FINGERPRINT_COLUMNS:
        columns = [getattr(model, name) for name in names]
        query = sa.select(*columns).order_by(model.id).execution_options(yield_per=20_000)
        digest.update(model.__tablename__.encode())
        for row in db.session.execute(query):
            digest.update(repr(tuple(str(v) for v in row)).encode())
    return digest.hexdigest()[:16]
