"""first contact deadline and provisional flag

Revision ID: routing_0002
Revises: routing_0001
Create Date: 2026-11-26 06:51:44.068127
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "routing_0002"
down_revision: str | None = "routing_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Tasks created before this revision had no first-contact clock: their sign deadline is
    # the conservative stand-in, and their deadlines were not provisional.
    op.add_column(
        "tasks",
        sa.Column("first_contact_due_at", sa.DateTime(timezone=True), nullable=True),
        schema="routing",
    )
    op.execute("UPDATE routing.tasks SET first_contact_due_at = sign_due_at")
    op.alter_column("tasks", "first_contact_due_at", nullable=False, schema="routing")
    op.add_column(
        "tasks",
        sa.Column("deadlines_provisional", sa.Boolean(), nullable=False, server_default=sa.false()),
        schema="routing",
    )
    op.alter_column("tasks", "deadlines_provisional", server_default=None, schema="routing")


def downgrade() -> None:
    op.drop_column("tasks", "deadlines_provisional", schema="routing")
    op.drop_column("tasks", "first_contact_due_at", schema="routing")
