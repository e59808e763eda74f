"""Demo ledger: a year of believable concerns at 化肥厂小区 and 香林美域, in every state."""
from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from council.accounts.models import User
from council.activity.models import Activity
from council.concerns import services as concerns
from council.concerns.models import Concern, Support
from council.concerns.rules import Category, Channel
from council.extensions import db
from council.membership.models import Membership, Relation
from council.membership.services import register_resident
from council.notifications.models import Notification
from council.territory.models import Household, Place, PlaceKind

C = Category
# (title, description, category, where: "estate" or a building number, fate, supporters)
# Fates: reported, accepted, in_progress, overdue, resolved, late_follow_up, followed_up, closed,
# unhappy (reopened), declined, merged, grid, community, street (escalated, with a department call).
LEDGER = [
    ("2号楼水管爆裂漏水", "凌晨水管爆了，一楼进水，需要马上关总阀。", C.FACILITIES, 2, "closed", 6),
    ("商铺门口停车纠纷", "商铺门口的车位被长期占用，商户和居民吵了好几次。", C.PARKING, "estate", "street", 14),
    ("3号楼楼道灯不亮", "三楼到五楼的灯都不亮，晚上老人下楼很危险。", C.FACILITIES, 3, "closed", 4),
    ("消防通道被私家车占用", "东门消防通道天天停满车，消防车进不来。", C.SAFETY, "estate", "in_progress", 11),
    ("楼道内电动车充电有火灾隐患", "有人从窗户拉线给电动车充电。", C.SAFETY, 1, "accepted", 8),
    ("垃圾清运不及时", "周末垃圾桶满了没人清，味道很大。", C.ENVIRONMENT, "estate", "followed_up", 9),
    ("绿地被挖开种菜", "北边草坪被挖了种菜，还浇粪水。", C.ENVIRONMENT, "estate", "closed", 5),
    ("楼上装修噪音扰民", "早上七点就开始电钻，周末也不停。", C.DISPUTE, 4, "resolved", 2),
    ("缺少晾衣架", "小区没有公共晾衣的地方，被子没处晒。", C.ELDERLY_CHILDREN, "estate", "closed", 12),
    ("小区路灯太暗", "西边小路只有一盏灯，晚上看不清。", C.FACILITIES, "estate", "late_follow_up", 6),
    ("监控探头坏了", "大门口的摄像头好几个月不亮了。", C.SAFETY, "estate", "community", 7),
    ("化粪池外溢", "5号楼后面化粪池满了往外冒。", C.ENVIRONMENT, 5, "grid", 10),
    ("单元门禁坏了", "1单元门禁刷卡没反应，门一直开着。", C.FACILITIES, 1, "overdue", 3),
    ("老人上下楼困难希望加装电梯", "6楼住着两位80多岁的老人，下楼要人背。", C.ELDERLY_CHILDREN, 6, "reported", 15),
    ("广场舞音响太吵", "晚上九点以后还在放音乐。", C.DISPUTE, "estate", "unhappy", 8),
    ("楼道堆放杂物", "二单元楼道堆满纸箱和旧家具。", C.SAFETY, 2, "closed", 3),
    ("外来车辆随意进出", "没有道闸，外面的车都停进来。", C.PARKING, "estate", "followed_up", 13),
    ("邻居空调外机滴水", "楼上空调水滴在我家窗台上。", C.DISPUTE, 3, "declined", 1),
    ("健身器材损坏", "单杠松了，孩子玩很危险。", C.ELDERLY_CHILDREN, "estate", "resolved", 4),
    ("流浪猫太多", "垃圾站附近有十几只流浪猫。", C.ENVIRONMENT, "estate", "reported", 2),
    ("楼顶防水层渗漏", "下雨顶楼天花板渗水发霉。", C.FACILITIES, 4, "in_progress", 3),
    ("电动车乱停放堵住楼道", "电动车停在楼道口，轮椅过不去。", C.PARKING, 1, "merged", 2),
    ("快递柜不够用", "快递经常放在门卫室地上。", C.OTHER, "estate", "accepted", 6),
    ("消防器材老化过期", "楼道灭火器的日期是2019年的。", C.SAFETY, 5, "closed", 5),
    ("下水道堵塞返臭", "厨房下水道返臭，一楼几户都有。", C.FACILITIES, 2, "overdue", 4),
    ("儿童游乐设施缺少防护", "滑梯下面是水泥地。", C.ELDERLY_CHILDREN, "estate", "reported", 3),
    ("围墙破损有人翻越", "南边围墙塌了一段。", C.SAFETY, "estate", "followed_up", 7),
    ("小区缺少充电桩", "电动车没地方充电只能拉线。", C.OTHER, "estate", "in_progress", 16),
]
FATE_DAYS_AGO = {"reported": 5, "accepted": 20, "in_progress": 40, "overdue": 45, "resolved": 9,
                 "late_follow_up": 30, "followed_up": 120, "closed": 200, "unhappy": 60, "declined": 90,
                 "merged": 25, "grid": 50, "community": 70, "street": 100}
UNITS = ["物业公司", "供水公司", "社区居委会", "城管中队", "电力公司", "小区服务队"]


def _person(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


# The estates with a demo ledger: (estate, its team, a resident who reports online or None, fate shift).
ESTATES = [("化肥厂小区", "team", "resident", 0), ("香林美域", "xiangl", None, 5)]
NEIGHBOUR_NAMES = ["钱桂芳", "孙德胜", "郑玉兰", "冯建平", "褚秀云", "卫国华"]


def seed_concerns(now: datetime | None = None) -> int:
    """Add the demo ledger to each demo estate that has no concerns yet; returns how many were added."""
    now = now or datetime.now(UTC)
    added = 0
    fates = [entry[4] for entry in LEDGER]
    for name, team_name, resident_name, shift in ESTATES:
        estate = db.session.scalar(sa.select(Place).where(Place.kind == PlaceKind.ESTATE, Place.name == name))
        if estate is None or db.session.scalar(sa.select(Concern.id).where(Concern.estate_id == estate.id).limit(1)):
            continue
        rotated = fates[shift:] + fates[:shift]
        ledger = [(*entry[:4], fate, entry[5]) for entry, fate in zip(LEDGER, rotated, strict=True)]
        added += _seed_estate(estate, ledger, _person(team_name), resident_name and _person(resident_name),
                              now, random.Random(7 + shift))
    db.session.flush()
    _tidy_inbox(now)
    return added


def _neighbours(estate: Place, team: User) -> list[User]:
    """Residents of the estate registered by staff; an estate without any gets a few (demo only)."""
    query = (sa.select(User).join(Membership, Membership.user_id == User.id)
             .join(Household, Household.id == Membership.household_id)
             .join(Place, Place.id == Household.building_id)
             .where(Place.parent_id == estate.id, User.registered_by_id.is_not(None)))
    found = list(db.session.scalars(query))
    if found:
        return found
    households = db.session.scalars(sa.select(Household).join(Place, Place.id == Household.building_id)
                                    .where(Place.parent_id == estate.id).order_by(Household.id).limit(60)).all()
    return [register_resident(household, name, Relation.OWNER, True, team).user
            for name, household in zip(NEIGHBOUR_NAMES, households[::10], strict=False)]


def _seed_estate(estate: Place, ledger, team: User, resident: User | None, now: datetime, rng) -> int:
    buildings = {int(p.name.removesuffix("号楼")): p for p in db.session.scalars(
        sa.select(Place).where(Place.parent_id == estate.id))}
    leader, secretary = _person("leader"), _person("secretary")
    if resident is None:  # another estate: its own team handles everything
        leader = secretary = team
    grid, committee, street = (_person(u) for u in ("grid", "committee", "street"))
    neighbours = _neighbours(estate, team)
    first_open = None
    for index, (title, text, category, where, fate, supporters) in enumerate(ledger):
        place = estate if where == "estate" else buildings[min(where, len(buildings))]
        start = now - timedelta(days=FATE_DAYS_AGO[fate] + rng.randint(0, 20), hours=rng.randint(0, 10))
        if resident is None or index % 4 == 3:
            concern = concerns.report(place, team, title, text, category, index % 3 != 0, channel=Channel.STAND,
                                      reporter_name=neighbours[index % len(neighbours)].display_name)
        else:
            concern = concerns.report(place, resident, title, text, category, show_name=index % 3 != 0)
        for neighbour in rng.sample(neighbours, min(supporters - 1, len(neighbours))):
            db.session.add(Support(concern_id=concern.id, user_id=neighbour.id))
        concern.support_count = max(1, min(supporters, len(neighbours) + 1))
        _play(concern, fate, team, leader, secretary, resident or team, grid, committee, street, first_open,
              start, rng)
        if fate == "in_progress" and first_open is None:
            first_open = concern
        _backdate(concern, start, now)
    return len(ledger)


def _tidy_inbox(now: datetime) -> None:
    """A year of history would leave dozens of unread messages: keep only each person's latest three unread."""
    rows = db.session.execute(sa.select(Notification.id, Notification.user_id).order_by(Notification.id.desc()))
    kept: dict[int, int] = {}
    read = []
    for notification_id, user_id in rows:
        kept[user_id] = kept.get(user_id, 0) + 1
        if kept[user_id] > 3:
            read.append(notification_id)
    if read:
        db.session.execute(sa.update(Notification).where(Notification.id.in_(read)).values(read_at=now))


def _play(concern, fate, team, leader, secretary, resident, grid, committee, street, first_open, start, rng):
    """Walk the concern through the services to its fate."""
    handler = leader if concern.place.kind is PlaceKind.BUILDING and rng.random() < 0.5 else team
    if fate == "reported":
        return
    if fate == "declined":
        concerns.decline(concern, handler, "属于邻里之间的事，建议双方协商，服务队可以上门调解。")
        return
    if fate == "merged":
        if first_open is not None:
            concerns.merge(concern, first_open, team)
        return
    deadline = (start + timedelta(days=rng.choice([7, 10, 14, 30]))).date()
    if fate == "overdue":
        deadline = date.today() - timedelta(days=rng.randint(3, 15))
    concerns.accept(concern, handler, owner=rng.choice([team, secretary, leader]), unit=rng.choice(UNITS),
                    deadline=deadline)
    if fate == "accepted":
        return
    concerns.start(concern, handler)
    if fate in ("grid", "community", "street"):
        concerns.escalate(concern, team, "小区内协调不了，需要网格出面。")
        if fate in ("community", "street"):
            concerns.escalate(concern, grid, "涉及多个单位，请社区统筹。")
        if fate == "street":
            concerns.escalate(concern, committee, "需要街道呼叫职能部门。")
            call = concerns.call_department(concern, street, "区城管执法局")
            concerns.confirm_reported(call, concern, street, "执法队员已到现场，约谈商户。")
        return
    if fate in ("in_progress", "overdue"):
        return
    concerns.resolve(concern, handler, "已处理完毕，请居民查看。")
    if fate in ("resolved", "late_follow_up"):
        return
    if fate == "unhappy":
        concerns.follow_up(concern, secretary, 2, "音量小了一点，但时间还是太晚。")
        return
    concerns.follow_up(concern, secretary, rng.choice([4, 5, 5, 3]), "居民表示满意。")
    if fate == "closed":
        concerns.close(concern, team)


def _backdate(concern: Concern, start: datetime, now: datetime) -> None:
    """Spread the concern's history over the days since it was reported (demo only)."""
    db.session.flush()
    entries = list(db.session.scalars(sa.select(Activity).where(
        Activity.subject_type == "concern", Activity.subject_id == concern.id).order_by(Activity.id)))
    # Most matters are dealt with in a week or two; the open ones keep moving until now.
    span = max(min((now - start) * 0.8, timedelta(days=12)), timedelta(hours=1))
    if concern.status.value in ("reported", "accepted", "in_progress"):
        span = max((now - start) * 0.8, timedelta(hours=1))
    step = span / max(len(entries), 1)
    for i, entry in enumerate(entries):
        entry.created_at = start + step * i
    concern.created_at = start
    stamps = {"concern.accept": "accepted_at", "concern.resolve": "resolved_at",
              "concern.follow_up_happy": "followed_up_at", "concern.close": "closed_at"}
    for entry in entries:
        column = stamps.get(entry.verb)
        if column and getattr(concern, column) is not None:
            setattr(concern, column, entry.created_at)
