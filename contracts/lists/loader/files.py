"""Reading the lists' files: YAML with line numbers, and the collector of every problem found."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from contracts.jurisdiction import Level

LINE = "__line__"


@dataclass(frozen=True, slots=True)
class ListError:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class ListsInvalid(Exception):
    def __init__(self, errors: list[ListError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s) in the lists:\n" + "\n".join(map(str, errors)))


class _LineLoader(yaml.SafeLoader):
    """A safe loader that records the line of every mapping under the key `__line__`."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping[LINE] = node.start_mark.line + 1
    return mapping  # type: ignore[return-value]


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


class Collector:
    """Reads the files of one lists directory and keeps every problem found in them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.errors: list[ListError] = []
        self._read: dict[str, dict[str, Any]] = {}  # a file read twice reports its problems once

    def add(self, file: str, line: int | None, message: str) -> None:
        self.errors.append(ListError(file, line, message))

    def yaml(self, name: str) -> dict[str, Any]:
        if name not in self._read:
            self._read[name] = self._load_yaml(name)
        return self._read[name]

    def _load_yaml(self, name: str) -> dict[str, Any]:
        path = self.root / name
        if not path.exists():
            self.add(name, None, "file is missing")
            return {}
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 - a SafeLoader
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            self.add(
                name,
                mark.line + 1 if mark else None,
                f"not valid YAML: {getattr(exc, 'problem', exc)}",
            )
            return {}
        if not isinstance(data, dict):
            self.add(name, 1, "the file must hold a mapping at the top")
            return {}
        return data

    def items(
        self, name: str, data: dict[str, Any], key: str
    ) -> Iterator[tuple[int | None, dict[str, Any]]]:
        entries = data.get(key, [])
        if not isinstance(entries, list):
            self.add(name, data.get(LINE), f"'{key}' must be a list")
            return
        for entry in entries:
            if not isinstance(entry, dict):
                self.add(name, data.get(LINE), f"an entry of '{key}' is not a mapping: {entry!r}")
                continue
            yield entry.get(LINE), entry


def text(entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    return str(value).strip() or None


def level(value: Any) -> Level | None:
    try:
        return Level(str(value))
    except ValueError:
        return None


def handling_level(value: Any) -> Level | None:
    """A level a matter can be handled at (any but the province), or None."""
    found = level(value)
    return None if found is Level.province else found
