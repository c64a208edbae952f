"""reply clock start: a redo or an extension restarts the reply clock, and its reminder

Revision ID: routing_0012
Revises: routing_0011
Create Date: 2026-11-26 12:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "routing_0012"
down_revision: str | None = "routing_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "tasks",
        sa.Column("reply_clock_from", sa.DateTime(timezone=True), nullable=True),
        schema="routing",
    )


def downgrade() -> None:
    op.drop_column("tasks", "reply_clock_from", schema="routing")
