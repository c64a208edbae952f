"""The Apache Kafka of the tests and `make run` is the one production runs: deploy/kafka/pom.xml
pins the version, and deploy/compose.yaml and the Strimzi cluster of k8s/ run the same."""

import yaml

from services.runtime.apache_kafka import pinned_version
from tests.deploy.validation import ROOT


def test_compose_and_strimzi_run_the_version_the_pom_pins():
    version = pinned_version()
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{version}"
    strimzi = [
        d
        for d in yaml.safe_load_all((ROOT / "k8s" / "kafka" / "kafka.yaml").read_text("utf-8"))
        if d and d.get("kind") == "Kafka"
    ]
    assert [d["spec"]["kafka"]["version"] for d in strimzi] == [version]
