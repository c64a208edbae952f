"""The generated files are committed up to date, and the ACLs follow the chain."""

import itertools
import re

from contracts.asyncapi import ASYNCAPI_PATH, render_asyncapi
from contracts.jurisdiction import Level
from contracts.lists import DEFAULT_LISTS
from contracts.topics import all_topics, escalations_pattern, escalations_topic, tasks_topic
from k8s.render import (
    coordinator_user,
    department_user,
    kafka_topics,
    kafka_users,
    lists_files,
    render_generated,
    stale_files,
)
from tests.deploy.validation import K8S, load_yaml

DNS_1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _all_topics(lists):
    return all_topics(lists)


def _readable_topics(user, topics):
    acls = user["spec"].get("authorization", {}).get("acls", [])

    def allowed(topic):
        for acl in acls:
            resource = acl["resource"]
            if resource["type"] != "topic" or "Read" not in acl["operations"]:
                continue
            if resource["patternType"] == "literal" and resource["name"] == topic:
                return True
            if resource["patternType"] == "prefix" and topic.startswith(resource["name"]):
                return True
        return False

    return {topic for topic in topics if allowed(topic)}


def _group_prefixes(user):
    return [
        acl["resource"]["name"]
        for acl in user["spec"].get("authorization", {}).get("acls", [])
        if acl["resource"]["type"] == "group"
    ]


def test_asyncapi_document_is_up_to_date(lists):
    assert ASYNCAPI_PATH.read_text(encoding="utf-8") == render_asyncapi(lists), (
        "contracts/asyncapi.yaml is stale: run `liandong asyncapi` and commit it"
    )


def test_generated_kubernetes_files_are_up_to_date(lists):
    assert stale_files(render_generated(lists)) == [], "run `liandong k8s topics` and commit k8s/"


def test_lists_config_map_carries_every_lists_file():
    kustomization = load_yaml(K8S / "base" / "kustomization.yaml")
    (generator,) = [g for g in kustomization["configMapGenerator"] if g["name"] == "liandong-lists"]
    assert generator["files"] == [f"lists/{p.name}" for p in lists_files(DEFAULT_LISTS)]


def test_one_kafka_topic_per_topic_named_as_the_topic(lists):
    resources = kafka_topics(lists)
    assert [r["spec"]["topicName"] for r in resources] == _all_topics(lists)
    names = [r["metadata"]["name"] for r in resources]
    assert len(names) == len(set(names))
    for resource in resources:
        # a department type's `_` is `-` in the Kubernetes name, the topic keeps it
        assert resource["metadata"]["name"] == resource["spec"]["topicName"].replace("_", "-")
        assert DNS_1123.match(resource["metadata"]["name"])


def test_a_department_reads_only_its_own_task_topic(lists):
    topics = _all_topics(lists)
    for department in lists.departments:
        user = department_user(department)
        own = tasks_topic(department.unit_code, department.id)
        assert _readable_topics(user, topics) == {own}, department
        assert _group_prefixes(user) == [department.id]
        assert {
            op
            for acl in user["spec"].get("authorization", {}).get("acls", [])
            for op in acl["operations"]
        } <= {
            "Read",
            "Describe",
        }
    # not its district's other departments: each has a topic of its own
    by_id = {d.id: d for d in lists.departments}
    assert _readable_topics(department_user(by_id["330502000000.urban_management"]), topics) == {
        "tasks.3305.330502.330502000000.urban_management"
    }


def test_a_coordinator_reads_only_the_escalations_of_its_area(lists):
    topics = _all_topics(lists)
    coordinators = [u for u in lists.units if u.level in (Level.city, Level.district, Level.street)]
    assert len(coordinators) == 78
    for unit in coordinators:
        readable = _readable_topics(coordinator_user(unit), topics)
        if unit.level is Level.street:
            assert readable == {escalations_topic(unit.code)}, unit
        else:  # what the pattern a city or district centre subscribes with selects
            pattern = re.compile(escalations_pattern(unit.code))
            assert readable == {t for t in topics if pattern.match(t)}, unit
    city = coordinator_user(lists.units_by_code[lists.city_code])
    assert len(_readable_topics(city, topics)) == 6  # the city's and its five districts'


def test_consumer_group_prefixes_of_users_do_not_overlap(lists):
    prefixes = sorted(p for user in kafka_users(lists) for p in _group_prefixes(user))
    assert len(prefixes) == len(set(prefixes))
    for shorter, longer in itertools.pairwise(prefixes):
        assert not longer.startswith(shorter), (shorter, longer)


def test_kafka_user_names_are_unique_kubernetes_names(lists):
    users = kafka_users(lists)
    names = [u["metadata"]["name"] for u in users]
    # four services, the escalator, the notifier and the console; departments; coordinators
    assert len(users) == 7 + len(lists.departments) + 78
    assert len(names) == len(set(names))
    for name in names:
        assert len(name) <= 63, name
        assert DNS_1123.match(name), name
