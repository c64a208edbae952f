"""indexes of the reconciler that re-sends demand.received for demands left `received`

Revision ID: intake_0004
Revises: intake_0003
Create Date: 2026-11-26 16:30:00.000000

Two partial indexes: demands still `received` by arrival, and the outbox's `demand.received`
rows by key (the demand id). Both are built from the rows already there.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0004"
down_revision: str | None = "intake_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_demands_still_received",
        "demands",
        ["received_at"],
        schema="intake",
        postgresql_where=sa.text("status = 'received'"),
    )
    op.create_index(
        "ix_outbox_demand_received_key",
        "outbox",
        ["key"],
        schema="intake",
        postgresql_where=sa.text("event_type = 'cn.liandong.demand.received.v1'"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_demand_received_key", table_name="outbox", schema="intake")
    op.drop_index("ix_demands_still_received", table_name="demands", schema="intake")
