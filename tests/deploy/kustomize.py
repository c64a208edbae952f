"""A renderer for the subset of kustomize that k8s/ uses, so the overlays render without the tool.

Supported, with kustomize's semantics: `resources` (files, and directories with their own
kustomization), `namespace`, `labels` (metadata only: `includeSelectors`/`includeTemplates`
false), `patches` (strategic merge, inline or by path, with or without a `target` selecting by
kind, name and label selector), `images` (newName, newTag, digest) and `configMapGenerator`
(files and literals, with kustomize's content-hash name suffix and the references to it in pod
templates rewritten). Anything else is refused rather than ignored, files above a
kustomization's directory are refused as kustomize's default load restrictor does, and (stricter
than kustomize) a patch that matches no resource is an error.

When `kubectl kustomize` (or `kustomize`) is installed, tests/deploy/test_kustomize.py shows this
renderer's output is identical to the real tool's.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SUPPORTED = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "labels",
    "patches",
    "images",
    "configMapGenerator",
}
# Kinds that are not namespaced (the subset that could appear here).
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "StorageClass",
    "PersistentVolume",
}
# Strategic-merge keys of the lists in built-in kinds that the overlays may patch.
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}

Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class KustomizeError(Exception):
    pass


def load_documents(path: Path) -> list[Resource]:
    with path.open(encoding="utf-8") as f:
        return [doc for doc in yaml.load_all(f, Loader=Loader) if doc is not None]


def _inside(root: Path, relative: str) -> Path:
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise KustomizeError(f"{relative}: is not in or below {root} (load restrictor)")
    return path


def _kustomization(directory: Path) -> dict[str, Any]:
    for name in KUSTOMIZATION_FILES:
        if (directory / name).is_file():
            docs = load_documents(directory / name)
            if len(docs) != 1 or not isinstance(docs[0], dict):
                raise KustomizeError(f"{directory / name}: one mapping expected")
            return docs[0]
    raise KustomizeError(f"{directory}: no kustomization file")


# --- configMapGenerator ---------------------------------------------------------------------


def _go_json(value: Any) -> str:
    """json.Marshal of Go: sorted keys, no spaces, raw UTF-8, HTML characters escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text


def config_map_hash(data: dict[str, str]) -> str:
    """kustomize's name suffix of a generated ConfigMap (api/hasher: the name it hashes is "")."""
    encoded = _go_json({"data": data, "kind": "ConfigMap", "name": ""})
    digest = hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _generate_config_map(directory: Path, spec: dict[str, Any]) -> tuple[Resource, str]:
    unknown = set(spec) - {"name", "files", "literals"}
    if unknown:
        raise KustomizeError(f"configMapGenerator {spec.get('name')}: unsupported {unknown}")
    data: dict[str, str] = {}
    for literal in spec.get("literals", []):
        key, sep, value = literal.partition("=")
        if not sep:
            raise KustomizeError(f"literal {literal!r} is not KEY=value")
        data[key] = value
    for entry in spec.get("files", []):
        key, sep, relative = entry.partition("=")
        if not sep:
            relative, key = entry, Path(entry).name
        data[key] = _inside(directory, relative).read_text(encoding="utf-8")
    name = spec["name"]
    resource: Resource = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": data,
    }
    return resource, f"{name}-{config_map_hash(data)}"


def _pod_specs(resource: Resource) -> list[dict[str, Any]]:
    if resource.get("kind") in WORKLOAD_KINDS:
        return [resource["spec"]["template"]["spec"]]
    if resource.get("kind") == "CronJob":
        return [resource["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    return []


def _rename_config_map_references(resources: list[Resource], renames: dict[str, str]) -> None:
    def rename(holder: dict[str, Any] | None) -> None:
        if holder is not None and holder.get("name") in renames:
            holder["name"] = renames[holder["name"]]

    for resource in resources:
        for pod in _pod_specs(resource):
            for volume in pod.get("volumes", []):
                rename(volume.get("configMap"))
                for source in volume.get("projected", {}).get("sources", []):
                    rename(source.get("configMap"))
            for container in pod.get("containers", []) + pod.get("initContainers", []):
                for env_from in container.get("envFrom", []):
                    rename(env_from.get("configMapRef"))
                for env in container.get("env", []):
                    rename(env.get("valueFrom", {}).get("configMapKeyRef"))


# --- patches ----------------------------------------------------------------------------------


def _builtin(resource: Resource) -> bool:
    group = resource.get("apiVersion", "").rpartition("/")[0]
    return group == "" or "." not in group or group.endswith(".k8s.io")


def strategic_merge(target: Any, patch: Any, *, builtin: bool) -> Any:
    """Strategic merge for built-in kinds (lists merged by key), JSON merge patch otherwise."""
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return copy.deepcopy(patch)
    merged = dict(target)
    for key, value in patch.items():
        if isinstance(key, str) and key.startswith("$"):
            raise KustomizeError(f"patch directive {key} is not supported")
        if value is None:
            merged.pop(key, None)
        elif builtin and key in MERGE_KEYS and isinstance(value, list):
            merged[key] = _merge_list(merged.get(key, []), value, MERGE_KEYS[key])
        else:
            merged[key] = strategic_merge(merged.get(key), value, builtin=builtin)
    return merged


def _merge_list(target: list[Any], patch: list[Any], key: str) -> list[Any]:
    result = copy.deepcopy(target)
    for item in patch:
        for index, existing in enumerate(result):
            if existing.get(key) == item.get(key):
                result[index] = strategic_merge(existing, item, builtin=True)
                break
        else:
            result.append(copy.deepcopy(item))
    return result


def _selector_matches(labels: dict[str, str], selector: str) -> bool:
    for requirement in filter(None, (part.strip() for part in selector.split(","))):
        key, sep, value = requirement.partition("=")
        if not sep or "!" in key or value.startswith("="):
            raise KustomizeError(f"label selector {requirement!r}: only key=value is supported")
        if labels.get(key) != value:
            return False
    return True


def _target_filter(target: dict[str, Any] | None, patch: Resource) -> Callable[[Resource], bool]:
    if target is None:  # the patch names its one target

        def by_identity(resource: Resource) -> bool:
            group = str(resource["apiVersion"]).rpartition("/")[0]
            return (
                resource["kind"] == patch["kind"]
                and resource["metadata"]["name"] == patch["metadata"]["name"]
                and group == str(patch["apiVersion"]).rpartition("/")[0]
            )

        return by_identity
    unknown = set(target) - {"kind", "name", "labelSelector"}
    if unknown:
        raise KustomizeError(f"patch target fields {unknown} are not supported")

    def by_target(resource: Resource) -> bool:
        if "kind" in target and resource["kind"] != target["kind"]:
            return False
        if "name" in target and not re.fullmatch(target["name"], resource["metadata"]["name"]):
            return False
        labels = resource["metadata"].get("labels") or {}
        selector: str | None = target.get("labelSelector")
        return selector is None or _selector_matches(labels, selector)

    return by_target


def _apply_patches(directory: Path, resources: list[Resource], patches: list[Any]) -> None:
    for entry in patches:
        unknown = set(entry) - {"path", "patch", "target"}
        if unknown or ("path" in entry) == ("patch" in entry):
            raise KustomizeError(f"patch {entry}: give exactly one of path or patch")
        if "path" in entry:
            documents = load_documents(_inside(directory, entry["path"]))
        else:
            documents = [d for d in yaml.load_all(entry["patch"], Loader=Loader) if d]
        for document in documents:
            if isinstance(document, list):
                raise KustomizeError("JSON 6902 patches are not supported")
            selects = _target_filter(entry.get("target"), document)
            matched = [i for i, resource in enumerate(resources) if selects(resource)]
            if not matched:
                raise KustomizeError(f"patch {entry} matches no resource")
            for index in matched:
                resource = resources[index]
                body = {k: v for k, v in document.items() if k not in ("apiVersion", "kind")}
                body["metadata"] = {
                    k: v for k, v in document.get("metadata", {}).items() if k != "name"
                }
                resources[index] = strategic_merge(resource, body, builtin=_builtin(resource))


# --- transformers -----------------------------------------------------------------------------


def _apply_namespace(resources: list[Resource], namespace: str) -> None:
    for resource in resources:
        if resource["kind"] not in CLUSTER_SCOPED:
            resource["metadata"]["namespace"] = namespace


def _apply_labels(resources: list[Resource], entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        if entry.get("includeSelectors") or entry.get("includeTemplates"):
            raise KustomizeError("labels with includeSelectors/includeTemplates are not supported")
        if set(entry) - {"pairs", "includeSelectors", "includeTemplates"}:
            raise KustomizeError(f"labels entry {entry}: unsupported fields")
        for resource in resources:
            labels = resource["metadata"].setdefault("labels", {})
            labels.update(entry["pairs"])


def _image_name(image: str) -> str:
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def _apply_images(resources: list[Resource], images: list[dict[str, Any]]) -> None:
    for resource in resources:
        for pod in _pod_specs(resource):
            for container in pod.get("containers", []) + pod.get("initContainers", []):
                for image in images:
                    if set(image) - {"name", "newName", "newTag", "digest"}:
                        raise KustomizeError(f"images entry {image}: unsupported fields")
                    if _image_name(container["image"]) != image["name"]:
                        continue
                    reference = image.get("newName", image["name"])
                    if "digest" in image:
                        reference += "@" + image["digest"]
                    elif "newTag" in image:
                        reference += ":" + str(image["newTag"])
                    else:
                        reference = container["image"].replace(image["name"], reference, 1)
                    container["image"] = reference


# --- build --------------------------------------------------------------------------------------


def _build(directory: Path, renames: dict[str, str]) -> list[Resource]:
    kustomization = _kustomization(directory)
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{directory}: unsupported kustomization fields {sorted(unknown)}")
    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            resources += _build(path, renames)
        else:
            resources += load_documents(_inside(directory, entry))
    for spec in kustomization.get("configMapGenerator", []):
        config_map, hashed_name = _generate_config_map(directory, spec)
        resources.append(config_map)
        renames[spec["name"]] = hashed_name
    _apply_patches(directory, resources, kustomization.get("patches", []))
    if "namespace" in kustomization:
        _apply_namespace(resources, kustomization["namespace"])
    _apply_labels(resources, kustomization.get("labels", []))
    _apply_images(resources, kustomization.get("images", []))
    return resources


def build(directory: Path) -> list[Resource]:
    """The rendered resources of a kustomization directory, as `kustomize build` gives them."""
    renames: dict[str, str] = {}
    resources = _build(Path(directory), renames)
    for resource in resources:
        if resource["kind"] == "ConfigMap" and resource["metadata"]["name"] in renames:
            resource["metadata"]["name"] = renames[resource["metadata"]["name"]]
    _rename_config_map_references(resources, renames)
    return resources


def identity(resource: Resource) -> tuple[str, str, str, str]:
    metadata = resource["metadata"]
    return (
        resource["apiVersion"],
        resource["kind"],
        metadata.get("namespace", ""),
        metadata["name"],
    )
