"""The answering body read from official replies, the held-out split of the routing evaluation,
the power list's level chosen on evidence, and `liandong route`'s reading of a CSV."""

import io

import pytest

from contracts.jurisdiction import Level
from contracts.lists import load_lists
from services.classification.replies import Outcome, answering_body, body_type
from services.classification.route_file import MalformedCsv, read_rows
from services.classification.routing_eval import groups, held_out

COMMUNITY = "330502001016"


@pytest.mark.parametrize(
    ("reply", "kind", "how"),
    [
        (
            "您好！针对您反映的问题,A3区洋湖街道高度重视，现回复如下：……2019年4月29日",
            "street_office",
            "took charge",
        ),
        ("网友您好！经A5区教育局核实，该园尚未移交。2019年1月15日", "education", "checked"),
        (
            "您反映的问题已转交县生态环境局核实、办复。2019年12月3日",
            "ecology_environment",
            "handled",
        ),
        ("您提出的意见我镇党委政府十分重视，正在加紧铺设管网。", "street_office", "self"),
        ("感谢您的来信。A7县交通运输局 2013年9月16日", "transport", "signed"),
        ("请您理解。黄花镇人民政府 2015年2月5日", "street_office", "signed"),
        (
            "我局已要求路灯维护单位调整，如有疑问，可致电县城管局咨询。",
            "urban_management",
            "named alone",
        ),
    ],
)
def test_a_reply_names_the_body_that_answered(reply, kind, how):
    body = answering_body(reply)
    assert body is not None
    assert (body.type, body.how) == (kind, how)


@pytest.mark.parametrize(
    "reply",
    [
        "我院高度重视，立即组织专人查实。二O一七年三月二日",  # a court: no type of the lists
        "您好，来信收悉！感谢来信！",  # no body at all
        "您反映的问题已转县财政局调查处理。",  # a bureau the lists have no type for
        "我局已收悉，现回复如下：……我局将加强监管。",  # 我局, never named
    ],
)
def test_a_reply_that_names_no_body_of_the_lists_gives_none(reply):
    assert answering_body(reply) is None


def test_a_township_government_is_a_street_office_not_civil_affairs():
    # 人民政府 holds 民政 by accident.
    assert body_type("金子岩侗族苗族乡人民政府") == "street_office"
    assert body_type("A市民政局") == "civil_affairs"


def _outcome(id_, title, text):
    return Outcome(id_, title, text, "", None)


def test_near_duplicates_share_a_group_and_a_side_of_the_split():
    outcomes = [
        _outcome("1", "A3区某小区噪音扰民", "每晚噪音到两点，严重影响休息"),
        _outcome("2", "A5区某小区噪音扰民", "另一段不同的文字"),  # same title once places go
        _outcome("3", "别的标题", "每晚噪音到两点，严重影响休息"),  # same text start
        _outcome("4", "完全无关的标题", "完全无关的内容"),
    ]
    keys = groups(outcomes)
    assert keys[0] == keys[1] == keys[2] != keys[3]
    assert len({held_out(k) for k in keys[:3]}) == 1
    assert groups(outcomes) == keys  # deterministic


def test_the_split_holds_out_about_a_quarter_of_groups_by_hash():
    keys = [f"{i}:title {i}" for i in range(2000)]
    share = sum(map(held_out, keys)) / len(keys)
    assert 0.2 < share < 0.3
    assert [held_out(k) for k in keys] == [held_out(k) for k in keys]


def test_a_level_chosen_on_evidence_follows_the_power_lists_rule_there():
    lists = load_lists()
    default = lists.owner("CITY-ILLEGAL-BUILD", COMMUNITY)
    assert (default.level, default.lead.type) == (Level.district, "urban_management")
    street = lists.owner("CITY-ILLEGAL-BUILD", COMMUNITY, Level.street)
    assert (street.level, street.lead.type) == (Level.street, "street_office")
    assert street.rule.startswith("power:CITY-ILLEGAL-BUILD@street->street_office")
    assert "level chosen on evidence" in street.rule
    # A level without a rule for the matter: the handling level decides, as always.
    city = lists.owner("CITY-ILLEGAL-BUILD", COMMUNITY, Level.city)
    assert (city.level, city.lead.type) == (Level.district, "urban_management")


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("id,title\n1,x\n", "line 1: the header lacks column text"),
        ("id,title,text,colour\n1,a,b,red\n", "line 1: unknown column colour"),
        ("id,title,text\n1,标题,内容\n2,只有标题\n", "line 3, column text: 2 fields"),
        ("id,title,text,unit_code\n1,标题,内容,3305\n", "line 2, column unit_code"),
        ("id,title,text\n,标题,内容\n", "line 2, column id: empty"),
        ("id,title,text\n1,,\n", "line 2, column text: empty"),
        ('id,title,text\n1,"标题\n2,x,y\n', "line"),
    ],
)
def test_a_malformed_csv_names_the_line_and_the_column(csv_text, message):
    with pytest.raises(MalformedCsv, match=message):
        list(read_rows(io.StringIO(csv_text)))


def test_a_well_formed_csv_reads_every_row_with_its_line():
    text = 'id,title,text,unit_code\n1,标题,"内容，带逗号"\n2,,只有内容,330502001016\n'
    text = text.replace('"内容，带逗号"\n', '"内容，带逗号",\n')
    rows = list(read_rows(io.StringIO(text)))
    assert [(r.line, r.id, r.content, r.unit_code) for r in rows] == [
        (2, "1", "标题。内容，带逗号", None),
        (3, "2", "只有内容", COMMUNITY),
    ]


def test_operator_history_skips_and_counts_what_the_lists_do_not_know(tmp_path):
    from services.classification.routing_training import operator_history

    path = tmp_path / "operator-2026-12.csv"
    path.write_text(
        "id,title,text,label,text_source,created_at,matter_code,unit_code\n"
        "a,,小区违章搭建,城乡建设,operator,2026-12-01,CITY-ILLEGAL-BUILD,330502001016\n"
        "b,,,城乡建设,operator,2026-12-01,CITY-ILLEGAL-BUILD,330502001016\n"
        "c,,某事,城乡建设,operator,2026-12-01,NO-SUCH-MATTER,330502001016\n"
        "d,,某事,城乡建设,operator,2026-12-01,CITY-ILLEGAL-BUILD,999999999999\n"
        "e,,旧导出没有事项列,城乡建设,operator,2026-12-01,,\n",
        encoding="utf-8",
    )
    history = operator_history(load_lists(), [path])
    assert (history.texts, history.types) == (["小区违章搭建"], ["urban_management"])
    assert history.skipped == {
        "empty text": 1,
        "matter unknown to the lists": 2,
        "unit unknown to the lists": 1,
    }


def _dispatch_file(path, rows):
    from services.routing.history import COLUMNS

    header = ",".join(COLUMNS)
    lines = [f"{i},{text},330502001016,{dept},,reassignment,2026-12-01,X" for i, text, dept in rows]
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def test_dispatch_history_skips_and_counts_what_the_lists_do_not_know(tmp_path):
    from services.classification.routing_training import dispatch_history

    path = _dispatch_file(
        tmp_path / "dispatch-2026-12.csv",
        [
            ("a", "小区门口烧烤摊油烟扰民", "330502000000.market_regulation"),
            ("b", "", "330502000000.market_regulation"),
            ("c", "某事", "330502000000.no_such_type"),
            ("d", "某事", ""),
        ],
    )
    history = dispatch_history(load_lists(), [path])
    assert (history.texts, history.types) == (["小区门口烧烤摊油烟扰民"], ["market_regulation"])
    assert history.skipped == {"empty text": 1, "department unknown to the lists": 2}


def test_make_model_learns_department_types_from_reassignments_and_rulings(tmp_path, classifier):
    """Gas supply answered two replies of 897; thirty coordinators' choices of it for one kind
    of demand make the trained model choose it for that demand."""
    from services.classification.routing_model import Router
    from services.classification.routing_training import train_artifact

    lists = load_lists()
    gas = next(d.id for d in lists.departments if d.type == "gas_supply")
    text = "小区天然气管道阀门漏气，闻到很重的燃气味"
    path = _dispatch_file(tmp_path / "dispatch-2026-12.csv", [(i, text, gas) for i in range(30)])
    artifact = tmp_path / "routing-model.pkl.gz"
    model, history = train_artifact(
        lists, classifier, operator_files=[], dispatch_files=[path], artifact=artifact
    )
    assert history.types.count("gas_supply") >= 30
    assert artifact.exists()
    [route] = Router(lists, classifier, model).route_many([text], [COMMUNITY], threshold=0.0)
    assert route.department_type == "gas_supply"
