"""Operators' triage decisions as training data: `liandong model export-labelled` writes them in
the columns of the labelled messages (`training/messages_labelled.csv`), and `make model` trains
on every `training/operator-*.csv` beside it.

The text is the demand's content with phone and ID numbers masked (they say nothing about the
category and are personal data); the label is the first-level category of the matter the
operator chose; the matter and unit columns after them feed the department-type model."""

from __future__ import annotations

import csv
from datetime import datetime
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncSession

from services.classification import repository
from services.classification.category_model import OPERATOR_SOURCE
from services.runtime.logging import mask_text

# The labelled messages' columns, then the matter and the unit the operator chose: the dispatch
# history the department-type model learns from (through the power list).
COLUMNS = ("id", "title", "text", "label", "text_source", "created_at", "matter_code", "unit_code")


async def export_labelled(session: AsyncSession, out: TextIO, *, since: datetime | None) -> int:
    """Write the operators' decisions (those since `since`, if given) as CSV; returns how many."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    written = 0
    async for example in repository.labelled_examples(session, since=since):
        writer.writerow(
            (
                example.demand_id,
                "",
                mask_text(" ".join(example.text.split())),
                example.category,
                OPERATOR_SOURCE,
                example.decided_at.isoformat(),
                example.matter_code,
                example.unit_code,
            )
        )
        written += 1
    return written
