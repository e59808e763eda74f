"""An estate's proposals (co-signatures, followers, discussion) and concerns (supporters, comments), each in
a state its history explains: the timestamps follow each other, the activity records tell the same story, and
the counters kept on the rows (household_count, comment_count, support_count) match the rows they count.

Proposals stay before the vote (draft, open, on the agenda, withdrawn): a vote needs a frozen roll, which
only the benchmark estate's open vote has (council.scale.election opens it through the services).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from council.concerns.models import Comment, Concern, Support
from council.proposals.models import DEFAULT_COSIGN_THRESHOLD, Cosign, Follow, Proposal, ProposalComment
from council.proposals.models import proposal_buildings as ProposalBuildings
from council.scale import names
from council.scale.bulk import Bulk, Recorder
from council.scale.people import People, Resident
from council.scale.territory import Estate

DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
PROPOSALS_PER_ESTATE = 33
CONCERNS_PER_ESTATE = 83
HOT_COMMENTS = 200  # the benchmark estate's most discussed proposal
HOT_TITLE = "基准小区停车管理办法（征求意见稿）"
VOTE_TITLE = "基准小区东门建电动车棚和充电桩"
PROPOSAL_STATES = ("draft", "open", "on_agenda", "withdrawn")
PROPOSAL_WEIGHTS = (5, 58, 30, 7)
# Concern fates, and how many days old a concern must be for its history to fit before today.
FATES = ("reported", "accepted", "in_progress", "escalated", "resolved", "declined", "followed_up", "closed")
FATE_WEIGHTS = (12, 10, 13, 5, 10, 5, 15, 30)
MIN_AGE = {"reported": 1, "accepted": 3, "in_progress": 5, "escalated": 10, "resolved": 15, "declined": 3,
           "followed_up": 25, "closed": 40}
STATUS_OF = {"escalated": "in_progress"}


@dataclass
class Content:
    """What meetings put on their agendas, and the benchmark estate's two special proposals."""

    on_agenda: list[tuple[int, str, datetime]] = field(default_factory=list)  # id, title, put on the agenda
    concerns: list[tuple[int, str, datetime, str]] = field(default_factory=list)  # id, title, created_at, status
    hot_proposal: int | None = None
    vote_proposal: int | None = None


def _when(start: datetime, rng: random.Random, low: int, high: int, unit: timedelta = HOUR) -> datetime:
    return start + rng.randint(low, high) * unit


def _cost(rng: random.Random) -> dict:
    """Four proposals in ten carry an estimated cost, shared "a bit from each" (the shares add up)."""
    if rng.random() >= 0.4:
        return {}
    cost = rng.choice((8, 15, 30, 60, 120, 600)) * 1000
    government = cost * rng.choice((0, 2, 3, 5)) // 10
    outside = cost * rng.choice((0, 0, 1)) // 10
    return {"cost_yuan": cost, "share_government": government, "share_outside": outside,
            "share_residents": cost - government - outside}


def proposals(bulk: Bulk, record: Recorder, estate: Estate, people: People, rng: random.Random,
              anchor: datetime) -> Content:
    """The estate's 33 proposals in their states, with co-signatures, followers and their discussion."""
    content = Content()
    secretary = people.secretary.user_id
    for k in range(PROPOSALS_PER_ESTATE):
        template, category, body = rng.choice(names.PROPOSALS)
        building_id, building = rng.choice(estate.buildings)
        number = building.removesuffix("号楼")
        title = template.format(b=number) + ("" if category == "lift" else rng.choice(names.PROPOSAL_PLACES))
        state = rng.choices(PROPOSAL_STATES, PROPOSAL_WEIGHTS)[0]
        comments = rng.randint(0, 20)
        created = anchor - rng.randint(14, 300) * DAY - rng.randint(0, 23) * HOUR
        scope = [building_id] if category == "lift" else []
        if estate.is_bench and k < 2:  # the most discussed proposal, and the one put to the vote
            title, category, scope = (HOT_TITLE, "parking", []) if k == 0 else (VOTE_TITLE, "ebike_shed", [])
            state, comments = ("open", HOT_COMMENTS) if k == 0 else ("on_agenda", 12)
            created = anchor - 60 * DAY
        in_scope = people.by_building.get(building_id, []) if scope else people.voices
        author = rng.choice(in_scope or people.voices)
        row = {"estate_id": estate.id, "author_id": author.user_id, "title": title[:120],
               "body": body.format(b=number), "category": category, "state": state, "created_at": created,
               **_cost(rng)}
        proposal_id = bulk.new_id(Proposal.__table__)
        record(author.user_id, "proposal.created", estate.id, "proposal", proposal_id, created)
        for scoped in scope:
            bulk.add(ProposalBuildings, {"proposal_id": proposal_id, "building_id": scoped})
        followers = {author.user_id: created}
        cosigned, discussed = 0, 0
        if state != "draft":
            published = _when(created, rng, 1, 20)
            row["published_at"] = published
            record(author.user_id, "proposal.publish", estate.id, "proposal", proposal_id, published)
            cosigned, eligible = _cosigns(bulk, record, proposal_id, estate, in_scope, state, published, rng)
            if state == "on_agenda" and eligible is None:  # too few households in scope signed: still open
                state = row["state"] = "open"
            row["eligible_at"] = eligible
            if state == "on_agenda":
                placed = _when(eligible, rng, 24, 72)
                record(secretary, "proposal.put_on_agenda", estate.id, "proposal", proposal_id, placed)
                content.on_agenda.append((proposal_id, title, placed))
            discussed = _discussion(bulk, record, proposal_id, estate, people, comments, published,
                                    state == "on_agenda", followers, rng)
            if state == "withdrawn":
                row["withdrawn_at"] = _when(published, rng, 24, 24 * 9)
                record(author.user_id, "proposal.withdraw", estate.id, "proposal", proposal_id, row["withdrawn_at"])
        bulk.add(Proposal, {"id": proposal_id, **row, "household_count": cosigned, "comment_count": discussed})
        for user_id, since in followers.items():
            bulk.add(Follow, {"proposal_id": proposal_id, "user_id": user_id, "created_at": since})
        if estate.is_bench and k == 0:
            content.hot_proposal = proposal_id
        elif estate.is_bench and k == 1:
            content.vote_proposal = proposal_id
    return content


def _cosigns(bulk: Bulk, record: Recorder, proposal_id: int, estate: Estate, in_scope: list[Resident],
             state: str, published: datetime, rng: random.Random) -> tuple[int, datetime | None]:
    """Co-signatures by members of distinct households in scope; eligible at the threshold-th household."""
    wanted = {"open": rng.randint(0, 9), "on_agenda": rng.randint(5, 14), "withdrawn": rng.randint(0, 3)}[state]
    homes: dict[int, Resident] = {}
    for voice in in_scope:
        homes.setdefault(voice.home.id, voice)
    signers = rng.sample(list(homes.values()), min(wanted, len(homes)))
    at, eligible = published, None
    for count, signer in enumerate(signers, start=1):
        at = _when(at, rng, 1, 12)
        bulk.add(Cosign, {"proposal_id": proposal_id, "user_id": signer.user_id, "created_at": at})
        if count == DEFAULT_COSIGN_THRESHOLD:
            eligible = at
            record(None, "proposal.eligible", estate.id, "proposal", proposal_id, at, detail=str(count))
    return len(signers), eligible


def _discussion(bulk: Bulk, record: Recorder, proposal_id: int, estate: Estate, people: People, count: int,
                published: datetime, answered: bool, followers: dict[int, datetime], rng: random.Random) -> int:
    """Comments, a third of them replies to an earlier comment, now and then a quote; the secretary's
    official answer on proposals on the agenda. Commenting makes one follow the proposal."""
    top: list[int] = []
    at = published
    for _ in range(count):
        at = _when(at, rng, 5, 240, MINUTE)
        author = rng.choice(people.voices)
        parent = rng.choice(top) if top and rng.random() < 0.33 else None
        quoted = rng.choice(top) if top and parent is None and rng.random() < 0.05 else None
        comment = bulk.add(ProposalComment, {"proposal_id": proposal_id, "author_id": author.user_id,
                                             "parent_id": parent, "quoted_id": quoted, "created_at": at,
                                             "body": names.sentences(rng, names.COMMENTS, 2)})
        if parent is None:
            top.append(comment)
        followers.setdefault(author.user_id, at)
    if answered:
        at = _when(at, rng, 1, 48)
        secretary = people.secretary.user_id
        bulk.add(ProposalComment, {"proposal_id": proposal_id, "author_id": secretary, "is_official": True,
                                   "body": names.OFFICIAL_ANSWER, "created_at": at})
        record(secretary, "proposal.answered", estate.id, "proposal", proposal_id, at)
        followers.setdefault(secretary, at)
        count += 1
    return count


def concerns(bulk: Bulk, record: Recorder, estate: Estate, people: People, content: Content,
             rng: random.Random, anchor: datetime) -> None:
    """The estate's ledger of concerns over the past year, in every state (escalations included). Members see
    the concerns of their own building and of the estate: a building's concern is raised, supported and
    discussed by its residents (and staff)."""
    staff = people.staff
    for _ in range(CONCERNS_PER_ESTATE):
        category = rng.choice(list(names.CONCERNS))
        template, text = rng.choice(names.CONCERNS[category])
        building_id, building = rng.choice(estate.buildings)
        number, unit = building.removesuffix("号楼"), rng.randint(1, 2)
        neighbours = people.by_building.get(building_id)
        place = building_id if "{b}" in template + text and neighbours else estate.id
        audience = neighbours if place == building_id else people.voices
        fate = rng.choices(FATES, FATE_WEIGHTS)[0]
        created = anchor - rng.randint(MIN_AGE[fate], 365) * DAY + rng.randint(0, 23) * HOUR - 24 * HOUR
        concern_id = bulk.new_id(Concern.__table__)
        row = {"id": concern_id, "place_id": place, "estate_id": estate.id, "holder_id": estate.id,
               "level": "estate", "title": template.format(b=number, u=unit)[:120],
               "description": text.format(b=number, u=unit), "category": category,
               "status": STATUS_OF.get(fate, fate), "created_at": created}
        if rng.random() < 0.75:
            reporter = rng.choice(audience)
            row.update(reporter_id=reporter.user_id, channel="online", show_name=rng.random() < 0.7)
            actor = reporter.user_id
        else:
            recorder = rng.choice(staff)
            row.update(reporter_name=rng.choice(people.residents).name, recorded_by_id=recorder.user_id,
                       channel=rng.choice(("stand", "phone", "visit")), show_name=rng.random() < 0.7)
            reporter, actor = None, recorder.user_id
        record(actor, "concern.reported", place, "concern", concern_id, created)
        # "Me too"s and comments come while it is open, and before today.
        ended = min(_history(record, row, fate, estate, people, rng), anchor - MINUTE)
        wanted = rng.choice((0, 0, 1, 2, 3, 5, 8))
        supporters = [v for v in rng.sample(audience, min(len(audience), wanted)) if v is not reporter]
        for supporter in supporters:
            bulk.add(Support, {"concern_id": concern_id, "user_id": supporter.user_id,
                               "created_at": min(_when(created, rng, 1, 72), ended)})
        talk = rng.choice((0, 0, 1, 1, 2, 3))
        at = created
        for _ in range(talk):
            at = min(_when(at, rng, 1, 48), ended)
            bulk.add(Comment, {"concern_id": concern_id, "author_id": rng.choice(audience).user_id,
                               "body": names.sentences(rng, names.COMMENTS, 2), "created_at": at})
        row.update(support_count=1 + len(supporters), comment_count=talk)
        bulk.add(Concern, row)
        content.concerns.append((concern_id, row["title"], created, row["status"]))


def _history(record: Recorder, row: dict, fate: str, estate: Estate, people: People,
             rng: random.Random) -> datetime:
    """Walk the concern to its fate, writing its timestamps and activity records; returns its last moment."""
    concern_id, place, at = row["id"], row["place_id"], row["created_at"]
    handler = rng.choice(people.staff).user_id
    if fate == "reported":
        return at + 30 * DAY
    if fate == "declined":
        at = _when(at, rng, 2, 48)
        row["decline_reason"] = rng.choice(names.DECLINES)
        record(handler, "concern.decline", place, "concern", concern_id, at, note=row["decline_reason"])
        return at
    # 定人: the service team, or the leader of the building it is about (who handles that building's concerns).
    leader = people.leaders.get(place)
    owner = rng.choice([*people.staff, *([leader] if leader else [])])
    at = _when(at, rng, 2, 48)
    row.update(accepted_at=at, owner_id=owner.user_id, responsible_unit=rng.choice(names.UNITS),
               deadline=(at + rng.choice((7, 10, 14, 30)) * DAY).date())
    record(handler, "concern.accept", place, "concern", concern_id, at)
    record(handler, "concern.assign", place, "concern", concern_id, at, target_id=owner.user_id)
    if fate == "accepted":
        return at + 30 * DAY
    at = _when(at, rng, 1, 24)
    record(handler, "concern.start", place, "concern", concern_id, at)
    if fate == "escalated":
        level, holder = ("grid", estate.grid_id) if estate.grid_id else ("community", estate.community_id)
        at = _when(at, rng, 24, 120)
        row.update(level=level, holder_id=holder)
        record(handler, "concern.escalate", place, "concern", concern_id, at, detail=level,
               note=rng.choice(names.ESCALATIONS))
        return at + 30 * DAY
    if fate == "in_progress":
        return at + 30 * DAY
    at = _when(at, rng, 24, 240)
    row.update(resolved_at=at, resolved_level=row["level"])
    record(handler, "concern.resolve", place, "concern", concern_id, at, note=rng.choice(names.RESOLUTIONS))
    if fate == "resolved":
        return at + 10 * DAY
    at = _when(at, rng, 24, 120)
    rating = rng.choice((3, 4, 4, 5, 5, 5))
    row.update(followed_up_at=at, rating=rating, rating_comment=rng.choice(names.FOLLOW_UPS))
    record(people.secretary.user_id, "concern.follow_up_happy", place, "concern", concern_id, at,
           detail=str(rating), note=row["rating_comment"])
    if fate == "followed_up":
        return at
    at = _when(at, rng, 24, 72)
    row["closed_at"] = at
    record(handler, "concern.close", place, "concern", concern_id, at)
    return at
