"""Words the scale seeder draws from: Chinese surnames and given names, place names, and the phrases residents
write in concerns, proposals and comments. Everything is picked with the caller's seeded random.Random, so
the same seed gives the same names and texts."""
from __future__ import annotations

import random

# Common surnames, the most frequent first; `surname` weighs them roughly as they occur in China.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_SURNAME_WEIGHTS = [max(1, 60 - i) for i in range(len(SURNAMES))]
GIVEN_MALE = "伟强军磊洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建国志文德海东峰立新成永"
GIVEN_FEMALE = "芳娜敏静丽艳秀娟霞燕玲桂英萍红梅琳颖洁慧雪琴云兰凤珍莉婷蓉倩晶月华玉春菊淑贞"
GIVEN_CHILD = "子轩梓涵一诺欣怡浩然思远雨桐宇航若曦嘉怡俊熙可馨博文诗涵睿泽依依皓轩"

STREET_WORDS = ("长虹", "东湖", "西城", "南湖", "北辰", "和平", "解放", "人民", "建设", "新华", "光明", "朝阳",
                "红旗", "胜利", "滨江", "望江", "龙华", "凤鸣", "桂花", "青山", "白云", "春华", "长江", "黄河")
COMMUNITY_WORDS = ("兴隆", "安居", "和谐", "康乐", "福寿", "丰泽", "汇丰", "景秀", "翠竹", "紫荆", "锦华", "文昌",
                   "育才", "振兴", "民主", "团结", "友谊", "五一", "七一", "工农", "园林", "车站", "电厂", "机械",
                   "纺织", "煤矿", "钢城", "铁路", "水利", "粮站", "邮电", "东风", "前进", "跃进", "向阳", "红星",
                   "松林", "柳岸", "荷塘", "梅园", "竹园", "桃源", "杏林", "枫林", "银杏", "石榴", "葡萄", "樱花")
ESTATE_WORDS = ("阳光", "幸福", "金色", "翠苑", "碧水", "蓝湾", "御景", "锦绣", "世纪", "时代", "香榭", "绿洲",
                "明珠", "佳园", "天润", "万科", "恒大", "保利", "金地", "富力", "龙湖", "中海", "华润", "招商",
                "荷花", "紫薇", "丁香", "玉兰", "海棠", "芙蓉", "牡丹", "月季", "春江", "秋水", "晨曦", "晓月",
                "东方", "南山", "西湖", "北岸", "中央", "城市", "都市", "新城", "老街", "古井", "清泉", "梧桐",
                "电力", "供电", "纺织厂", "机械厂", "化工厂", "水泥厂", "钢铁厂", "粮食局", "教师", "医院",
                "铁路", "邮电", "税务", "银行", "交通", "水务", "燃气", "园林", "建工", "地质", "气象", "农机")
ESTATE_SUFFIXES = ("小区", "花园", "家园", "新村", "苑", "嘉园", "雅居", "公寓", "华庭", "名苑", "佳苑", "宿舍")
PROVINCES = ("贵州省遵义市", "安徽省芜湖市", "湖南省株洲市", "江西省九江市", "四川省绵阳市", "湖北省宜昌市",
             "河南省洛阳市", "广西壮族自治区柳州市")

UNITS = ("物业公司", "供水公司", "供电所", "燃气公司", "社区居委会", "城管中队", "派出所", "小区服务队")
DEPARTMENTS = ("区城管执法局", "区住建局", "区市场监管局", "区生态环境分局", "区消防救援大队")

# Concerns by category: (title, description); "{b}" is a building number, "{u}" a unit.
CONCERNS = {
    "facilities": [
        ("{b}号楼楼道灯不亮", "{b}号楼{u}单元三楼到五楼的灯都不亮，晚上老人下楼很危险。"),
        ("{b}号楼水管漏水", "{b}号楼{u}单元水管接头漏水，一楼地面常年是湿的。"),
        ("单元门禁坏了", "{b}号楼{u}单元门禁刷卡没反应，门一直开着。"),
        ("楼顶防水层渗漏", "{b}号楼顶楼下雨渗水，天花板发霉。"),
        ("下水道堵塞返臭", "{b}号楼厨房下水道返臭，一楼几户都有。"),
        ("小区路灯太暗", "西边小路只有一盏灯，晚上看不清路。"),
    ],
    "parking": [
        ("外来车辆随意进出", "没有道闸，外面的车都停进小区。"),
        ("电动车乱停堵住楼道", "{b}号楼门口停满电动车，轮椅过不去。"),
        ("小区门口停车纠纷", "门口车位被长期占用，住户和商户吵了好几次。"),
        ("夜间乱停车挡住出口", "晚上车辆停在出口，早上开不出去。"),
    ],
    "safety": [
        ("消防通道被占用", "东门消防通道天天停满车，消防车进不来。"),
        ("楼道飞线给电动车充电", "{b}号楼有人从窗户拉线给电动车充电，很危险。"),
        ("灭火器过期", "{b}号楼楼道灭火器的日期是好几年前的。"),
        ("围墙破损有人翻越", "南边围墙塌了一段，晚上有人翻进来。"),
        ("监控探头坏了", "大门口的摄像头好几个月不亮了。"),
    ],
    "environment": [
        ("垃圾清运不及时", "周末垃圾桶满了没人清，味道很大。"),
        ("绿地被挖开种菜", "{b}号楼后面的草坪被挖了种菜。"),
        ("化粪池外溢", "{b}号楼后面化粪池满了往外冒。"),
        ("流浪猫太多", "垃圾站附近有十几只流浪猫。"),
        ("楼道堆放杂物", "{b}号楼{u}单元楼道堆满纸箱和旧家具。"),
    ],
    "dispute": [
        ("楼上装修噪音扰民", "{b}号楼早上七点就开始电钻，周末也不停。"),
        ("广场舞音响太吵", "晚上九点以后还在放音乐。"),
        ("空调外机滴水", "{b}号楼楼上空调水滴在窗台上。"),
        ("宠物狗随地便溺", "有人遛狗不牵绳，也不清理狗粪。"),
    ],
    "elderly_children": [
        ("老人上下楼困难", "{b}号楼六楼住着两位八十多岁的老人，下楼要人背。"),
        ("健身器材损坏", "单杠松了，孩子玩很危险。"),
        ("儿童游乐设施缺少防护", "滑梯下面是水泥地。"),
        ("缺少晾衣的地方", "小区没有公共晾衣架，被子没处晒。"),
    ],
    "other": [
        ("快递柜不够用", "快递经常放在门卫室地上。"),
        ("小区缺少充电桩", "电动车没地方充电只能拉线。"),
        ("公告栏信息太旧", "公告栏还贴着去年的通知。"),
    ],
}
RESOLUTIONS = ("已处理完毕，请居民查看。", "已联系维修人员更换。", "物业已派人清理。", "已协调双方，问题解决。")
FOLLOW_UPS = ("居民表示满意。", "处理及时，谢谢服务队。", "基本解决了，希望以后多检查。", "还可以。")
DECLINES = ("属于邻里之间的事，建议双方协商，服务队可以上门调解。", "属于业主家中的事，请联系物业报修。",
            "已有相同的事项在处理，请关注那一条。")
ESCALATIONS = ("小区内协调不了，需要网格出面。", "涉及多个单位，请社区统筹。")

# Proposals: (title, category, body). The body is Markdown as residents write it.
PROPOSALS = (
    ("{b}号楼加装电梯", "lift", "{b}号楼是老楼，没有电梯，楼里住着不少老人。\n\n**方案**：在北侧加装一部电梯，"
     "费用按楼层分摊，一楼二楼不出钱。"),
    ("东门建电动车棚和充电桩", "ebike_shed", "楼道里充电太危险。建议在东门空地建车棚，装智能充电桩，按次收费。"),
    ("重新划定小区停车位", "parking", "现在车位太乱。建议请物业重新画线，增加夜间临时车位，消防通道严禁停车。"),
    ("增设外来车辆道闸", "parking", "外来车辆随意进出。建议两个大门装道闸，住户车辆登记，访客扫码进出。"),
    ("中心绿地改造成口袋公园", "greening", "中心绿地常年荒着。建议铺一条步道，加几张长椅和一个小花坛。"),
    ("修订小区文明公约", "estate_rules", "现行公约是十年前的。建议补上电动车充电、宠物、装修时间等条款。"),
    ("楼道照明改声控灯", "facilities", "楼道灯经常坏。建议全部换成声控LED灯，电费从公共收益中支出。"),
    ("增设老年人活动室", "other", "小区老人多，没有活动的地方。建议把闲置的门卫室改成老年人活动室。"),
    ("小区垃圾分类定时定点", "other", "建议设四个集中投放点，早晚各一小时有人指导分类。"),
    ("更换老旧健身器材", "facilities", "健身器材用了十多年，好几件已经松动。建议申请社区资金更换。"),
    ("屋顶防水统一维修", "facilities", "多栋楼顶漏水。建议用维修资金统一做防水，不再一家一家修。"),
    ("设置快递集中收发点", "other", "快递太多没地方放。建议和快递公司商量，在南门设一个驿站。"),
)
PROPOSAL_PLACES = ("", "（一期）", "（二期）", "（南区）", "（北区）", "（征求意见稿）", "（修订）")

COMMENTS = (
    "我同意，早就该办了。", "费用怎么分摊能不能公示一下明细？", "我住一楼，希望考虑一下采光的问题。",
    "支持！老人上下楼太难了。", "施工期间噪音怎么办？希望避开午休时间。", "物业能不能先出个方案给大家看看？",
    "这个事情去年就提过，一直没有下文。", "建议先在一栋楼试点，效果好再推广。", "我家愿意出力，需要帮忙随时叫我。",
    "钱从哪里出要说清楚，维修资金够不够？", "同意楼上的意见。", "能不能开个会大家当面商量？",
    "希望服务队尽快推动。", "我反对，占用了公共绿地。", "可以，但要保证消防通道畅通。",
    "建议分期实施，先解决最急的。", "业主群里大部分人都支持。", "请社区帮忙申请一下补贴。",
    "上次开会说的时间表现在怎么样了？", "这个方案比原来的好。", "租户能不能也参与表决？",
    "希望把维护费用也算进去。", "晚上施工千万不要。", "楼栋长可以挨家挨户问一问意见。",
)
OFFICIAL_ANSWER = ("感谢大家的意见。支部和服务队已经汇总，下周五的“相约星期五”会上专门讨论，欢迎大家参加。")
MEETING_ITEMS = ("物业公司通报地面停车收费方案", "楼道照明改造方案", "夏季防汛准备", "垃圾分类推进情况",
                 "老旧小区改造进展", "消防安全检查通报", "服务队分工调整")
MEETING_NOTES = ("居民反映情况属实，现场大家都同意尽快处理。", "物业介绍了方案，费用从公共收益中列支。",
                 "几位居民提出了不同意见，会后继续收集。")
MEETING_DECISIONS = ("由服务队牵头，两周内拿出办法。", "同意方案，下周开始实施。", "交全体住户投票决定。")
WALK_INS = (("物业公司", "经理"), ("社区民警", "警官"), ("供电所", "师傅"), ("社区居委会", "主任"))


def surname(rng: random.Random) -> str:
    """A surname, the common ones more often."""
    return rng.choices(SURNAMES, weights=_SURNAME_WEIGHTS)[0]


def given(rng: random.Random, female: bool) -> str:
    """One or two characters, as most Chinese given names are."""
    pool = GIVEN_FEMALE if female else GIVEN_MALE
    return rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.7 else "")


def person(rng: random.Random, family: str | None = None, female: bool | None = None) -> str:
    """A full name; `family` keeps a household's surname (children, most of the time)."""
    female = rng.random() < 0.5 if female is None else female
    return (family or surname(rng)) + given(rng, female)


def child(rng: random.Random, family: str) -> str:
    """A child's name: the family's surname and two characters of a modern given name."""
    return family + rng.choice(GIVEN_CHILD) + rng.choice(GIVEN_CHILD)


def estate_names(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """`count` distinct estate names (word + suffix), phases ("二期") added when the combinations run out."""
    combos = [w + s for w in ESTATE_WORDS for s in ESTATE_SUFFIXES if w + s not in taken]
    rng.shuffle(combos)
    names, phase = [], 1
    while len(names) < count:
        take = combos[:count - len(names)]
        names += take if phase == 1 else [f"{name}{chinese_number(phase)}期" for name in take]
        phase += 1
    return names


def area_names(rng: random.Random, words: tuple[str, ...], count: int, suffix: str) -> list[str]:
    """`count` distinct names such as "长虹街道"; numbered ("长虹二街道") when the words run out."""
    pool = list(words)
    rng.shuffle(pool)
    return [pool[i % len(pool)] + (chinese_number(i // len(pool) + 1) if i >= len(pool) else "") + suffix
            for i in range(count)]


def chinese_number(n: int) -> str:
    """一 to 十 for 1 to 10 (grids, phases), digits beyond."""
    digits = "零一二三四五六七八九十"
    return digits[n] if n <= 10 else str(n)


def sentences(rng: random.Random, pool: tuple[str, ...], most: int = 3) -> str:
    """One to `most` different sentences of `pool`, run together as residents write them."""
    return "".join(rng.sample(pool, rng.randint(1, min(most, len(pool)))))
