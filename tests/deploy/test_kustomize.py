"""The kustomize subset renderer behaves as kustomize does (and as the real tool, when here)."""

import shutil
import subprocess

import pytest
import yaml

from tests.deploy.kustomize import (
    KustomizeError,
    Loader,
    build,
    config_map_hash,
    identity,
    strategic_merge,
)
from tests.deploy.validation import K8S, OVERLAYS


def _kustomize_command():
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        probe = subprocess.run(
            ["kubectl", "kustomize", "--help"], capture_output=True, timeout=30, check=False
        )
        if probe.returncode == 0:
            return ["kubectl", "kustomize"]
    return None


def test_renderer_output_equals_the_real_kustomize(rendered):
    command = _kustomize_command()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is installed: compared only when one is")
    # both overlays at once: the tool takes a few seconds each
    runs = {
        overlay: subprocess.Popen(
            [*command, str(K8S / "overlays" / overlay)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for overlay in OVERLAYS
    }
    for overlay, process in runs.items():
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        real = [d for d in yaml.load_all(out, Loader=Loader) if d]
        assert sorted(real, key=identity) == sorted(rendered[overlay], key=identity), overlay


def test_config_map_hash_is_kustomizes():
    # `kustomize build` of `configMapGenerator: [{name: x, literals: [a=b]}]` names it x-4h2mbtbbt6
    assert config_map_hash({"a": "b"}) == "4h2mbtbbt6"


def test_strategic_merge_merges_containers_by_name_and_replaces_custom_resource_lists():
    deployment = {
        "containers": [{"name": "a", "image": "x", "env": [{"name": "A", "value": "1"}]}],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    patch = {"containers": [{"name": "a", "env": [{"name": "B", "value": "2"}]}]}
    merged = strategic_merge(deployment, patch, builtin=True)
    assert merged["containers"] == [
        {
            "name": "a",
            "image": "x",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        }
    ]
    assert merged["volumes"] == deployment["volumes"]
    listeners = {"listeners": [{"name": "plain"}, {"name": "tls"}], "version": "4.1.0"}
    assert strategic_merge(listeners, {"listeners": [{"name": "tls"}]}, builtin=False) == {
        "listeners": [{"name": "tls"}],
        "version": "4.1.0",
    }
    assert strategic_merge(listeners, {"version": None}, builtin=False) == {
        "listeners": listeners["listeners"]
    }


def test_directives_it_does_not_know_are_refused():
    with pytest.raises(KustomizeError):
        strategic_merge({"a": [1]}, {"$patch": "replace"}, builtin=True)


def test_generated_names_are_rewritten_in_pod_templates(tmp_path):
    (tmp_path / "settings.txt").write_text("x", encoding="utf-8")
    (tmp_path / "deployment.yaml").write_text(
        """
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - name: c
          image: liandong
          envFrom: [{configMapRef: {name: config}}]
      volumes: [{name: v, configMap: {name: config}}]
""",
        encoding="utf-8",
    )
    (tmp_path / "kustomization.yaml").write_text(
        """
resources: [deployment.yaml]
namespace: n
images: [{name: liandong, newName: registry/liandong, newTag: "1.0"}]
configMapGenerator: [{name: config, files: [settings.txt]}]
""",
        encoding="utf-8",
    )
    resources = {r["kind"]: r for r in build(tmp_path)}
    name = resources["ConfigMap"]["metadata"]["name"]
    assert name == "config-" + config_map_hash({"settings.txt": "x"})
    pod = resources["Deployment"]["spec"]["template"]["spec"]
    assert pod["volumes"][0]["configMap"]["name"] == name
    assert pod["containers"][0]["envFrom"][0]["configMapRef"]["name"] == name
    assert pod["containers"][0]["image"] == "registry/liandong:1.0"
    assert {r["metadata"]["namespace"] for r in resources.values()} == {"n"}
