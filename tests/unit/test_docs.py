"""The documentation stays true to the tree: every path it names exists, every link between its
pages resolves, every page under docs/ is reachable from the README, and every environment
variable a settings class reads is in docs/configuration.md."""

from __future__ import annotations

import ast
import importlib
import re
import unicodedata
from pathlib import Path

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CONFIGURATION = DOCS / "configuration.md"

# A backticked span that is a path of the repository, and nothing else (a span holding a
# placeholder such as `services/<service>/` or `{a,b}` is a pattern, not a path).
PATH_SPAN = re.compile(r"`((?:services|contracts|tests|deploy|k8s)/[\w./-]*)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
# What a command builds and git ignores: named by the docs, present only once built.
BUILT = ("services/classification/artifacts/",)


def pages() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def prose(page: Path) -> str:
    """The page without its fenced code blocks (a shell example is not a claim about paths)."""
    return FENCE.sub("", page.read_text(encoding="utf-8"))


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in ("L", "N", "M"))
    return kept.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(h) for h in HEADING.findall(prose(page))}


def local_links(page: Path) -> list[tuple[str, Path, str]]:
    """(link as written, target file, anchor) of every link to a file of the repository."""
    found = []
    for target in LINK.findall(prose(page)):
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        found.append((target, file, anchor))
    return found


def test_every_path_the_docs_name_exists():
    missing = [
        f"{page.relative_to(ROOT)}: {path}"
        for page in pages()
        for path in PATH_SPAN.findall(prose(page))
        if not (ROOT / path).exists() and not path.startswith(BUILT)
    ]
    assert missing == []


def test_every_link_between_the_pages_resolves():
    broken = []
    for page in pages():
        for written, file, anchor in local_links(page):
            if not file.exists():
                broken.append(f"{page.relative_to(ROOT)}: {written} (no such file)")
            elif anchor and file.suffix == ".md" and anchor not in anchors(file):
                broken.append(f"{page.relative_to(ROOT)}: {written} (no such heading)")
    assert broken == []


def test_every_page_under_docs_is_reachable_from_the_readme():
    reached, pending = {README.resolve()}, [README.resolve()]
    while pending:
        for _, file, _ in local_links(pending.pop()):
            if file.suffix == ".md" and file.exists() and file not in reached:
                reached.add(file)
                pending.append(file)
    unreachable = [p.relative_to(ROOT) for p in DOCS.rglob("*.md") if p.resolve() not in reached]
    assert unreachable == []


def settings_classes() -> list[type[BaseSettings]]:
    """Every class under services/ built on pydantic-settings, found by reading the source (so a
    module moved or renamed is still found) and then imported."""
    modules = set()
    for source in (ROOT / "services").rglob("*.py"):
        if "migrations" in source.parts:
            continue
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and any(
                isinstance(base, ast.Name) and base.id.endswith("Settings") for base in node.bases
            ):
                modules.add(".".join(source.relative_to(ROOT).with_suffix("").parts))
    for module in sorted(modules):
        importlib.import_module(module)
    found, pending = [], [BaseSettings]
    while pending:
        for cls in pending.pop().__subclasses__():
            pending.append(cls)
            # A base without a prefix of its own (ServiceSettings) is read only through its
            # subclasses, each with its prefix.
            base_only = cls.__subclasses__() and not cls.model_config.get("env_prefix")
            if cls.__module__.startswith("services.") and not base_only:
                found.append(cls)
    return found


def variable(cls: type[BaseSettings], name: str) -> str:
    """The environment variable a field is read from (pydantic-settings' rule)."""
    alias = cls.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):
        alias = alias.choices[0]
    if isinstance(alias, str):
        return alias.upper()
    return (str(cls.model_config.get("env_prefix", "")) + name).upper()


SERVICE_PREFIX = re.compile(r"LIANDONG_(INTAKE|CLASSIFICATION|ROUTING|FEEDBACK|ESCALATOR)_")


def documented_variables() -> set[str]:
    """Every variable configuration.md names: in full, as `LIANDONG_<SERVICE>_X` (each service),
    or as `…_X` after a full name in the same table row (that name's service)."""
    names: set[str] = set()
    for line in CONFIGURATION.read_text(encoding="utf-8").splitlines():
        spans = re.findall(r"`([^`]+)`", line)
        prefix = None
        for span in spans:
            if span.startswith("LIANDONG_<SERVICE>_"):
                rest = span.removeprefix("LIANDONG_<SERVICE>_")
                names.update(
                    f"LIANDONG_{s}_{rest}"
                    for s in ("INTAKE", "CLASSIFICATION", "ROUTING", "FEEDBACK")
                )
            elif span.startswith("…_") and prefix is not None:
                names.add(prefix + span.removeprefix("…_"))
            elif re.fullmatch(r"[A-Z][A-Z0-9_]+", span):
                names.add(span)
                match = SERVICE_PREFIX.match(span)
                prefix = prefix or (match.group(0) if match else None)
    return names


def test_every_settings_variable_is_in_the_configuration_page():
    classes = settings_classes()
    assert {cls.__name__ for cls in classes} >= {
        "IntakeSettings",
        "ClassificationSettings",
        "RoutingSettings",
        "FeedbackSettings",
    }
    documented = documented_variables()
    missing = sorted(
        f"{variable(cls, name)} ({cls.__name__})"
        for cls in classes
        for name in cls.model_fields
        if variable(cls, name) not in documented
    )
    assert missing == []
