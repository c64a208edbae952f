"""The desk exits the rules propose for a triage item: praise, a consultation, an invalid
contact; the operator decides, the proposal only puts the likely exit first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from contracts.events import DemandType, DeskExit

_CJK = re.compile(r"[\u4e00-\u9fff]")
# Praise names itself: 表扬, 锦旗, 点赞, 感谢信, or a text that opens with thanks. A closing
# "谢谢" or "感谢领导" ends many complaints and is not praise.
_PRAISE = re.compile(r"表扬|锦旗|点赞|赞扬|感谢信|致谢|好人好事|^\s*(非常|衷心|特别|十分)?感谢")
# Questions a knowledge-base answer can close: asking how, whether, where, what is needed.
_CONSULTATION = re.compile(
    r"咨询|请问|想问|问一下|想了解|怎么办理|如何办理|怎样办理|如何申请|怎么申请|需要什么材料|"
    r"需要哪些材料|在哪里办|是否可以|能否告知|是否符合|有没有规定|政策是什么|什么政策|怎么收费"
)
_INVALID = re.compile(r"^\s*(测试|test|喂+|你好|您好)\s*[。.!！?？]*\s*$", re.IGNORECASE)
_TOO_SHORT = 4  # fewer Chinese characters than this say nothing a department could act on


@dataclass(frozen=True, slots=True)
class ExitProposal:
    exit: DeskExit
    cue: str

    def as_suggestion(self) -> dict[str, Any]:
        return {"exit": self.exit.value, "cue": self.cue}


def propose_exits(text: str, demand_type: DemandType | str | None) -> list[ExitProposal]:
    """The desk exits that fit the text, the likeliest first (none: classify by hand)."""
    proposals: list[ExitProposal] = []
    chinese = len(_CJK.findall(text))
    if chinese < _TOO_SHORT or _INVALID.match(text):
        proposals.append(ExitProposal(DeskExit.invalid, "no content" if not chinese else text))
        return proposals
    if praise := _PRAISE.search(text):
        proposals.append(ExitProposal(DeskExit.praise, praise.group(0).strip()))
    if demand_type == DemandType.consult.value:
        proposals.append(ExitProposal(DeskExit.consultation, "demand type consult"))
    elif question := _CONSULTATION.search(text):
        proposals.append(ExitProposal(DeskExit.consultation, question.group(0)))
    return proposals
