"""working clock: a task whose limits run in working time is reminded in working time

Revision ID: routing_0015
Revises: routing_0014
Create Date: 2026-11-26 14:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "routing_0015"
down_revision: str | None = "routing_0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Tasks from before keep the reminders they were planned with (a share of the clock's time).
    op.add_column(
        "tasks",
        sa.Column("working_clock", sa.Boolean(), server_default=sa.false(), nullable=False),
        schema="routing",
    )
    op.alter_column("tasks", "working_clock", server_default=None, schema="routing")


def downgrade() -> None:
    op.drop_column("tasks", "working_clock", schema="routing")
