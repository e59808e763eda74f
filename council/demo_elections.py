"""Demo service-team elections (综合治理服务队), each step through the election services at a past `now=`:

- 化肥厂小区's first election, called 40 days ago and finished: the roll and an upheld objection to it,
  nominations (two of them joint), 9 candidates, tellers and a scrutineer, online ballots and a roving
  box whose paper ballots two tellers entered, the public count, 公示, then the team took office. 7 were
  elected, 5 of them party members by circumstance, not by rule; the branch secretary leads the team.
- 送变电家园's first election, called 10 days ago and open for voting since yesterday: 9 candidates, a
  few ballots in, and the building leader `sbd` (README) still to vote.
"""
from __future__ import annotations

import random
from datetime import datetime, time, timedelta

import click
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from council.accounts.models import User
from council.ballots.models import Basis, RollLine
from council.elections import counting, nominations, services, voting
from council.elections.models import Election, ElectionRound
from council.elections.rules import Mark, Marks, Office, RollObjectionKind, Ruling
from council.extensions import db
from council.i18n import at_local, local_today
from council.membership import services as membership
from council.membership.models import Membership, MembershipStatus, Relation
from council.roles.models import Role, RoleGrant
from council.sqltypes import utcnow
from council.territory.models import Household, Place

HFC_TITLE = "化肥厂小区第一届综合治理服务队选举"
SBD_TITLE = "送变电家园第一届综合治理服务队选举"
DAY, HOUR = timedelta(days=1), timedelta(hours=1)

# New residents: username (None: registered by staff, no phone), name, building number, unit-room.
HFC_PEOPLE = [
    ("hfc01", "罗淑芬", 3, "1-201"), ("hfc02", "邓明亮", 2, "2-302"), ("hfc03", "曾凡荣", 4, "1-401"),
    ("hfc04", "谭小军", 5, "2-102"), ("hfc05", "侯春梅", 6, "1-301"), ("hfc06", "龙志远", 3, "2-101"),
    ("hfc07", "苏建英", 4, "2-201"), ("hfc08", "韦小红", 5, "1-502"), ("hfc09", "覃德才", 6, "2-401"),
    ("hfc10", "潘玉珍", 2, "1-101"), ("hfc11", "蒙建平", 3, "1-601"), ("hfc12", "石丽娟", 4, "2-502"),
    ("hfc13", "杨光荣", 5, "1-202"), ("hfc14", "莫海波", 6, "2-201"), ("hfc15", "田秀英", 2, "2-501"),
    (None, "王桂珍", 2, "2-302"),  # 邓明亮's wife
    (None, "胡德全", 3, "1-102"), (None, "蔡玉兰", 4, "1-602"),
    (None, "马建设", 4, "1-302"),  # moved to his daughter's in 贵阳: struck from the roll on an objection
]
HFC_PARTY = ["hfc01", "hfc02", "hfc03"]  # with `secretary` and `leader` (recorded by demo.py): 5 of the 7
# Candidates: who, votes FOR (22 ballots, one void: 12 needed), duty once elected, contact, statement.
HFC_CANDIDATES = [
    ("secretary", 20, "队长", "13985401127",
     "我是小区党支部书记，在化肥厂小区住了二十多年。每周五的“相约星期五”我都在，大家反映的事我记进台账，一件一件盯到底。"),
    ("leader", 18, "治安巡逻", "1号楼1单元502",
     "在化肥厂保卫科干到退休，现在是1号楼楼栋长。晚上我带几个老伙计在小区里转一转，门岗、围墙、监控这些事我来管。"),
    ("hfc01", 17, "为老服务", "3号楼1单元201",
     "退休前在化肥厂子弟学校教了三十年语文。小区里独居老人多，我想组织几个人定期上门看看，帮老人读读通知、办办手续。"),
    ("hfc02", 16, "消防安全", "13908541563",
     "我是化肥厂的老电工，退休了手艺还在。楼道飞线充电、灭火器过期、电表箱老化，这些隐患我看得出来，也修得了。"),
    ("team", 15, "环境卫生", "1号楼2单元402",
     "我租住在1号楼，平时在服务队管环境卫生。垃圾清运、楼道杂物、草坪种菜这些事，我会继续跟物业一起抓。"),
    ("hfc03", 14, "矛盾调解", "4号楼1单元401",
     "在厂里当过十几年调解委员。装修噪音、空调滴水这类邻里小事，坐下来说清楚就好，我愿意当这个中间人。"),
    ("hfc04", 13, "停车秩序", "13765402918",
     "我年轻，天天开车上下班，最知道停车难。想和物业一起把车位重新划一划，先把消防通道清出来。"),
    ("hfc05", 9, None, "6号楼1单元301",
     "我是全职妈妈，孩子在小区里长大。想为小区的孩子们做点事，比如暑假组织大家一起读书、做游戏。"),
    ("hfc06", 6, None, "3号楼2单元101", "我在小区门口开小超市十多年了，谁家有事都知道。大家有需要，随时到店里找我。"),
]
HFC_JOINT = {"secretary": ["leader", "hfc10", "hfc15", "hfc11"], "hfc01": ["hfc12", "hfc13", "resident"]}
HFC_ONLINE = ["secretary", "leader", "team", "hfc01", "hfc02", "hfc03", "hfc04", "hfc05", "hfc06", "hfc07",
              "hfc08", "hfc09", "resident", "hfc10", "hfc11", "hfc12"]
HFC_PAPER = ["王桂珍", "胡德全", "李桂兰", "张淑珍", "杨德明", "吴凤英"]  # the roving box; one ballot void

SBD_PEOPLE = [
    ("sbd14", "黄晓东", 3, "1-302"), ("sbd15", "林建军", 6, "2-501"), ("sbd16", "方慧", 8, "1-201"),
    ("sbd17", "唐德华", 5, "2-102"), ("sbd18", "江秀梅", 2, "1-401"), ("sbd19", "袁立华", 3, "2-601"),
    ("sbd20", "曹丽", 7, "1-101"), ("sbd21", "邹建新", 9, "2-302"),
]
SBD_CANDIDATES = [
    ("sbd01", "10号楼1单元102",
     "10号楼加装电梯是我牵头跑下来的，跟街道、供电公司都打过交道。选上了，我想把别的楼的电梯也推动起来。"),
    ("sbd02", "10号楼1单元201",
     "退休前在供电公司做了二十年会计。服务队的经费、维修资金怎么花，我帮大家盯着，每月公示。"),
    ("sbd07", "13856012274",
     "在变电站上了三十年班，用电和消防安全是老本行。楼道飞线充电、灭火器过期，我见一个管一个。"),
    ("sbd06", "10号楼1单元401",
     "我天天在广场上跳舞，认识的老人多。谁家老人身体不好、要人陪着看病，我愿意多跑跑腿。"),
    ("sbd14", "15955173306",
     "我在附近上班，下班后时间多。小区停车太乱，我想和物业一起把车位重新规划，外来车辆登记进出。"),
    ("sbd15", "6号楼2单元501",
     "当过五年兵，退伍后在送变电公司开车。晚上巡逻、看看门岗和围墙，我愿意带个头。"),
    ("sbd16", "8号楼1单元201",
     "我是幼儿园老师，想在暑假给小区的孩子办个看护班，帮双职工家庭解决点难处。"),
    ("sbd17", "5号楼2单元102",
     "退休前在单位做工会工作，调解过不少纠纷。楼上楼下有矛盾，先坐下来喝杯茶，把话说开。"),
    ("sbd18", "2号楼1单元401",
     "我每天早上在小区里走一圈，哪里垃圾没清、哪里草坪被挖，我都清楚。选上了就记下来、盯到底。"),
]
SBD_JOINT = {"sbd01": ["sbd05", "sbd08", "sbd11"], "sbd17": ["sbd19", "sbd20", "sbd09"]}
SBD_ONLINE = ["sbd03", "sbd05", "sbd08", "sbd10", "sbd17", "sbd19"]  # `sbd` has not voted yet
SBD_PAPER = ["杨大爷", "朱桂英"]  # the roving box came by yesterday afternoon


def _user(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == username))


def _named(estate: Place, name: str) -> User:
    """A staff-registered resident of the estate, by name."""
    return db.session.scalar(sa.select(User).join(Membership, Membership.user_id == User.id)
                             .join(Household, Household.id == Membership.household_id)
                             .join(Place, Place.id == Household.building_id)
                             .where(Place.parent_id == estate.id, User.display_name == name,
                                    User.password_hash.is_(None)).limit(1))


def _residents(estate: Place, people: list, hashed: str, staff: User, since: datetime) -> int:
    """Add the residents (accounts share one password hash: hashing is slow); returns people added."""
    buildings = {p.name: p for p in db.session.scalars(sa.select(Place).where(Place.parent_id == estate.id))}
    for username, name, number, label in people:
        unit, room = label.split("-")
        household = db.session.scalar(sa.select(Household).where(
            Household.building_id == buildings[f"{number}号楼"].id, Household.unit == unit, Household.room == room))
        if username is None:
            entry = membership.register_resident(household, name, Relation.OWNER, True, staff)
        else:
            user = User(username=username, display_name=name, password_hash=hashed)
            db.session.add(user)
            entry = membership.request_join(user, household, Relation.OWNER)
            membership.approve(entry, staff)
        entry.requested_at = entry.decided_at = since  # they moved in long before the election
    db.session.flush()
    return len(people)


def _line(round_: ElectionRound, person: User) -> RollLine:
    return db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == services.poll_of(round_).id,
                                                       RollLine.user_id == person.id))


def _ballots(candidates: list[tuple[int, int]], n: int, rng: random.Random) -> list[Marks]:
    """`n` ballots giving each (candidate, votes) exactly `votes` marks FOR, spread so no ballot names more
    than 7; every other candidate is marked against or abstain."""
    chosen: list[set[int]] = [set() for _ in range(n)]
    for person, votes in sorted(candidates, key=lambda c: -c[1]):
        for i in sorted(range(n), key=lambda i: (len(chosen[i]), rng.random()))[:votes]:
            chosen[i].add(person)
    return [Marks({p: Mark.FOR if p in names else rng.choice((Mark.AGAINST, Mark.ABSTAIN, Mark.ABSTAIN))
                   for p, _ in candidates}) for names in chosen]


def _calling(title: str, start: datetime, roll: timedelta, nominations_: timedelta, opens_at: datetime,
             closes_at: datetime) -> services.Calling:
    return services.Calling(title=title, seats=7, basis=Basis.MEMBERS, with_marks=True, self_nomination=True,
                            nominators_needed=3, second_round_factor=2, notice_days=7, roll_until=start + roll,
                            nominations_until=start + nominations_, opens_at=opens_at, closes_at=closes_at)


def _officials(election: Election, tellers: list[User], scrutineer: User, by: User, when: datetime) -> None:
    for person in tellers:
        services.appoint(election, person, Office.TELLER, by, now=when)
    services.appoint(election, scrutineer, Office.SCRUTINEER, by, now=when)


def _nominate(election: Election, candidates: list[tuple[str, str, str]], joint: dict[str, list[str]],
              start: datetime) -> None:
    """Each candidate nominates themselves, or is nominated jointly, and accepts with a statement."""
    for i, (username, contact, statement) in enumerate(candidates):
        when = start + timedelta(hours=3 * i)
        person = _user(username)
        backers = [_user(u) for u in joint.get(username, [])]
        nomination = nominations.nominate(election, person, backers[0] if backers else person, now=when)
        for k, backer in enumerate(backers[1:], start=1):
            nominations.second(election, nomination, backer, now=when + k * HOUR)
        nominations.accept(election, nomination, person, statement, contact, now=when + DAY)


def _finished(estate: Place, hashed: str) -> int:
    """化肥厂小区: called 40 days ago, voted on days 14-15, counted, posted for 7 days, closed on day 23."""
    committee, secretary, team = _user("committee"), _user("secretary"), _user("team")
    added = 0
    if _user(HFC_PEOPLE[0][0]) is None:
        added = _residents(estate, HFC_PEOPLE, hashed, team, utcnow() - 800 * DAY)
        for username in HFC_PARTY:
            membership.record_party_member(_user(username), estate, False, secretary)
    start = at_local(local_today() - 40 * DAY, time(9))
    opens_at, closes_at = start + 14 * DAY - HOUR, start + 15 * DAY + 11 * HOUR
    election = services.call(estate, _calling(HFC_TITLE, start, 5 * DAY, 11 * DAY, opens_at, closes_at), committee,
                             now=start)
    round_ = services.latest_round(election)
    tellers = [_user("hfc07"), _user("hfc08")]
    _officials(election, tellers, _user("hfc09"), committee, start + HOUR)
    # The roll is posted in every lobby; a neighbour points out that 马建设 has moved away.
    moved = _named(estate, "马建设")
    objection = services.object_to_roll(
        election, _user("hfc12"), RollObjectionKind.MOVED,
        "4号楼1单元302的马建设去年就搬到贵阳跟女儿住了，房子也卖了，不应该在选民名单上。",
        line=_line(round_, moved), now=start + 2 * DAY)
    services.rule_on(election, objection, Ruling.UPHELD, "经楼栋走访核实，马建设已于去年搬离本小区，房屋已出售。"
                     "从选民名单中删除，并登记搬离。", committee, now=start + 4 * DAY)
    entry = db.session.scalar(sa.select(Membership).where(Membership.user_id == moved.id,
                                                          Membership.status == MembershipStatus.APPROVED))
    membership.end(entry, committee)
    entry.ended_at = start + 4 * DAY
    # Nominations on days 6-10, one joint nomination that found a single nominator and was never accepted.
    candidates = [(u, contact, text) for u, _votes, _duty, contact, text in HFC_CANDIDATES]
    _nominate(election, candidates, HFC_JOINT, start + 6 * DAY)
    nominations.nominate(election, _user("hfc14"), _user("hfc15"), now=start + 7 * DAY)
    nominations.publish_slate(election, committee, now=start + 12 * DAY)
    # Voting: online over the two days, and the tellers' roving box for those without a phone.
    people = {u: _user(u) for u in HFC_ONLINE}
    ids = [(people[u].id, votes) for u, votes, *_ in HFC_CANDIDATES]
    rng = random.Random(2026)
    ballots = _ballots(ids, len(HFC_ONLINE) + len(HFC_PAPER) - 1, rng)
    for i, username in enumerate(HFC_ONLINE):
        voting.cast(election, round_, _line(round_, people[username]), ballots[i], people[username],
                    now=opens_at + (i + 1) * 50 * timedelta(minutes=1))
    for i, name in enumerate(HFC_PAPER):
        voting.check_off(election, round_, _line(round_, _named(estate, name)), tellers[i % 2],
                         now=closes_at - 6 * HOUR + i * 20 * timedelta(minutes=1))
    # The count, in public at the 党群服务站: both tellers enter the stack of paper ballots, then the count.
    paper = ballots[len(HFC_ONLINE):] + [Marks({p: Mark.FOR for p, _ in ids[:8]})]  # one names 8: void
    count_at = closes_at + HOUR
    batch = voting.start_batch(election, round_, len(paper), tellers[0], now=count_at)
    voting.join_batch(election, round_, batch, tellers[1])
    for teller, order in ((tellers[0], paper), (tellers[1], paper[::-1])):
        for ballot in order:
            voting.enter(election, round_, batch, ballot, teller, now=count_at + 20 * timedelta(minutes=1))
    counting.count(election, round_, committee, now=count_at + HOUR)
    winners = {row.user_id for row in counting.elected(election)}
    duties = {people[u].id: (duty, contact) for u, _v, duty, contact, _t in HFC_CANDIDATES if duty}
    assert winners == set(duties), "the demo ballots elect the seven on duty"
    # 公示 for 7 days, no objection: the team takes office and each member gets a duty.
    finish_at = count_at + 8 * DAY
    counting.finish(election, committee, now=finish_at)
    for grant in db.session.scalars(sa.select(RoleGrant).where(
            RoleGrant.place_id == estate.id, RoleGrant.role == Role.SERVICE_TEAM, RoleGrant.revoked_at.is_(None),
            RoleGrant.user_id.in_(winners))):
        grant.duty, grant.contact = duties[grant.user_id]
        if grant.user_id != team.id:  # 何燕 was on the team already
            grant.granted_at = finish_at
    db.session.flush()
    return added


def _open(estate: Place, hashed: str) -> int:
    """送变电家园: called 10 days ago; voting opened yesterday at 8:00 and closes in 5 days at 20:00."""
    admin, secretary = _user("admin"), _user("sbdsec")
    added = 0
    if _user(SBD_PEOPLE[0][0]) is None:
        added = _residents(estate, SBD_PEOPLE, hashed, _user("sbd"), utcnow() - 500 * DAY)
    today = local_today()
    start = at_local(today - 10 * DAY, time(9))
    opens_at, closes_at = at_local(today - DAY, time(8)), at_local(today + 5 * DAY, time(20))
    election = services.call(estate, _calling(SBD_TITLE, start, 3 * DAY, 7 * DAY, opens_at, closes_at), admin,
                             now=start)
    round_ = services.latest_round(election)
    services.appoint(election, secretary, Office.COMMITTEE, admin, now=start)
    tellers = [_user("sbd12"), _user("sbd13")]
    _officials(election, tellers, _user("sbd21"), secretary, start + HOUR)
    _nominate(election, SBD_CANDIDATES, SBD_JOINT, start + 3 * DAY + HOUR)
    nominations.publish_slate(election, secretary, now=start + 8 * DAY)
    # 韩老太 gave 孙桂芳 a written proxy before voting opened; neither has voted yet.
    voting.record_proxy(election, round_, _line(round_, _named(estate, "韩老太")), _user("sbd02"),
                        secretary, now=start + 8 * DAY + 2 * HOUR)
    rng = random.Random(2027)
    ids = [_user(u).id for u, *_ in SBD_CANDIDATES]
    for i, username in enumerate(SBD_ONLINE):
        person = _user(username)
        ballot = Marks({p: Mark.FOR for p in rng.sample(ids, rng.randint(5, 7))})
        voting.cast(election, round_, _line(round_, person), ballot, person, now=opens_at + (i + 1) * HOUR)
    for i, name in enumerate(SBD_PAPER):
        voting.check_off(election, round_, _line(round_, _named(estate, name)), tellers[0],
                         now=opens_at + (7 + i) * HOUR)
    db.session.flush()
    return added


def _exists(estate: Place, title: str) -> bool:
    return db.session.scalar(sa.select(Election.id).where(Election.estate_id == estate.id,
                                                          Election.title == title)) is not None


def seed_elections(hfc_estate: Place, sbd_estate: Place, password: str) -> tuple[int, list[str]]:
    """Add the demo elections if they are missing; returns the people added and what was added."""
    added, done = 0, []
    hashed = generate_password_hash(password)
    with click.progressbar(length=2, label="Service-team elections") as bar:
        if not _exists(hfc_estate, HFC_TITLE):
            added += _finished(hfc_estate, hashed)
            done.append(f"{hfc_estate.name}: finished, 7 elected")
        bar.update(1)
        if not _exists(sbd_estate, SBD_TITLE):
            added += _open(sbd_estate, hashed)
            done.append(f"{sbd_estate.name}: open for voting (sign in as sbd to vote)")
        bar.update(1)
    return added, done
