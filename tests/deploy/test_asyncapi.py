"""contracts/asyncapi.yaml is a valid AsyncAPI 3.0 document of every topic; broken copies fail."""

import copy

import pytest

from contracts.asyncapi import ASYNCAPI_PATH, TASKS_ADDRESS, TASKS_CHANNEL, topic_plans
from contracts.events import EVENT_MODELS
from contracts.topics import all_topics, is_tasks_topic, tasks_topic
from k8s.render import kafka_topics
from tests.deploy.validation import asyncapi_errors, load_yaml


@pytest.fixture(scope="module")
def document():
    return load_yaml(ASYNCAPI_PATH)


def test_document_is_valid_asyncapi_3(document):
    assert document["asyncapi"] == "3.0.0"
    assert asyncapi_errors(document, ASYNCAPI_PATH.parent) == []


def _channel_key(plan):
    return TASKS_CHANNEL if plan.family == "tasks" else plan.name


def test_every_topic_is_a_channel_with_kafka_bindings(document, lists):
    channels = document["channels"]
    expected = []  # every topic, the department task topics as one templated channel
    for name in all_topics(lists):
        address = TASKS_ADDRESS if is_tasks_topic(name) else name
        if address not in expected:
            expected.append(address)
    assert [c["address"] for c in channels.values()] == expected
    for plan in topic_plans(lists):
        binding = channels[_channel_key(plan)]["bindings"]["kafka"]
        assert (binding.get("topic", plan.name), binding["partitions"], binding["replicas"]) == (
            plan.name,
            plan.partitions,
            plan.replicas,
        )


def test_the_task_channel_template_gives_every_department_topic_and_no_other(document, lists):
    parameters = document["channels"][TASKS_CHANNEL]["parameters"]
    areas, departments = parameters["area"]["enum"], parameters["departmentId"]["enum"]
    assert departments == sorted(d.id for d in lists.departments)
    task_topics = {t for t in all_topics(lists) if is_tasks_topic(t)}
    for department in lists.departments:
        area = next(a for a in areas if f"tasks.{a}.{department.id}" in task_topics)
        assert tasks_topic(department.unit_code, department.id) == f"tasks.{area}.{department.id}"


def test_bindings_match_the_strimzi_topics(document, lists):
    for topic in kafka_topics(lists):
        name = topic["spec"]["topicName"]
        channel = TASKS_CHANNEL if is_tasks_topic(name) else name
        binding = document["channels"][channel]["bindings"]["kafka"]
        assert binding["partitions"] == topic["spec"]["partitions"]
        assert binding["replicas"] == topic["spec"]["replicas"]


def test_every_event_is_a_message_on_its_topic(document):
    on_channels = {
        ref["$ref"].rsplit("/", 1)[-1]
        for channel in document["channels"].values()
        for ref in channel["messages"].values()
    }
    for model in EVENT_MODELS:
        assert model.TYPE in on_channels, model.TYPE
        message = document["components"]["messages"][model.TYPE]
        assert message["payload"] == {"$ref": f"schemas/{model.TYPE}.json"}
        assert message["headers"]["properties"]["ce_type"]["const"] == model.TYPE
    task_messages = set(document["channels"][TASKS_CHANNEL]["messages"])
    assert "cn.liandong.task.assigned.v1" in task_messages
    assert all(m.startswith("cn.liandong.task.") for m in task_messages)


def _broken(document, change):
    broken = copy.deepcopy(document)
    change(broken)
    return broken


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda d: d["operations"]["intake.send.demand.received"].update(action="publish"),
            id="operation-action-of-asyncapi-2",
        ),
        pytest.param(
            lambda d: d["channels"]["demand.received"]["bindings"]["kafka"].update(partitions=0),
            id="zero-partitions",
        ),
        pytest.param(lambda d: d["info"].pop("version"), id="no-info-version"),
        pytest.param(
            lambda d: d["channels"][TASKS_CHANNEL]["messages"][
                "cn.liandong.task.assigned.v1"
            ].update({"$ref": "#/components/messages/cn.liandong.task.assigned.v9"}),
            id="dangling-message-reference",
        ),
        pytest.param(
            lambda d: d["components"]["messages"]["cn.liandong.demand.received.v1"].update(
                payload={"$ref": "schemas/cn.liandong.demand.received.v0.json"}
            ),
            id="missing-payload-schema-file",
        ),
        pytest.param(
            lambda d: d["operations"]["routing.send.tasks"]["messages"].append(
                {"$ref": "#/channels/demand.status/messages/cn.liandong.demand.status-changed.v1"}
            ),
            id="operation-message-of-another-channel",
        ),
    ],
)
def test_broken_copies_fail(document, change):
    assert asyncapi_errors(_broken(document, change), ASYNCAPI_PATH.parent) != []
