"""open lead index: the duplicate check reads live lead tasks by matter and community

Revision ID: routing_0011
Revises: routing_0010
Create Date: 2026-11-26 11:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "routing_0011"
down_revision: str | None = "routing_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tasks_open_leads",
        "tasks",
        ["matter_code", "demand_unit_code", "created_at"],
        unique=False,
        schema="routing",
        postgresql_where=sa.text("role = 'lead' AND state IN ('assigned', 'signed', 'contacted')"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_tasks_open_leads",
        table_name="tasks",
        schema="routing",
        postgresql_where=sa.text("role = 'lead' AND state IN ('assigned', 'signed', 'contacted')"),
    )
