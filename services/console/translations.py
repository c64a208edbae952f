"""The services' refusal reasons (English, for API clients) said in Chinese for the pages: the
known sentences by pattern; one not known yet is kept in English after the Chinese summary, so
nothing a service said is lost."""

from __future__ import annotations

import re

_STATES = {
    "assigned": "待签收",
    "signed": "已签收",
    "contacted": "已先行联系",
    "replied": "已办结",
    "closed": "已关闭",
    "returned": "已退单",
    "superseded": "已撤回",
}
_ACTIONS = {
    "sign": "签收",
    "contact": "先行联系",
    "reply": "办结答复",
    "return": "退单",
    "close": "关闭",
    "request-extension": "申请延期",
}

# (pattern, Chinese): named groups are put into the Chinese; `state` and `action` are named in
# Chinese too. The most specific pattern comes first.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), chinese)
    for pattern, chinese in (
        (r"^cannot \S+ a task in state \S+: sign the task before replying$", "请先签收再答复"),
        (
            r"^cannot \S+ a task in state \S+: contact the citizen \(先行联系\) before replying$",
            "请先与市民先行联系再答复",
        ),
        (
            r"^cannot \S+ a task in state \S+: sign the task before contacting the citizen$",
            "请先签收再先行联系",
        ),
        (r"^cannot \S+ a task in state \S+: the task is already signed$", "工单已签收"),
        (r"^cannot \S+ a task in state \S+: the task is already replied$", "工单已办结"),
        (
            r"^cannot \S+ a task in state \S+: a task whose citizen was contacted cannot be "
            r"returned$",
            "已先行联系市民的工单不能退单",
        ),
        (
            r"^cannot (?P<action>[a-z_-]+) a task in state (?P<state>[a-z_]+)",
            "工单{state}，不能{action}",
        ),
        (
            r"^the task changed since version (?P<seen>\d+): it is now at (?P<now>\d+)$",
            "工单已被他人更新（您看到的是第 {seen} 版，现为第 {now} 版），请刷新后重试",
        ),
        (r"^no such task for this department$", "本单位没有此工单"),
        (r"^no tasks for this demand that you may see$", "没有您可查看的该诉求工单"),
        (r"^no such summons for this department$", "本单位没有此吹哨报到"),
        (r"^no demand with this id and token$", "诉求编号与查询码不符"),
        (r"^unit (?P<unit>\d+) is outside your jurisdiction$", "单位 {unit} 不在您的管辖范围内"),
        (r"^outside your jurisdiction", "不在您的管辖范围内"),
        (
            r"^department (?P<dept>\S+) is outside unit (?P<unit>\d+)$",
            "单位 {dept} 不在 {unit} 的管辖范围内",
        ),
        (r"^task \S+ belongs to unit (?P<unit>\d+)$", "该工单属于单位 {unit}，不在您的管辖范围内"),
        (r"^no department (?P<dept>\S+) in the lists", "清单中没有单位 {dept}"),
        (r"^(?P<dept>\S+) already has a task on this demand$", "{dept} 已有此诉求的工单"),
        (r"^(?P<dept>\S+) already leads this task$", "{dept} 已是该工单的主办单位"),
        (r"^the dispute was already ruled by (?P<who>.+)$", "该争议已由 {who} 裁定"),
        (r"^already classified by (?P<who>.+)$", "已由 {who} 分拨"),
        (r"^no such demand in triage$", "分拨队列中没有该诉求"),
        (r"^an extension request for this task is already waiting$", "该工单已有待审批的延期申请"),
        (r"^only the lead department asks for an extension$", "只有主办单位可以申请延期"),
        (
            r"^the request lapsed: the task moved on before a decision$",
            "申请已失效：工单已进入下一环节",
        ),
        (
            r"^a task in state (?P<state>[a-z_]+) cannot ask for an extension$",
            "工单{state}，不能申请延期",
        ),
        (r"^the reply deadline \S+ has passed$", "答复期限已过，不能再申请延期"),
        (r"^no matter (?P<matter>\S+) in ", "事项目录中没有 {matter}"),
        (r"^unit (?P<unit>\S+) is not in the registry$", "区划库中没有单位 {unit}"),
        (r"^no unit (?P<unit>\S+) in the ", "区划库中没有单位 {unit}"),
        (r"^has no digits$", "号码中没有数字"),
        (r"^the link was already undone$", "该合并已撤销"),
    )
)


def in_chinese(reason: str) -> str | None:
    """The reason in Chinese, or None when it is not one the console knows."""
    for pattern, chinese in _REASONS:
        found = pattern.search(reason)
        if found is None:
            continue
        values = found.groupdict()
        if "state" in values:
            values["state"] = _STATES.get(values["state"], values["state"])
        if "action" in values:
            values["action"] = _ACTIONS.get(values["action"], values["action"])
        return chinese.format(**values)
    return None


def said(reason: str) -> str:
    """What a page shows for a service's reason: the Chinese when known, else the original."""
    return in_chinese(reason) or reason
