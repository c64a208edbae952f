"""The body that answered a citizen's message, read from the official reply: the real dispatch
outcome that routing is evaluated against and a department-type model learns from.

A reply names its body in a few set phrases: "A3区洋湖街道高度重视", "经A5区教育局核实",
"已转交县生态环境局…办复", "我镇党委政府", a signature before the date. Each phrase found gives
a body name, and the name's words give a department type of the lists (住建局 ->
housing_construction, 某某街道 -> street_office). A reply that names no body this way, or only
bodies the lists have no type for (a court, the finance bureau), gives none: such a row is
counted and left out, never guessed.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# A copy of shared/data/citizen-messages/messages_with_replies.csv kept beside the category
# model's training data, so `make model` and `make run` need nothing outside the repository.
REPLIES = Path(__file__).resolve().parent / "training" / "messages_with_replies.csv"

# Words of a body's name -> the lists' department type; the longest word found in a name wins.
# A body the lists have no type for maps to None (named, but outside the lists).
ALIASES: dict[str, str | None] = {
    # 住房和城乡建设 (and its centres: housing transactions, property management, demolition)
    "住房和城乡建设": "housing_construction",
    "住房城乡建设": "housing_construction",
    "住建": "housing_construction",
    "城乡建设局": "housing_construction",
    "建设局": "housing_construction",
    "建委": "housing_construction",
    "房产": "housing_construction",
    "房屋": "housing_construction",
    "住房保障": "housing_construction",
    "物管": "housing_construction",
    "物业管理": "housing_construction",
    "征收": "housing_construction",
    "人防": "housing_construction",
    # 综合行政执法（城市管理）
    "城管": "urban_management",
    "城市管理": "urban_management",
    "综合执法": "urban_management",
    "行政执法": "urban_management",
    "城乡建设行政执法": "urban_management",
    "执法大队": "urban_management",
    "市容": "urban_management",
    "环卫": "urban_management",
    # 生态环境
    "环保": "ecology_environment",
    "环境保护": "ecology_environment",
    "生态环境": "ecology_environment",
    # 交通运输
    "交通运输": "transport",
    "交通局": "transport",
    "公路": "transport",
    "运管": "transport",
    "道路运输": "transport",
    "公交": "transport",
    "轨道交通": "transport",
    "交通建设": "transport",
    # 市场监督管理
    "市场监督": "market_regulation",
    "市场监管": "market_regulation",
    "工商": "market_regulation",
    "质监": "market_regulation",
    "质量技术监督": "market_regulation",
    "食品药品": "market_regulation",
    "食药": "market_regulation",
    "物价": "market_regulation",
    # 人力资源和社会保障
    "人力资源和社会保障": "human_resources",
    "人力资源": "human_resources",
    "人社": "human_resources",
    "社保": "human_resources",
    "社会保险": "human_resources",
    "劳动保障": "human_resources",
    "劳动监察": "human_resources",
    "劳动和社会保障": "human_resources",
    "就业": "human_resources",
    # 教育
    "教育": "education",
    "教体": "education",
    "招生考试": "education",
    "考试院": "education",
    "学校": "education",
    # 卫生健康
    "卫生健康": "health",
    "卫健": "health",
    "卫计": "health",
    "卫生和计划生育": "health",
    "卫生局": "health",
    "计生": "health",
    "疾控": "health",
    # 水利
    "水利": "water_resources",
    "水务": "water_resources",
    # 民政
    "民政": "civil_affairs",
    "残联": "civil_affairs",
    # 应急管理
    "应急管理": "emergency_management",
    "安监": "emergency_management",
    "安全生产监督": "emergency_management",
    "消防": "emergency_management",
    # 公安
    "公安": "public_security",
    "派出所": "public_security",
    "交警": "public_security",
    "交通警察": "public_security",
    "刑侦": "public_security",
    "治安": "public_security",
    # 自然资源和规划 (forestry belongs to it in Zhejiang)
    "自然资源": "natural_resources",
    "国土": "natural_resources",
    "规划": "natural_resources",
    "不动产": "natural_resources",
    "林业": "natural_resources",
    # 商务
    "商务": "commerce",
    "商务局": "commerce",
    # 文化广电旅游
    "文化": "culture_tourism",
    "旅游": "culture_tourism",
    "文旅": "culture_tourism",
    "文体": "culture_tourism",
    "体育": "culture_tourism",
    "广电": "culture_tourism",
    "新闻出版": "culture_tourism",
    "文物": "culture_tourism",
    # 农业农村
    "农业": "agriculture",
    "农村": "agriculture",
    "农委": "agriculture",
    "畜牧": "agriculture",
    "农机": "agriculture",
    "扶贫": "agriculture",
    # 医疗保障
    "医疗保障": "medical_security",
    "医保": "medical_security",
    # the utilities
    "供电": "power_supply",
    "电力": "power_supply",
    "国网": "power_supply",
    "电业": "power_supply",
    "供水": "water_supply",
    "自来水": "water_supply",
    "燃气": "gas_supply",
    "天然气公司": "gas_supply",
    "公积金": "housing_fund",
    # street offices and township governments; communities and villages
    "街道": "street_office",
    "办事处": "street_office",
    "镇": "street_office",
    "乡": "street_office",
    "社区": "community_committee",
    "居委会": "community_committee",
    "村委会": "community_committee",
    "村委": "community_committee",
    # named, but no department type of the lists
    "法院": None,
    "检察院": None,
    "发展和改革": None,
    "发改": None,
    "财政": None,
    "税务": None,
    "国税": None,
    "地税": None,
    "信访": None,
    "政府办": None,
    "人民政府办公室": None,
    "网信": None,
    "统计": None,
    "审计": None,
    "银行": None,
    "移动": None,
    "电信": None,
    "联通": None,
    "邮政": None,
    "科技": None,
    "工业和信息化": None,
    "经信": None,
    "工信": None,
    "司法": None,
    "组织部": None,
    "宣传部": None,
    "统战部": None,
    "纪委": None,
    "监委": None,
    "档案": None,
    "气象": None,
    "烟草": None,
    "铁路": None,
    "机场": None,
    "宗教": None,
    "民族": None,
    "退役军人": None,
    "编办": None,
    "机关事务": None,
    "政务服务": None,
}

_ALIAS = re.compile("|".join(sorted(map(re.escape, ALIASES), key=len, reverse=True)))

# A body's name: an optional place (A3区, 市, 县, 某某镇), then words ending in a body suffix.
_SUFFIX = (
    r"(?:人民政府|党委政府|党委|政府|办事处|党工委|局|委员会|委|厅|中心|大队|支队|分局|站|所|"
    r"公司|办公室|办|院|处)"
)
_PLACE = r"(?:[A-Z]\d*[省市区县]|省|市|区|县)"
_NAME = rf"{_PLACE}?[\u4e00-\u9fff]{{1,12}}?{_SUFFIX}"
_STREET = r"[\u4e00-\u9fff]{2,4}(?:街道|镇|乡)(?![村居区道办])"
_BODY = rf"(?:{_PLACE}?{_STREET}(?:{_SUFFIX})?|{_NAME}|{_PLACE}[\u4e00-\u9fff]{{2,10}}部门)"

# Phrases that name the answering body, strongest first: (how, pattern with a group `body`).
_PHRASES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (how, re.compile(pattern))
    for how, pattern in (
        ("self", r"(?P<body>我(?:镇|乡|街道))"),
        ("handled", rf"(?:交由|交|转交|转至|转|责成|交办)(?P<body>{_BODY})(?:[^。]{{0,20}}?)"
         r"(?:办理|核实|调查|处理|核查|办复|答复|回复|查处)"),
        ("checked", rf"经(?:过)?(?P<body>{_BODY})(?:[^。，]{{0,6}}?)"
         r"(?:调查|核实|核查|查实|了解|研究|排查)"),
        ("took charge", rf"(?P<body>{_BODY})(?:党委政府|党委|领导)?"
         r"(?:高度重视|非常重视|十分重视|牵头|立即组织|收到|接到|已收悉)"),
        ("signed", rf"(?<!根据)(?P<body>{_BODY})\s*(?:\d{{4}}年|二[〇O○零]|$)"),
        ("asked", rf"(?:要求|督促|责成|委托)(?P<body>{_BODY})"),
        ("thanked", r"感谢您?对(?:我市|我县|我区|我省|[A-Z]\d*[市区县])?"
         r"(?P<body>[\u4e00-\u9fff]{2,8}?)(?:工作|事业)"),
    )
)  # fmt: skip
# Any body the reply names: when the phrases above find none, a reply that names bodies of one
# department type only (a bureau that signs as 我局 and gives its own number) gives that type.
# Only a bureau's or a company's name counts here: a street, town or school named in a reply is
# far more often the place of the matter than the body that answered.
_ANY = re.compile(
    rf"(?P<body>{_PLACE}?[\u4e00-\u9fff]{{1,8}}?(?:局|委员会|委|中心|大队|支队|派出所|公司))"
)
_SELF_BUREAU = re.compile(r"我(?:局|委|厅|中心|办|大队|公司)")


@dataclass(frozen=True, slots=True)
class Body:
    """The answering body of a reply: its name as written, its department type, and the phrase
    that named it (`how`)."""

    name: str
    type: str
    how: str


def body_type(name: str) -> str | bool | None:
    """The department type a body's name gives; None for a body the lists have no type for;
    False when no word of the name is known."""
    # 人民政府 holds 民政 (civil affairs) by accident: a township's government is its street office.
    name = name.replace("人民政府", "政府")
    found = _ALIAS.findall(name)
    if not found:
        return False
    if name.startswith(("我镇", "我乡", "我街道")):
        return "street_office"
    # A street office's department (某某街道城管办) is the street's; a bureau's own word first.
    words = sorted(found, key=len, reverse=True)
    for word in words:
        if word not in ("街道", "镇", "乡", "办事处", "社区", "居委会", "村委会", "村委"):
            return ALIASES[word]
    return ALIASES[words[0]]


def answering_body(reply: str) -> Body | None:
    """The body that answered, or None when the reply names none the lists know."""
    reply = reply.strip()
    for how, pattern in _PHRASES:
        for match in pattern.finditer(reply):
            name = match.group("body")
            kind = body_type(name)
            if kind is None:  # a body the lists have no type for answered
                return None
            if isinstance(kind, str):
                return Body(name, kind, how)
    named: dict[str, str] = {}
    for match in _ANY.finditer(reply):
        kind = body_type(match.group("body"))
        if isinstance(kind, str):
            named.setdefault(kind, match.group("body"))
    if len(named) == 1:
        ((kind, name),) = named.items()
        return Body(name, kind, "named alone")
    return None


@dataclass(frozen=True, slots=True)
class Outcome:
    """One message of the replies file with the body that answered it (None: not named)."""

    id: str
    title: str
    text: str
    reply: str
    body: Body | None


def read_outcomes(path: Path = REPLIES) -> Iterator[Outcome]:
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            yield Outcome(
                row["id"], row["title"], row["text"], row["reply"], answering_body(row["reply"])
            )
