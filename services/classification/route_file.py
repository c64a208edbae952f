"""`liandong route FILE.csv`: the pipeline's routing decision for a file of demands, without
running the services (audits, back-filling). Reads `id,title,text[,unit_code]`, writes
`id,matter,department_type,department_id,level,confidence,triage`."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from contracts.jurisdiction import Level
from contracts.lists import Lists
from services.classification.routing_model import Route, Router

REQUIRED = ("id", "title", "text")
OPTIONAL = ("unit_code",)
OUTPUT = ("id", "matter", "department_type", "department_id", "level", "confidence", "triage")
CHUNK = 500  # rows decided together (one batch, as the service decides a poll)


class MalformedCsv(ValueError):
    """A row the tool cannot read; the message names the line and the column."""


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    id: str
    content: str
    unit_code: str | None


def content_of(title: str, text: str) -> str:
    """A demand's content as the pipeline reads it: the title, if any, before the text."""
    return f"{title}。{text}" if title else text


def _header(reader: Any) -> list[str]:
    try:
        header: list[str] = next(reader)
    except StopIteration:
        raise MalformedCsv("line 1: the file is empty; expected the header id,title,text") from None
    except csv.Error as exc:
        raise MalformedCsv(f"line 1: {exc}") from None
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise MalformedCsv(f"line 1: the header lacks column {', '.join(missing)}")
    unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
    if unknown:
        raise MalformedCsv(f"line 1: unknown column {', '.join(unknown)}")
    return header


def _row(header: list[str], fields: list[str], line: int) -> Row:
    if len(fields) != len(header):
        column = header[len(fields)] if len(fields) < len(header) else "(past the last)"
        raise MalformedCsv(
            f"line {line}, column {column}: {len(fields)} fields, the header has {len(header)}"
        )
    row = dict(zip(header, fields, strict=True))
    if not row["id"].strip():
        raise MalformedCsv(f"line {line}, column id: empty")
    if not (row["title"].strip() or row["text"].strip()):
        raise MalformedCsv(f"line {line}, column text: empty (and no title)")
    unit = (row.get("unit_code") or "").strip() or None
    if unit is not None and not (len(unit) == 12 and unit.isdigit()):
        raise MalformedCsv(f"line {line}, column unit_code: {unit!r} is not a 12-digit code")
    return Row(line, row["id"], content_of(row["title"].strip(), row["text"].strip()), unit)


def read_rows(source: TextIO) -> Iterator[Row]:
    reader = csv.reader(source)
    header = _header(reader)
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise MalformedCsv(f"line {reader.line_num}: {exc}") from None
        if fields:
            yield _row(header, fields, reader.line_num)


def placeholder_unit(lists: Lists) -> str:
    """The unit a row without unit_code is decided on: the lists' first community, so every
    level's rule is on its chain (such a row names no department and always goes to triage)."""
    return next(u.code for u in lists.units if u.level is Level.community)


def route_file(
    router: Router, source: TextIO, out: TextIO, *, threshold: float | None = None
) -> int:
    """Decide every row (CHUNK at a time, the service's batch path); returns the rows written.
    Raises MalformedCsv before writing anything past the rows already decided."""
    rows = read_rows(source)
    first = list(itertools.islice(rows, 1))  # the header is checked before anything is written
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(OUTPUT)
    lists = router.lists
    default = placeholder_unit(lists)
    rows = itertools.chain(first, rows)
    written = 0
    while chunk := list(itertools.islice(rows, CHUNK)):
        units = [
            row.unit_code if row.unit_code in lists.units_by_code else default for row in chunk
        ]
        routes = router.route_many([row.content for row in chunk], units, threshold=threshold)
        for row, route in zip(chunk, routes, strict=True):
            placed = row.unit_code is not None and row.unit_code in lists.units_by_code
            writer.writerow(_output(row, route, placed))
            written += 1
    return written


def _output(row: Row, route: Route, placed: bool) -> list[str]:
    return [
        row.id,
        route.matter.code if route.matter else "",
        route.department_type or "",
        (route.department_id or "") if placed else "",
        route.level.value if route.level else "",
        f"{route.confidence:.3f}",
        "true" if route.triage or not placed else "false",
    ]
