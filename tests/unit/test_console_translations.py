"""The services' refusal reasons read in Chinese on the console's pages; an unknown one is kept."""

from services.console.translations import in_chinese, said


def test_a_refused_transition_names_the_state_and_the_action_in_chinese():
    assert in_chinese("cannot sign a task in state replied: sign is not allowed once a task is "
                      "replied") == "工单已办结，不能签收"  # fmt: skip
    assert in_chinese("cannot reply a task in state assigned: sign the task before replying") == (
        "请先签收再答复"
    )


def test_a_version_conflict_says_both_versions():
    assert in_chinese("the task changed since version 3: it is now at 5") == (
        "工单已被他人更新（您看到的是第 3 版，现为第 5 版），请刷新后重试"
    )


def test_jurisdiction_and_unknown_names_keep_their_codes():
    assert said("unit 330503000000 is outside your jurisdiction") == (
        "单位 330503000000 不在您的管辖范围内"
    )
    assert said("no matter NO-SUCH in lists-2026.11") == "事项目录中没有 NO-SUCH"


def test_a_reason_not_known_yet_is_kept_as_the_service_said_it():
    assert in_chinese("something new went wrong") is None
    assert said("something new went wrong") == "something new went wrong"
