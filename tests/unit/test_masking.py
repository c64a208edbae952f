"""Personal data in free text: labelled and known names, house numbers, and log lines that
mask the citizen in hand wherever their name turns up."""

import json
import logging

import structlog

from services.runtime.logging import SHARED_PROCESSORS
from services.runtime.masking import (
    citizens_in_hand,
    mask_for_log,
    mask_house_numbers,
    mask_known,
    mask_text,
)


def test_labelled_names_keep_only_the_surname():
    assert mask_text("联系人：王小明，电话见上") == "联系人：王**，电话见上"
    assert mask_text("我叫欧阳明珠") == "我叫欧***"
    assert mask_text("姓名: 李四") == "姓名: 李*"


def test_text_without_a_label_keeps_its_words():
    text = "月河社区楼下烧烤店每晚噪音扰民到凌晨两点，多次反映未解决"
    assert mask_text(text) == text


def test_house_numbers_go_and_the_street_stays():
    masked = mask_house_numbers("湖州市吴兴区红旗路918号7幢3单元1402室")
    assert masked == "湖州市吴兴区红旗路***号*幢*单元****室"


def test_a_known_name_is_masked_wherever_it_appears():
    text = "已联系欧阳明珠，欧阳明珠表示满意"
    assert mask_known(text, ["欧阳明珠"]) == "已联系欧***，欧***表示满意"
    assert mask_known(text, [""]) == text  # no name given: nothing to hide


def test_log_lines_mask_the_citizen_in_hand_only_while_in_hand():
    with citizens_in_hand(["欧阳明珠"], ["红旗路918号"]):
        inside = mask_for_log("欧阳明珠 at 红旗路918号, 13987654321")
    assert inside == "欧*** at 红旗路***号, 139****4321"
    assert mask_for_log("欧阳明珠") == "欧阳明珠"  # after: no longer known


def test_every_log_line_goes_through_the_masking(caplog):
    processors = [*SHARED_PROCESSORS, structlog.processors.JSONRenderer(ensure_ascii=False)]
    logger = structlog.wrap_logger(
        logging.getLogger("liandong.test"),
        processors=processors,
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    with caplog.at_level(logging.WARNING), citizens_in_hand(["欧阳明珠"], []):
        logger.warning("odd", error="value 欧阳明珠 refused at 红旗路918号7幢")
    line = json.loads(caplog.records[-1].getMessage())
    assert "欧阳明珠" not in line["error"]
    assert "918" not in line["error"]
