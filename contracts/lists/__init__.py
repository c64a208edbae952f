"""The three lists (三张清单): jurisdiction registry, departments, matter catalogue, power list,
data list and business calendar, loaded from human-editable files and validated as a whole."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from contracts.lists.loader import ListError, ListsInvalid, load_lists_dir
from contracts.lists.model import (
    DataList,
    Department,
    Lists,
    LocatedAboveHandlingLevel,
    Matter,
    NoOwner,
    Ownership,
    PowerRule,
    Unit,
)

DEFAULT_LISTS = Path(__file__).parent / "huzhou"


@lru_cache(maxsize=4)
def load_lists(path: Path = DEFAULT_LISTS) -> Lists:
    """A validated snapshot of the lists in `path` (cached per path), or ListsInvalid."""
    return load_lists_dir(Path(path))


__all__ = [
    "DEFAULT_LISTS",
    "DataList",
    "Department",
    "ListError",
    "Lists",
    "ListsInvalid",
    "LocatedAboveHandlingLevel",
    "Matter",
    "NoOwner",
    "Ownership",
    "PowerRule",
    "Unit",
    "load_lists",
]
