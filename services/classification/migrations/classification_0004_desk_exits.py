"""desk exits: the audit of contacts that left the triage queue at the desk

Revision ID: classification_0004
Revises: classification_0003
Create Date: 2026-12-07 04:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "classification_0004"
down_revision: str | None = "classification_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "desk_exits",
        sa.Column("demand_id", sa.Uuid(), primary_key=True),
        sa.Column("exit", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("target", sa.String(length=100), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        schema="classification",
    )
    op.create_index(
        op.f("ix_classification_desk_exits_decided_at"),
        "desk_exits",
        ["decided_at"],
        schema="classification",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_classification_desk_exits_decided_at"),
        table_name="desk_exits",
        schema="classification",
    )
    op.drop_table("desk_exits", schema="classification")
