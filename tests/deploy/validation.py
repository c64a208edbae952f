"""Validators of the deployment files, offline: Kubernetes objects (kubernetes-validate, strict),
custom resources (the CRD schemas vendored in k8s/strimzi-crds and
k8s/prometheus-operator-crds), the compose file
(check-jsonschema's copy of the compose specification) and the AsyncAPI document (the AsyncAPI
3.0.0 JSON Schema vendored in tests/deploy/schemas)."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]
import yaml

from tests.deploy.kustomize import Resource, load_documents

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = ("dev", "prod")
STRIMZI_CRDS = K8S / "strimzi-crds"
PROMETHEUS_CRDS = K8S / "prometheus-operator-crds"
ASYNCAPI_SCHEMA = Path(__file__).parent / "schemas" / "asyncapi-3.0.0.json"

# The Kubernetes version the manifests target (docs/operations.md), and the newest one whose
# schemas kubernetes-validate ships, so a removed or changed API shows up before an upgrade.
KUBERNETES_VERSIONS = ("1.33.0", "1.37.0")


def is_strimzi(resource: Resource) -> bool:
    return str(resource["apiVersion"]).startswith("kafka.strimzi.io/")


def is_prometheus_operator(resource: Resource) -> bool:
    return str(resource["apiVersion"]).startswith("monitoring.coreos.com/")


def is_custom(resource: Resource) -> bool:
    """A resource of a vendored CRD, validated by `custom_errors`, not by kubernetes-validate."""
    return is_strimzi(resource) or is_prometheus_operator(resource)


def kubernetes_errors(resource: Resource, version: str) -> list[str]:
    """Strict validation (unknown fields rejected) against the schemas of that version."""
    try:
        kubernetes_validate.validate(resource, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path)
        return [f"{_name(resource)}: {path}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [f"{_name(resource)}: {exc.message}"]
    return []


def _name(resource: Resource) -> str:
    return f"{resource.get('kind')}/{resource.get('metadata', {}).get('name')}"


def _strict(schema: Any) -> Any:
    """An openAPIV3Schema as the API server applies it with strict field validation: unknown
    fields rejected, except under x-kubernetes-preserve-unknown-fields; int-or-string."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {k: _strict(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if schema.get("x-kubernetes-int-or-string"):
        converted.pop("type", None)
        converted.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if (
        schema.get("type") == "object"
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        converted["additionalProperties"] = False
    return converted


@cache
def custom_validators() -> dict[tuple[str, str], jsonschema.protocols.Validator]:
    """(apiVersion, kind) -> validator, from the vendored CRDs."""
    validators: dict[tuple[str, str], jsonschema.protocols.Validator] = {}
    for path in sorted([*STRIMZI_CRDS.glob("*.yaml"), *PROMETHEUS_CRDS.glob("*.yaml")]):
        (crd,) = load_documents(path)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = _strict(version["schema"]["openAPIV3Schema"])
            jsonschema.Draft7Validator.check_schema(schema)
            validators[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return validators


def custom_errors(resource: Resource) -> list[str]:
    validator = custom_validators().get((resource["apiVersion"], resource["kind"]))
    if validator is None:
        return [f"{_name(resource)}: no vendored CRD schema for {resource['apiVersion']}"]
    return [
        f"{_name(resource)}: {'.'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(resource)
    ]


def compose_errors(path: Path) -> list[str]:
    """check-jsonschema against the compose specification it ships (no download)."""
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            "--no-cache",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return [] if result.returncode == 0 else [result.stdout + result.stderr]


@cache
def _asyncapi_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(ASYNCAPI_SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


def asyncapi_errors(document: dict[str, Any], base: Path) -> list[str]:
    """The AsyncAPI 3.0.0 schema, then what it cannot say: every $ref resolves, every
    operation's channel and messages exist and its messages are its channel's."""
    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message[:300]}"
        for error in _asyncapi_validator().iter_errors(document)
    ]
    errors += _reference_errors(document, document, base)
    for name, operation in document.get("operations", {}).items():
        channel_ref = operation.get("channel", {}).get("$ref", "")
        for message in operation.get("messages", []):
            if not message.get("$ref", "").startswith(channel_ref + "/messages/"):
                errors.append(f"operations/{name}: message {message} is not of {channel_ref}")
    return errors


def _pointer(document: Any, pointer: str) -> Any:
    node = document
    for part in pointer.lstrip("/").split("/") if pointer else []:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _reference_errors(node: Any, document: dict[str, Any], base: Path) -> list[str]:
    errors: list[str] = []
    if isinstance(node, dict):
        reference = node.get("$ref")
        if isinstance(reference, str):
            target, fragment = urldefrag(reference)
            try:
                if target:  # a file beside the document: a JSON Schema of an event
                    with (base / target).open(encoding="utf-8") as f:
                        schema = json.load(f)
                    jsonschema.Draft202012Validator.check_schema(schema)
                    _pointer(schema, fragment)
                else:
                    _pointer(document, fragment)
            except (OSError, KeyError, IndexError, ValueError, jsonschema.SchemaError) as exc:
                errors.append(f"$ref {reference} does not resolve: {exc!r}"[:300])
        for value in node.values():
            errors += _reference_errors(value, document, base)
    elif isinstance(node, list):
        for item in node:
            errors += _reference_errors(item, document, base)
    return errors


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))
