"""Both overlays render, every object validates (Kubernetes strict, Strimzi against the vendored
CRDs) and the workloads keep the rules of issue 8; broken copies fail."""

import pytest
import yaml

from contracts.asyncapi import PIPELINE_PARTITIONS
from tests.deploy.conftest import by_kind, copy_tree
from tests.deploy.kustomize import KustomizeError, Loader, build, load_documents
from tests.deploy.validation import (
    K8S,
    KUBERNETES_VERSIONS,
    OVERLAYS,
    PROMETHEUS_CRDS,
    STRIMZI_CRDS,
    custom_errors,
    is_custom,
    is_prometheus_operator,
    is_strimzi,
    kubernetes_errors,
    load_yaml,
)

SERVICES = {
    "intake": 8000,
    "classification": 8001,
    "routing": 8002,
    "feedback": 8003,
    "console": 8080,
}
# Citizens rate replies on feedback; 12345 operators work the triage queue on classification;
# everyone's pages are the console's.
PUBLIC = {"intake", "routing", "feedback", "classification", "console"}
APIS = sorted(PUBLIC - {"console"})
WORKLOADS = {"Deployment", "StatefulSet", "Job"}


def _pods(resources):
    for resource in resources:
        if resource["kind"] in WORKLOADS:
            yield resource, resource["spec"]["template"]


def _app_pods(resources):
    for resource, template in _pods(resources):
        if template["metadata"]["labels"].get("app.kubernetes.io/part-of") == "liandong":
            yield resource, template


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_kubernetes_object_is_valid_in_strict_mode(rendered, overlay):
    resources = [r for r in rendered[overlay] if not is_custom(r)]
    assert {r["kind"] for r in resources} >= {
        "Namespace",
        "ServiceAccount",
        "ConfigMap",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Job",
    }
    errors = [e for r in resources for v in KUBERNETES_VERSIONS for e in kubernetes_errors(r, v)]
    assert errors == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_strimzi_resource_matches_the_vendored_crds(rendered, overlay):
    resources = [r for r in rendered[overlay] if is_strimzi(r)]
    kinds = {r["kind"] for r in resources}
    assert kinds == {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"}
    assert [e for r in resources for e in custom_errors(r)] == []
    (kafka,) = by_kind(resources, "Kafka").values()
    for resource in resources:
        if resource["kind"] != "Kafka":  # the operators pick resources up by this label
            assert resource["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]


def test_prod_is_monitored_by_the_prometheus_operator_with_the_compose_alerts(rendered):
    resources = [r for r in rendered["prod"] if is_prometheus_operator(r)]
    assert {r["kind"] for r in resources} == {"PodMonitor", "PrometheusRule"}
    assert [e for r in resources for e in custom_errors(r)] == []
    assert not [r for r in rendered["dev"] if is_prometheus_operator(r)]
    (monitor,) = by_kind(resources, "PodMonitor").values()
    (rule,) = by_kind(resources, "PrometheusRule").values()
    assert rule["metadata"]["namespace"] == monitor["metadata"]["namespace"] == "liandong"
    # The rules are compose's (a stale copy fails test_generated), and they select on the labels
    # compose's scrape config sets: job="liandong" and `service`. The PodMonitor sets the same.
    alerts = load_yaml(K8S.parent / "deploy" / "prometheus" / "alerts.yml")
    assert rule["spec"]["groups"] == alerts["groups"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    job_label = monitor["spec"]["jobLabel"]
    apps = [t for _, t in _app_pods(rendered["prod"]) if "ports" in t["spec"]["containers"][0]]
    served = {t["metadata"]["labels"]["app.kubernetes.io/name"] for t in apps}
    assert served >= {*SERVICES, "escalator"}
    for template in apps:
        labels = template["metadata"]["labels"]
        assert selector.items() <= labels.items()
        assert labels[job_label] == "liandong"
        port_names = {p["name"] for p in template["spec"]["containers"][0]["ports"]}
        assert monitor["spec"]["podMetricsEndpoints"][0]["port"] in port_names
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["relabelings"] == [
        {
            "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
            "targetLabel": "service",
        }
    ]


def test_vendored_crds_are_valid_custom_resource_definitions():
    paths = sorted([*STRIMZI_CRDS.glob("*.yaml"), *PROMETHEUS_CRDS.glob("*.yaml")])
    assert len(paths) == 6
    for path in paths:
        crd = load_yaml(path)
        assert [e for v in KUBERNETES_VERSIONS for e in kubernetes_errors(crd, v)] == [], path


def test_kafka_runs_kraft_with_node_pools(rendered):
    for overlay in OVERLAYS:
        resources = rendered[overlay]
        (kafka,) = by_kind(resources, "Kafka").values()
        pools = by_kind(resources, "KafkaNodePool").values()
        assert "zookeeper" not in kafka["spec"]
        assert {role for pool in pools for role in pool["spec"]["roles"]} == {
            "controller",
            "broker",
        }
        assert kafka["spec"]["kafka"]["config"]["auto.create.topics.enable"] is False
    (prod_pool,) = by_kind(rendered["prod"], "KafkaNodePool").values()
    assert prod_pool["spec"]["replicas"] >= 3
    dev, prod = (by_kind(rendered[o], "Kafka")["liandong"]["spec"]["kafka"] for o in OVERLAYS)
    assert prod["listeners"][: len(dev["listeners"])] == dev["listeners"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_restricted_with_requests_and_limits(rendered, overlay):
    pods = list(_pods(rendered[overlay]))
    assert pods
    for resource, template in pods:
        spec = template["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, resource["metadata"]["name"]
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, container["name"]
            assert context["readOnlyRootFilesystem"] is True, container["name"]
            assert context["capabilities"] == {"drop": ["ALL"]}, container["name"]
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) == {"cpu", "memory"}, container["name"]


def test_services_and_the_escalator_probe_their_health_endpoints(rendered):
    deployments = by_kind(rendered["prod"], "Deployment")
    assert set(deployments) == {*SERVICES, "escalator"}
    for name, deployment in deployments.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"].startswith("registry.example.org/liandong/liandong:")
        expected = ["serve", name] if name in SERVICES else ["escalator"]
        assert container["args"] == expected
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": SERVICES.get(name, 8004)}
        assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}


def test_each_service_has_a_service_an_autoscaler_and_a_disruption_budget(rendered):
    for overlay in OVERLAYS:
        resources = rendered[overlay]
        services = by_kind(resources, "Service")
        autoscalers = by_kind(resources, "HorizontalPodAutoscaler")
        budgets = by_kind(resources, "PodDisruptionBudget")
        for name, port in SERVICES.items():
            assert services[name]["spec"]["ports"][0]["port"] == port
            assert services[name]["spec"]["selector"] == {"app.kubernetes.io/name": name}
            target = autoscalers[name]["spec"]["scaleTargetRef"]
            assert (target["kind"], target["name"]) == ("Deployment", name)
            # a consumer group uses at most one replica per partition
            assert autoscalers[name]["spec"]["maxReplicas"] <= PIPELINE_PARTITIONS
            assert "replicas" not in by_kind(resources, "Deployment")[name]["spec"]
        for name in [*SERVICES, "escalator"]:
            selector = budgets[name]["spec"]["selector"]["matchLabels"]
            assert selector == {"app.kubernetes.io/name": name}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_referenced_never_committed(rendered, overlay):
    resources = rendered[overlay]
    assert not [r for r in resources if r["kind"] == "Secret"]
    referenced = set()
    for _, template in _pods(resources):
        for container in template["spec"]["containers"]:
            for env in container.get("env", []):
                if "valueFrom" in env:
                    referenced.add(env["valueFrom"]["secretKeyRef"]["name"])
                else:
                    assert "PASSWORD" not in env["name"], env
                    assert "SECRET" not in env["name"], env
    # and each service's KafkaUser Secret, written by Strimzi's User Operator
    kafka_users = {"intake", "classification", "routing", "feedback", "escalator"}
    expected = {"liandong-database", "liandong-auth", *kafka_users}
    assert referenced == (expected | {"liandong-postgresql"} if overlay == "dev" else expected)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_open_only_the_http_apis_and_reach_only_postgres_and_kafka(
    rendered, overlay
):
    resources = rendered[overlay]
    policies = by_kind(resources, "NetworkPolicy")
    app = {"app.kubernetes.io/part-of": "liandong"}
    egress, deny = policies["liandong-egress"], policies["liandong-deny-ingress"]
    assert egress["spec"]["podSelector"] == {"matchLabels": app}
    assert deny["spec"] == {"podSelector": {"matchLabels": app}, "policyTypes": ["Ingress"]}
    ports = {(p["protocol"], p["port"]) for rule in egress["spec"]["egress"] for p in rule["ports"]}
    assert ports == {("TCP", 5432), ("TCP", 9092), ("UDP", 53), ("TCP", 53)}
    public = policies["liandong-public-ingress"]["spec"]
    assert public["podSelector"]["matchExpressions"] == [
        {"key": "app.kubernetes.io/name", "operator": "In", "values": sorted(PUBLIC)}
    ]
    (rule,) = public["ingress"]
    assert [set(peer) for peer in rule["from"]] == [{"namespaceSelector"}]
    # every Liandong pod is under both policies; only the public ones have an opening
    names = {t["metadata"]["labels"]["app.kubernetes.io/name"] for _, t in _app_pods(resources)}
    assert names == {*SERVICES, "escalator", "migrate"}
    # Prometheus, from the monitoring namespace only, to the http port of every serving pod,
    # each annotated with the port its /metrics is on.
    metrics = policies["liandong-metrics-ingress"]["spec"]
    scraped = sorted({*SERVICES, "escalator"})
    assert metrics["podSelector"]["matchExpressions"] == [
        {"key": "app.kubernetes.io/name", "operator": "In", "values": scraped}
    ]
    (rule,) = metrics["ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
    assert rule["ports"] == [{"protocol": "TCP", "port": "http"}]
    for _, template in _app_pods(resources):
        name = template["metadata"]["labels"]["app.kubernetes.io/name"]
        if name not in scraped:
            continue
        annotations = template["metadata"]["annotations"]
        (http,) = [
            port
            for container in template["spec"]["containers"]
            for port in container.get("ports", [])
            if port["name"] == "http"
        ]
        assert annotations["prometheus.io/port"] == str(http["containerPort"])
        assert annotations["prometheus.io/path"] == "/metrics"
    # The console reaches the four services' http port, and they accept it there; nothing else.
    console_out = policies["liandong-console-egress"]["spec"]
    assert console_out["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "console"}}
    (rule,) = console_out["egress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": "http"}]
    assert rule["to"] == [
        {
            "podSelector": {
                "matchExpressions": [
                    {"key": "app.kubernetes.io/name", "operator": "In", "values": APIS}
                ]
            }
        }
    ]
    console_in = policies["liandong-console-ingress"]["spec"]
    assert console_in["podSelector"]["matchExpressions"][0]["values"] == APIS
    (rule,) = console_in["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "console"}}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": "http"}]
    other_ingress = [
        name
        for name, policy in policies.items()
        if "Ingress" in policy["spec"]["policyTypes"]
        and name
        not in (
            "liandong-deny-ingress",
            "liandong-public-ingress",
            "liandong-metrics-ingress",
            "liandong-console-ingress",
            "postgresql",
        )
    ]
    assert other_ingress == []


def test_migration_job_and_lists_config_map(rendered):
    for overlay in OVERLAYS:
        resources = rendered[overlay]
        (container,) = by_kind(resources, "Job")["migrate"]["spec"]["template"]["spec"][
            "containers"
        ]
        assert container["args"] == ["migrate"]
        config_maps = by_kind(resources, "ConfigMap")
        (lists_name,) = [n for n in config_maps if n.startswith("liandong-lists-")]
        assert "units.csv" in config_maps[lists_name]["data"]
        (config_name,) = [n for n in config_maps if n.startswith("liandong-config-")]
        config = config_maps[config_name]["data"]
        assert config["KAFKA_BOOTSTRAP_SERVERS"] == "liandong-kafka-bootstrap:9092"
        for name in ("intake", "classification", "routing"):
            assert config[f"LIANDONG_{name.upper()}_LISTS_PATH"] == "/etc/liandong/lists"
            spec = by_kind(resources, "Deployment")[name]["spec"]["template"]["spec"]
            volumes = {v["name"]: v for v in spec["volumes"]}
            assert volumes["lists"]["configMap"]["name"] == lists_name
            (container,) = spec["containers"]
            assert container["envFrom"] == [{"configMapRef": {"name": config_name}}]
            mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
            assert mounts["/etc/liandong/lists"]["readOnly"] is True


def _edit(path, change):
    documents = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=Loader))
    change(documents)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    path.write_text(yaml.dump_all(documents, Dumper=dumper, sort_keys=False), encoding="utf-8")


def _first_container(documents):
    return documents[0]["spec"]["template"]["spec"]["containers"][0]


@pytest.fixture
def broken_tree(tmp_path):
    return copy_tree(K8S, tmp_path / "k8s")


def _errors(resources):
    return [
        e
        for r in resources
        for e in (custom_errors(r) if is_custom(r) else kubernetes_errors(r, "1.33.0"))
    ]


@pytest.mark.parametrize(
    ("path", "change", "expected"),
    [
        pytest.param(
            "base/intake.yaml",
            lambda docs: _first_container(docs)["readinessProbe"]["httpGet"].update(paht="/"),
            "'paht' was unexpected",
            id="misspelt-probe-field",
        ),
        pytest.param(
            "base/routing.yaml",
            lambda docs: _first_container(docs)["ports"][0].update(containerPort="eight"),
            "containerPort",
            id="port-not-a-number",
        ),
        pytest.param(
            "base/network-policies.yaml",
            lambda docs: docs[0]["spec"].update(policyTypes="Egress"),
            "policyTypes",
            id="policy-types-not-a-list",
        ),
        pytest.param(
            "kafka/kafka.yaml",
            lambda docs: docs[1]["spec"]["kafka"]["authorization"].update(type="acl"),
            "authorization.type",
            id="unknown-authorization-type",
        ),
        pytest.param(
            "overlays/prod/kafka.yaml",
            lambda docs: docs[0]["spec"]["kafka"]["listeners"][2].update(name="external_tls"),
            "listeners.2.name",
            id="invalid-listener-name",
        ),
        pytest.param(
            "kafka/kafka.yaml",
            lambda docs: docs[0]["spec"].pop("roles"),
            "'roles' is a required",
            id="node-pool-without-roles",
        ),
        pytest.param(
            "kafka/generated/topics.yaml",
            lambda docs: docs[0]["spec"].update(partitions=0),
            "spec.partitions",
            id="topic-without-partitions",
        ),
        pytest.param(
            "kafka/generated/users.yaml",
            lambda docs: docs[0]["spec"]["authorization"]["acls"][0].update(operations=["Reed"]),
            "'Reed'",
            id="unknown-acl-operation",
        ),
        pytest.param(
            "monitoring/generated/prometheusrule.yaml",
            lambda docs: docs[0]["spec"]["groups"][0]["rules"][0].update(four="5m"),
            "'four' was unexpected",
            id="misspelt-rule-field",
        ),
        pytest.param(
            "monitoring/podmonitor.yaml",
            lambda docs: docs[0]["spec"]["podMetricsEndpoints"][0].update(interval="15 s"),
            "interval",
            id="invalid-scrape-interval",
        ),
    ],
)
def test_broken_copies_fail_validation(broken_tree, path, change, expected):
    _edit(broken_tree / path, change)
    overlay = "prod" if "/prod/" in path or path.startswith("monitoring/") else "dev"
    errors = _errors(build(broken_tree / "overlays" / overlay))
    assert errors
    assert all(expected in error for error in errors), errors


@pytest.mark.parametrize(
    ("path", "change"),
    [
        pytest.param(
            "overlays/dev/kustomization.yaml",
            lambda docs: docs[0].update(commonAnnotations={"a": "b"}),
            id="unsupported-field",
        ),
        pytest.param(
            "overlays/dev/kustomization.yaml",
            lambda docs: docs[0]["patches"].append(
                {
                    "target": {"kind": "Deployment", "name": "intakee"},
                    "patch": "{apiVersion: apps/v1, kind: Deployment, metadata: {name: x}}",
                }
            ),
            id="patch-that-matches-nothing",
        ),
        pytest.param(
            "overlays/dev/kustomization.yaml",
            lambda docs: docs[0]["resources"].append("../../base/lists/../../../README.md"),
            id="file-above-the-kustomization",
        ),
        pytest.param(
            "base/kustomization.yaml",
            lambda docs: docs[0]["configMapGenerator"][1]["files"].append("lists/missing.yaml"),
            id="missing-generator-file",
        ),
    ],
)
def test_broken_kustomizations_do_not_render(broken_tree, path, change):
    _edit(broken_tree / path, change)
    with pytest.raises((KustomizeError, OSError)):
        build(broken_tree / "overlays" / "dev")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_connects_to_kafka_as_its_own_scram_user(rendered, overlay):
    users = {u["metadata"]["name"]: u for u in load_documents(K8S / "kafka/generated/users.yaml")}
    seen = set()
    for _, template in _pods(rendered[overlay]):
        for container in template["spec"]["containers"]:
            env = {e["name"]: e for e in container.get("env", [])}
            if "LIANDONG_KAFKA_SASL_USERNAME" not in env:
                continue
            user = env["LIANDONG_KAFKA_SASL_USERNAME"]["value"]
            secret = env["LIANDONG_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
            assert secret == {"name": user, "key": "password"}
            assert users[user]["spec"]["authentication"] == {"type": "scram-sha-512"}
            seen.add(user)
    assert seen == {"intake", "classification", "routing", "feedback", "escalator"}
