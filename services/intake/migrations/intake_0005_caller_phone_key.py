"""caller phone key: demands keep their caller's normalised phone, indexed, for the operator's
lookup of a caller's earlier demands

Revision ID: intake_0005
Revises: intake_0004
Create Date: 2026-12-07 04:00:00.000000

The key of the demands already there is computed in SQL by the rule of
services/intake/callers.py.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0005"
down_revision: str | None = "intake_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "demands",
        sa.Column("citizen_phone_key", sa.String(length=20), nullable=True),
        schema="intake",
    )
    # Written out rather than imported: a migration keeps meaning what it meant when written.
    op.execute(
        "UPDATE intake.demands SET citizen_phone_key = NULLIF(regexp_replace(regexp_replace("
        "regexp_replace(citizen_phone, '[^0-9]', '', 'g'), '^0086', ''), '^86([0-9]{11})$', "
        "'\\1'), '') WHERE citizen_phone IS NOT NULL"
    )
    op.create_index(
        "ix_demands_caller",
        "demands",
        ["citizen_phone_key", "received_at"],
        schema="intake",
        postgresql_where=sa.text("citizen_phone_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_demands_caller", table_name="demands", schema="intake")
    op.drop_column("demands", "citizen_phone_key", schema="intake")
