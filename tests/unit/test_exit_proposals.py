"""The desk exits the rules propose for a triage item: praise that names itself, questions a
knowledge-base answer can close, contacts with nothing to act on; a complaint that ends with
thanks is not praise."""

import pytest

from contracts.events import DeskExit
from services.classification.exits import propose_exits
from services.classification.knowledge import Tokeniser


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("我想表扬城管局的工作人员，帮我们清理了垃圾", DeskExit.praise),
        ("非常感谢派出所民警帮我找回了钱包", DeskExit.praise),
        ("给环卫工人送一面锦旗", DeskExit.praise),
        ("请问外地户口办理居住证需要什么材料？", DeskExit.consultation),
        ("咨询一下公积金贷款的额度怎么算", DeskExit.consultation),
        ("测试", DeskExit.invalid),
        ("喂喂", DeskExit.invalid),
        ("hello??", DeskExit.invalid),
    ],
)
def test_the_likeliest_exit_comes_first(text, first):
    assert propose_exits(text, None)[0].exit is first


def test_a_complaint_that_ends_with_thanks_gets_no_desk_exit():
    text = "小区门口烧烤店每晚噪音扰民到凌晨两点，希望尽快处理，谢谢！感谢领导关注。"
    assert propose_exits(text, None) == []


def test_a_demand_filed_as_a_consultation_is_proposed_as_one():
    [proposal] = propose_exits("居住证的有效期是多久", "consult")
    assert (proposal.exit, proposal.cue) == (DeskExit.consultation, "demand type consult")


def test_praise_and_a_question_in_one_text_propose_both_praise_first():
    exits = propose_exits("表扬社区医生，另外请问疫苗在哪里打？", None)
    assert [p.exit for p in exits] == [DeskExit.praise, DeskExit.consultation]


def test_search_words_leave_out_question_words_and_single_characters():
    words = Tokeniser().query_words("请问高校毕业生的户口怎么迁入本市？")
    assert "请问" not in words
    assert "怎么" not in words
    assert "户口" in words
    assert all(len(w) > 1 for w in words)
