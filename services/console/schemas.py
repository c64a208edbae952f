"""The console's forms, each checked on the server, with the reason for each refused field in
Chinese; and the demo users of `make run`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from contracts.events.demand import DemandType
from contracts.events.feedback import Satisfaction
from contracts.events.task import ReplyResult, ReturnReason
from services.runtime.auth import Role


@dataclass(frozen=True)
class DemoUser:
    label: str
    role: Role
    subject: str  # the department id or the coordinator's unit; the operator's name


DEMO_USERS = {
    "operator": DemoUser("话务员（12345 热线）", Role.operator, "demo"),
    "urban": DemoUser("吴兴区综合行政执法局", Role.department, "330502000000.urban_management"),
    "street": DemoUser("朝阳街道办事处", Role.department, "330502002000.street_office"),
    "district": DemoUser("吴兴区协调员", Role.coordinator, "330502000000"),
    "city": DemoUser("湖州市协调员（领导驾驶舱）", Role.coordinator, "330500000000"),
}

Stripped = Annotated[str, StringConstraints(strip_whitespace=True)]
_FORM = ConfigDict(extra="ignore", str_strip_whitespace=True)


class EvaluationForm(BaseModel):
    """The citizen's evaluation of the reply (回访评价)."""

    model_config = _FORM
    resolved: Literal["yes", "no"]
    satisfaction: Satisfaction
    comment: str = Field(default="", max_length=500)


class CallForm(BaseModel):
    """A call taken by a hotline operator: the five elements (who, how to reach them, where,
    what, which kind) and, when the operator picked one, the matter."""

    model_config = _FORM
    content: str = Field(min_length=5, max_length=4000)
    name: str = Field(default="", max_length=100)
    phone: str = Field(default="", pattern=r"^$|^\+?[0-9][0-9 -]{4,19}$")
    place: str = Field(min_length=2, max_length=500)
    demand_type: DemandType | Literal[""] = ""
    matter_code: str = Field(default="", max_length=100)


class CallerForm(BaseModel):
    """The phone number of the caller on the line, to look up their earlier demands."""

    model_config = _FORM
    caller_phone: str = Field(pattern=r"^\+?[0-9][0-9 -]{4,19}$")


class ClassifyForm(BaseModel):
    model_config = _FORM
    matter_code: str = Field(min_length=1, max_length=100)
    unit_code: str = Field(pattern=r"^[0-9]{12}$")


class ReplyForm(BaseModel):
    model_config = _FORM
    result: ReplyResult
    reply_text: str = Field(min_length=2, max_length=4000)


class ReturnForm(BaseModel):
    model_config = _FORM
    reason_code: ReturnReason
    legal_basis: str = Field(min_length=4, max_length=1000)


class ExtensionForm(BaseModel):
    model_config = _FORM
    amount: int = Field(ge=1, le=60)
    unit: Literal["working_days", "working_hours"]
    reason: str = Field(min_length=4, max_length=1000)


class RulingForm(BaseModel):
    model_config = _FORM
    lead_department_id: str = Field(min_length=3, max_length=100)
    legal_basis: str = Field(default="", max_length=1000)  # empty: the matter's, from the lists


class CoordinateForm(BaseModel):
    """A coordinator's act on an escalated task: reassign (改派), add a co-handler (加派) or
    summon departments to the scene (吹哨报到; several ids separated by commas)."""

    model_config = _FORM
    act: Literal["reassign", "co-handlers", "summons"]
    department_id: str = Field(min_length=3, max_length=400)
    reason: str = Field(min_length=4, max_length=1000)
    legal_basis: str = Field(default="", max_length=1000)  # empty: the matter's, from the lists


class DecisionForm(BaseModel):
    model_config = _FORM
    approve: Literal["yes", "no"]
    note: str = Field(default="", max_length=1000)
    legal_basis: str = Field(default="", max_length=1000)  # empty: the matter's, from the lists


Form = TypeVar("Form", bound=BaseModel)


def read_form(model: type[Form], form: Mapping[str, Any]) -> tuple[Form | None, dict[str, str]]:
    """The form as `model`, or None and the reason for each refused field, in Chinese."""
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        return model.model_validate(values), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors(include_url=False):
            name = str(error["loc"][0]) if error["loc"] else "form"
            errors.setdefault(name, chinese_reason(error["type"], error.get("ctx") or {}))
        return None, errors


def chinese_reason(kind: str, ctx: dict[str, object]) -> str:
    if kind == "missing":
        return "必填"
    if kind == "string_too_short":
        return "必填" if ctx.get("min_length") == 1 else f"至少 {ctx.get('min_length')} 个字"
    if kind == "string_too_long":
        return f"最多 {ctx.get('max_length')} 个字"
    if kind == "string_pattern_mismatch":
        return "格式不正确"
    if kind in ("enum", "literal_error"):
        return "请从选项中选择一项"
    if kind in ("int_parsing", "int_type"):
        return "请填写整数"
    if kind == "greater_than_equal":
        return f"不能小于 {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"不能大于 {ctx.get('le')}"
    return "填写有误"


FIELD_NAMES = {
    "act": "处置方式",
    "department_id": "单位",
    "lead_department_id": "主办单位",
    "reason": "理由",
    "approve": "是否同意",
    "note": "意见",
}


def refused(errors: Mapping[str, str]) -> str:
    """One line naming every refused field, for a form whose fields have no room of their own."""
    return "提交的内容有误：" + "；".join(
        f"{FIELD_NAMES.get(name, name)}{reason}" for name, reason in errors.items()
    )
