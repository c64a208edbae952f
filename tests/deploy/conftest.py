import shutil
from pathlib import Path

import pytest

from contracts.lists import Lists, load_lists
from tests.deploy.kustomize import Resource, build
from tests.deploy.validation import K8S, OVERLAYS


@pytest.fixture(scope="session")
def lists() -> Lists:
    return load_lists()


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Resource]]:
    """Each overlay rendered by the kustomize subset renderer."""
    return {overlay: build(K8S / "overlays" / overlay) for overlay in OVERLAYS}


def by_kind(resources: list[Resource], kind: str) -> dict[str, Resource]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def copy_tree(source: Path, target: Path) -> Path:
    """A copy of the repository's deployment tree, to break without touching the original."""
    shutil.copytree(source, target, symlinks=True)
    return target
