"""An estate's past meetings (相约星期五 every other Friday, now and then a 恳谈会): agenda from its concerns
and proposals, who checked in, action items (定人、定责、定时限), and minutes approved by the chair and
published, never changed afterwards: a correction is a second published revision with its change note."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from council.meetings.models import ActionItem, AgendaItem, Attendance, Meeting, Minutes
from council.scale import names
from council.scale.bulk import Bulk, Recorder
from council.scale.content import Content
from council.scale.people import People
from council.scale.territory import Estate

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
MEETINGS_PER_ESTATE = 5
LOCAL_OFFSET = timedelta(hours=8)  # Asia/Shanghai: 19:30 there is 11:30 UTC


def _fridays(anchor: datetime, count: int) -> list[datetime]:
    """19:30 local time on every other Friday, oldest first; the latest at least a week before `anchor`, so
    its minutes and action items are done by now."""
    local = (anchor + LOCAL_OFFSET).date()
    last = local - timedelta(days=(local.weekday() - 4) % 7 + 7)
    return [datetime(day.year, day.month, day.day, 11, 30, tzinfo=UTC)
            for day in (last - timedelta(days=14 * k) for k in reversed(range(count)))]


def meetings(bulk: Bulk, record: Recorder, estate: Estate, people: People, content: Content,
             rng: random.Random, anchor: datetime) -> int:
    """Add the estate's past meetings with their published minutes; returns how many."""
    secretary = people.secretary
    taker = people.team[0] if people.team else secretary
    where = f"{estate.name}党群服务站"
    for number, starts in enumerate(_fridays(anchor, MEETINGS_PER_ESTATE)):
        forum = number == 2
        kind = "forum" if forum else "friday"
        title = f"恳谈会：{rng.choice(names.MEETING_ITEMS)}" if forum else "相约星期五"
        created, published = starts - 5 * DAY, starts - 3 * DAY
        meeting_id = bulk.add(Meeting, {
            "place_id": estate.id, "kind": kind, "title": title, "starts_at": starts, "location": where,
            "chair_id": secretary.user_id, "minute_taker_id": taker.user_id, "invited_units": "物业公司、社区民警",
            "state": "published", "created_by_id": secretary.user_id, "created_at": created,
            "published_at": published})
        record(secretary.user_id, "meeting.scheduled", estate.id, "meeting", meeting_id, created, detail=title)
        record(secretary.user_id, "meeting.published", estate.id, "meeting", meeting_id, published, detail=title)
        items = _agenda(bulk, meeting_id, content, starts, rng)
        present = _attendance(bulk, meeting_id, people, starts, rng)
        actions = _actions(bulk, record, estate, meeting_id, items, people, content, starts, anchor, rng)
        body = _minutes_text(estate, title, starts, secretary.name, taker.name, present, items, actions)
        _minutes(bulk, record, estate, meeting_id, body, taker.user_id, secretary.user_id, starts, anchor, rng)
    return MEETINGS_PER_ESTATE


def _agenda(bulk: Bulk, meeting_id: int, content: Content, starts: datetime, rng: random.Random) -> list[dict]:
    """Two concerns raised before the meeting, a proposal on the agenda if there is one, and a free item."""
    raised = [c for c in content.concerns if c[2] < starts - DAY]
    ready = [p for p in content.on_agenda if p[2] < starts - DAY]
    items = [{"kind": "concern", "title": title, "concern_id": cid}
             for cid, title, _at, _status in rng.sample(raised, min(2, len(raised)))]
    items += [{"kind": "proposal", "title": title, "proposal_id": pid}
              for pid, title, _at in rng.sample(ready, min(1, len(ready)))]
    items.append({"kind": "free", "title": rng.choice(names.MEETING_ITEMS), "presenter": "物业公司",
                  "hands_for": rng.randint(8, 25), "hands_against": rng.randint(0, 3),
                  "hands_abstain": rng.randint(0, 3)})
    for position, item in enumerate(items, start=1):
        item.update(meeting_id=meeting_id, position=position, minutes=rng.choice((10, 15, 20)),
                    notes=rng.choice(names.MEETING_NOTES), decision=rng.choice(names.MEETING_DECISIONS))
        item["id"] = bulk.add(AgendaItem, dict(item))
    return items


def _attendance(bulk: Bulk, meeting_id: int, people: People, starts: datetime, rng: random.Random) -> list[str]:
    """The staff and a dozen residents check in, and a representative of an outside unit walks in."""
    secretary = people.secretary.user_id
    residents = [v for v in people.voices if v not in people.staff]
    came = [(m, "cadre") for m in people.staff]
    came += [(v, "resident") for v in rng.sample(residents, min(len(residents), rng.randint(4, 12)))]
    for person, kind in came:
        bulk.add(Attendance, {"meeting_id": meeting_id, "user_id": person.user_id, "name": person.name,
                              "kind": kind, "checked_in_at": starts, "checked_in_by_id": secretary})
    unit, title = rng.choice(names.WALK_INS)
    walk_in = f"{unit}{names.surname(rng)}{title}"
    bulk.add(Attendance, {"meeting_id": meeting_id, "user_id": None, "name": walk_in, "kind": "unit", "unit": unit,
                          "checked_in_at": starts, "checked_in_by_id": secretary})
    return [person.name for person, _ in came] + [f"{walk_in}（{unit}）"]


def _actions(bulk: Bulk, record: Recorder, estate: Estate, meeting_id: int, items: list[dict], people: People,
             content: Content, starts: datetime, anchor: datetime, rng: random.Random) -> list[str]:
    """An action item for each concern and proposal discussed. Closing an action item resolves its concern
    (council.meetings.console), so only those whose concern has been resolved since are done."""
    settled = {cid for cid, _t, _at, status in content.concerns if status in ("resolved", "followed_up", "closed")}
    lines = []
    for item in items:
        if item["kind"] == "free":
            continue
        owner = rng.choice(people.staff)
        due = (starts + rng.choice((7, 14)) * DAY).date()
        row = {"meeting_id": meeting_id, "place_id": estate.id, "agenda_item_id": item["id"],
               "what": f"落实：{item['title']}"[:200], "owner_id": owner.user_id, "due": due, "status": "open",
               "concern_id": item.get("concern_id"), "proposal_id": item.get("proposal_id"),
               "created_at": starts + 2 * HOUR}
        done_at = starts + rng.randint(3, 12) * DAY
        finished = item["kind"] == "proposal" or item.get("concern_id") in settled
        if finished and done_at < anchor - DAY and rng.random() < 0.8:
            row.update(status="done", done_at=done_at, done_by_id=owner.user_id, note="已完成")
        bulk.add(ActionItem, row)
        if row["status"] == "done":
            record(owner.user_id, "meeting.action_done", estate.id, "meeting", meeting_id, done_at,
                   detail=row["what"])
        lines.append(f"- {row['what']} · {owner.name} · {due.isoformat()}前")
    return lines


def _minutes_text(estate: Estate, title: str, starts: datetime, chair: str, taker: str, present: list[str],
                  items: list[dict], actions: list[str]) -> str:
    """The minutes as the console drafts them: attendance, each item's notes and decision, action items."""
    local = starts + LOCAL_OFFSET
    lines = [title, f"时间：{local:%Y-%m-%d %H:%M}", f"地点：{estate.name}党群服务站", f"主持：{chair}",
             f"记录：{taker}", f"出席（{len(present)}）：" + "、".join(present), ""]
    for item in items:
        lines += [f"{item['position']}. {item['title']}", item["notes"], f"决定：{item['decision']}"]
        if item.get("hands_for") is not None:
            lines.append(f"举手表决：赞成{item['hands_for']}，反对{item['hands_against']}，弃权{item['hands_abstain']}。")
        lines.append("")
    if actions:
        lines += ["待办事项", *actions]
    return "\n".join(lines).strip() + "\n"


def _minutes(bulk: Bulk, record: Recorder, estate: Estate, meeting_id: int, body: str, taker: int, chair: int,
             starts: datetime, anchor: datetime, rng: random.Random) -> None:
    """Revision 1 drafted, approved by the chair, published; one meeting in ten has a published correction."""
    drafted = starts + rng.randint(2, 20) * HOUR
    approved = drafted + rng.randint(2, 30) * HOUR
    published = approved + rng.randint(1, 6) * HOUR
    revisions = [(body, "", drafted, approved, published)]
    later = published + rng.randint(1, 4) * DAY
    if rng.random() < 0.1 and later + DAY < anchor:
        corrected = body.replace("决定：", "决定（已更正）：", 1)
        revisions.append((corrected, "更正第一项的决定措辞。", later, later + 2 * HOUR, later + 3 * HOUR))
    for revision, (text, note, made, ok, out) in enumerate(revisions, start=1):
        bulk.add(Minutes, {"meeting_id": meeting_id, "revision": revision, "state": "published", "body": text,
                           "change_note": note, "created_at": made, "created_by_id": taker, "approved_at": ok,
                           "approved_by_id": chair, "published_at": out})
        record(taker, "minutes.drafted", estate.id, "meeting", meeting_id, made, detail=f"r{revision}")
        record(chair, "minutes.approved", estate.id, "meeting", meeting_id, ok)
        record(chair, "minutes.published", estate.id, "meeting", meeting_id, out, detail=f"r{revision}")
