"""Demo votes: the 送变电家园 10号楼 lift, co-signed and decided by an Art. 278 owners' vote (online, by
written proxy and on paper), and an open secret vote at 化肥厂小区 that the demo resident can take part in."""
from __future__ import annotations

from datetime import timedelta

import click
import sqlalchemy as sa

from council.accounts.models import User
from council.ballots import publication
from council.ballots import services as polls
from council.ballots.models import Basis, Poll, RollLine
from council.ballots.rules import Choice, Rule
from council.extensions import db
from council.membership import services as membership
from council.membership.models import Relation
from council.owners.services import OwnerEntry, record_owners
from council.permissions import Standing
from council.proposals import discussion, stages
from council.proposals import services as proposals
from council.proposals.models import Proposal
from council.proposals.rules import Category
from council.sqltypes import utcnow
from council.territory.models import Household, Place, UnitKind

LIFT_TITLE = "10号楼加装电梯"
LIFT_BODY = """10号楼是1996年的六层老楼，没有电梯。楼里住着不少七八十岁的老人，上下楼很吃力。

**方案**：在1单元、2单元北侧各加装一部电梯，平层入户。

- 总造价约60万元：政府补贴20万元，供电公司支持5万元，其余35万元由住户按楼层分摊（一楼、二楼不出钱）；
- 施工期约4个月，期间保证消防通道畅通；
- 电梯建成后由物业统一维保，费用按楼层分摊。
"""
SHED_TITLE = "小区东门建电动车棚和充电桩"
SHED_BODY = "楼道里给电动车充电太危险。建议在东门空地建一个能停60辆车的车棚，装上智能充电桩，按次收费。"
SHED_PLANS = ["东门空地建车棚，60个车位，装充电桩", "北门绿化带旁建车棚，40个车位，少占绿地"]
# 10号楼 owners with an account (username, name), owners registered by staff (no phone), tenants.
OWNERS = [("sbd01", "钱德胜"), ("sbd02", "孙桂芳"), ("sbd03", "李宏伟"), ("sbd04", "周玉兰"), ("sbd05", "吴志刚"),
          ("sbd06", "郑淑华"), ("sbd07", "王海涛"), ("sbd08", "冯秀珍"), ("sbd09", "陈国栋"), ("sbd10", "褚丽娟"),
          ("sbd11", "卫建平"), ("sbd12", "蒋凤兰"), ("sbd13", "沈立民")]
NO_PHONE = ["韩老太", "杨大爷", "朱桂英", "秦德福", "尤秀芝", "许长根"]
ABSENT_OWNERS = ["金凤", "魏国强", "陶玉梅", "施建华"]  # owners who live elsewhere and did not vote
# How the owners voted (the lift passed clearly; two against, one abstained).
ONLINE = {"sbd01": Choice.FOR, "sbd02": Choice.FOR, "sbd03": Choice.FOR, "sbd04": Choice.AGAINST,
          "sbd05": Choice.FOR, "sbd06": Choice.FOR, "sbd07": Choice.FOR, "sbd08": Choice.FOR, "sbd09": Choice.ABSTAIN,
          "sbd10": Choice.FOR, "sbd11": Choice.FOR, "sbd": Choice.FOR}
# Staff-registered owners: two gave a written proxy to a neighbour, four signed paper ballots at the meeting.
PROXIES = {"韩老太": ("sbd02", Choice.FOR), "杨大爷": ("sbd05", Choice.FOR)}
PAPER = {"朱桂英": Choice.FOR, "秦德福": Choice.FOR, "尤秀芝": Choice.AGAINST, "许长根": Choice.FOR}


def _user(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == username))


def _exists(estate: Place, title: str) -> bool:
    return db.session.scalar(sa.select(Proposal.id).where(Proposal.estate_id == estate.id,
                                                          Proposal.title == title)) is not None


def _line(poll: Poll, household_id: int) -> RollLine:
    return db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll.id,
                                                       RollLine.household_id == household_id))


def _register(building: Place, households: list[Household], owner_of: dict[str, Household]) -> None:
    """The owner register of 10号楼 as the community recorded it from the property certificates: sbd01 owns
    two flats (one head), 2-102 is owned jointly and sbd02 casts its vote, three owners live elsewhere and
    have no account, four parking spaces are on the register but outside the Art. 278 base."""
    staff = _user("sbdsec")
    accounts = {household.id: username for username, household in owner_of.items() if _user(username)}
    names = {household.id: name for name, household in owner_of.items()}
    absent = iter(ABSENT_OWNERS)
    for number, household in enumerate(households, start=1):
        certificate = f"皖(2019)合肥市不动产权第{3400100 + number:07d}号"
        username = accounts.get(household.id)
        if household.id == owner_of["sbd02"].id:
            entries = [OwnerEntry(_user("sbd02").display_name, login="sbd02", caster=True),
                       OwnerEntry("钱建设")]
        elif username:
            entries = [OwnerEntry(_user(username).display_name, login=username)]
        elif household.id in names:
            entries = [OwnerEntry(names[household.id])]
        elif number == len(households) - 3:  # sbd01's second flat, let to a tenant
            entries = [OwnerEntry(_user("sbd01").display_name, login="sbd01")]
        else:
            entries = [OwnerEntry(next(absent))]
        record_owners(household, entries, certificate, staff)
    for number, holder in enumerate(("sbd03", "sbd05", "sbd07", None), start=1):
        space = Household(building=building, unit="车位", room=f"{number:03d}", sort_key=f"~{number:03d}",
                          floor_area_dm2=1250, kind=UnitKind.PARKING)
        db.session.add(space)
        db.session.flush()
        if holder:
            record_owners(space, [OwnerEntry(_user(holder).display_name, login=holder)],
                          f"皖(2019)合肥市不动产权第{3400200 + number:07d}号", staff, UnitKind.PARKING)


def _lift(estate: Place, building: Place, password: str) -> int:
    """The lift at 送变电家园 10号楼, from co-signing to a passed Art. 278 vote. Returns people added."""
    households = db.session.scalars(sa.select(Household).where(Household.building_id == building.id)
                                    .order_by(Household.sort_key)).all()
    leader = _user("sbd")
    secretary = _user("sbdsec")
    long_ago = utcnow() - timedelta(days=60)
    owner_of: dict[str, Household] = {}
    added = 0
    # sbd (the building leader) owns 1-101; the account holders the next 13 units; then six without a phone.
    for (username, name), household in zip([("sbd", leader.display_name), *OWNERS], households, strict=False):
        user = _user(username)
        if user is None:
            user = User(username=username, display_name=name)
            user.set_password(password)
            db.session.add(user)
            added += 1
        entry = membership.request_join(user, household, Relation.OWNER)
        membership.approve(entry, leader)
        entry.decided_at = long_ago  # they joined weeks before the vote opened
        owner_of[username] = household
    rest = households[len(owner_of):]
    for name, household in zip(NO_PHONE, rest, strict=False):
        entry = membership.register_resident(household, name, Relation.OWNER, True, leader)
        entry.decided_at = long_ago
        owner_of[name] = household
        added += 1
    tenant = membership.register_resident(households[3], "租户小刘", Relation.TENANT, True, leader)
    tenant.decided_at = long_ago
    db.session.flush()
    _register(building, households, owner_of)

    author = _user("sbd01")
    proposal = proposals.create(estate, author, LIFT_TITLE, LIFT_BODY, Category.LIFT, [building.id],
                                600000, 200000, 50000, 350000)
    proposals.publish(proposal, author)
    neighbour = Standing(member_places=frozenset({building.id, estate.id}))
    for username in ("sbd02", "sbd03", "sbd05", "sbd06", "sbd07", "sbd08", "sbd10", "sbd"):
        proposals.cosign(proposal, _user(username), neighbour)
    discussion.add_comment(proposal, _user("sbd04"), neighbour,
                           "我住一楼，加装电梯挡了我家北面的光线，希望设计时考虑一下采光。")
    discussion.add_comment(proposal, _user("sbd09"), neighbour, "分摊比例能不能公示一下明细？")
    stages.put_on_agenda(proposal, secretary)
    # The story took three weeks: written and co-signed, discussed at a Friday meeting, then voted on.
    proposal.created_at = utcnow() - timedelta(days=21)
    proposal.published_at = proposal.created_at + timedelta(hours=2)
    proposal.eligible_at = utcnow() - timedelta(days=16)
    opened = utcnow() - timedelta(days=10)
    poll = stages.open_vote(proposal, secretary, Rule.CIVIL_CODE_278_SPECIAL, Basis.OWNERS, False,
                            opened + timedelta(days=7), now=opened, objection_days=3)
    cast_at = opened + timedelta(days=2)
    for username, choice in ONLINE.items():
        polls.cast(poll, _line(poll, owner_of[username].id), choice, _user(username), now=cast_at)
    for name, (holder, choice) in PROXIES.items():
        line = _line(poll, owner_of[name].id)
        polls.record_proxy(poll, line, _user(holder), leader, now=opened + timedelta(hours=5))
        polls.cast(poll, line, choice, _user(holder), now=cast_at)
    for name, choice in PAPER.items():  # the building meeting (一楼见) on the fifth evening
        polls.check_off(poll, _line(poll, owner_of[name].id), leader, choice, now=opened + timedelta(days=5))
    # The turnout drive: the building leader knocked on the last doors; one owner declined.
    absent = db.session.scalar(sa.select(RollLine).where(RollLine.poll_id == poll.id, RollLine.status.is_(None))
                               .order_by(RollLine.sort_key).limit(1))
    publication.record_declined(poll, absent, leader, now=opened + timedelta(days=6))
    polls.close(poll, None, poll.closes_at)
    # The preliminary result was posted; one objection, answered in public; then the result became final.
    objection = publication.lodge(poll, _user("sbd04"), "我家是一楼，表决前没人上门跟我说明采光的问题，"
                                  "这样的结果我有意见。", now=poll.closed_at + timedelta(days=1))
    publication.answer(objection, poll, secretary, "设计单位已出具日照分析报告，一楼采光影响在标准以内，"
                       "报告贴在一单元门口，欢迎来社区查看。表决通知于开票前一周张贴并逐户送达。",
                       now=poll.closed_at + timedelta(days=2))
    return added


def _shed(estate: Place) -> None:
    """An open secret household choice vote at 化肥厂小区 (east gate or north gate), for the demo resident."""
    author = _user("resident")
    proposal = proposals.create(estate, author, SHED_TITLE, SHED_BODY, Category.EBIKE_SHED)
    proposals.publish(proposal, author)
    proposal.eligible_at = utcnow()
    stages.put_on_agenda(proposal, _user("secretary"))
    stages.open_vote(proposal, _user("secretary"), Rule.SIMPLE_MAJORITY, Basis.HOUSEHOLDS, True,
                     utcnow() + timedelta(days=14), options=SHED_PLANS, max_choices=1)


def seed_votes(sbd_estate: Place, hfc_estate: Place, password: str) -> int:
    """Add the demo votes if they are missing; returns the people added."""
    added = 0
    with click.progressbar(length=2, label="Proposals and votes") as bar:
        if not _exists(sbd_estate, LIFT_TITLE):
            building = db.session.scalar(sa.select(Place).where(Place.parent_id == sbd_estate.id,
                                                                Place.name == "10号楼"))
            added += _lift(sbd_estate, building, password)
        bar.update(1)
        if not _exists(hfc_estate, SHED_TITLE):
            _shed(hfc_estate)
        bar.update(1)
    db.session.flush()
    return added
