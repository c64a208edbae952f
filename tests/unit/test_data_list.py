from contracts.lists import load_lists

PAYLOAD = {
    "task_id": "t-1",
    "demand_id": "d-1",
    "content": "楼下噪音",
    "address": "月河社区3幢",
    "citizen": {"name": "张三", "phone": "13812345678"},
    "reply_text": "已处理",
    "state": "replied",
    "secret_internal_note": "never shown",
}


def test_only_the_lead_sees_the_citizen():
    data_list = load_lists().data_list
    assert data_list.apply("lead", PAYLOAD)["citizen"] == PAYLOAD["citizen"]
    for role in ("co_handler", "coordinator", "upper_level", "public"):
        assert "citizen" not in data_list.apply(role, PAYLOAD), role


def test_public_view_carries_no_content_or_address():
    public = load_lists().data_list.apply("public", PAYLOAD)
    assert public == {"demand_id": "d-1", "reply_text": "已处理", "state": "replied"}


def test_undeclared_fields_are_never_passed_on():
    for role in ("lead", "co_handler", "coordinator", "upper_level", "public"):
        assert "secret_internal_note" not in load_lists().data_list.apply(role, PAYLOAD)
