"""praise and withdrawal facts: 表扬 passed on at the desk, 撤诉 by the citizen, counted per
department and month

Revision ID: feedback_0004
Revises: feedback_0003
Create Date: 2026-12-07 04:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "feedback_0004"
down_revision: str | None = "feedback_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "praise_facts",
        sa.Column("event_id", sa.String(length=100), primary_key=True),
        sa.Column("demand_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.String(length=100), nullable=False),
        sa.Column("department_name", sa.String(length=200), nullable=False),
        sa.Column("unit_code", sa.String(length=12), nullable=False),
        sa.Column("praised_at", sa.DateTime(timezone=True), nullable=False),
        schema="feedback",
    )
    op.create_index(
        op.f("ix_feedback_praise_facts_department_id"),
        "praise_facts",
        ["department_id"],
        schema="feedback",
    )

    op.create_table(
        "withdrawal_facts",
        sa.Column("event_id", sa.String(length=100), primary_key=True),
        sa.Column("demand_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.String(length=100), nullable=False),
        sa.Column("department_name", sa.String(length=200), nullable=False),
        sa.Column("unit_code", sa.String(length=12), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
        schema="feedback",
    )
    op.create_index(
        op.f("ix_feedback_withdrawal_facts_department_id"),
        "withdrawal_facts",
        ["department_id"],
        schema="feedback",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_feedback_withdrawal_facts_department_id"),
        table_name="withdrawal_facts",
        schema="feedback",
    )
    op.drop_table("withdrawal_facts", schema="feedback")
    op.drop_index(
        op.f("ix_feedback_praise_facts_department_id"), table_name="praise_facts", schema="feedback"
    )
    op.drop_table("praise_facts", schema="feedback")
