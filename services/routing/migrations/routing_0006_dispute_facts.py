"""dispute facts

Revision ID: routing_0006
Revises: routing_0005
Create Date: 2026-11-26 07:33:35.847637
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "routing_0006"
down_revision: str | None = "routing_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Disputes opened before kept no facts; the ruling then reads them from the last lead task.
    op.add_column(
        "disputes",
        sa.Column(
            "facts",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            server_default=sa.text("'{}'::jsonb"),
        ),
        schema="routing",
    )
    op.alter_column("disputes", "facts", server_default=None, schema="routing")


def downgrade() -> None:
    op.drop_column("disputes", "facts", schema="routing")
