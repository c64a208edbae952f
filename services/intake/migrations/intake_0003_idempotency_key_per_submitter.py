"""idempotency key per submitter: unique per (submitted_by, idempotency_key), not table-wide

Revision ID: intake_0003
Revises: intake_0002
Create Date: 2026-11-26 16:00:00.000000

A key was unique across every front end, so one front end could pre-claim another's
(predictable) keys or replay its demand. The new constraint is created before the old one is
dropped; the rows already there satisfy it, since their keys were unique on their own.
Downgrading fails while two submitters share a key.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "intake_0003"
down_revision: str | None = "intake_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_unique_constraint(
        "uq_demands_submitter_key",
        "demands",
        ["submitted_by", "idempotency_key"],
        schema="intake",
    )
    op.drop_constraint("demands_idempotency_key_key", "demands", type_="unique", schema="intake")


def downgrade() -> None:
    op.create_unique_constraint(
        "demands_idempotency_key_key", "demands", ["idempotency_key"], schema="intake"
    )
    op.drop_constraint("uq_demands_submitter_key", "demands", type_="unique", schema="intake")
