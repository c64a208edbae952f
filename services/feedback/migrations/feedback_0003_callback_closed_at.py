"""callback closed_at: a closed demand's callback is never reopened

Revision ID: feedback_0003
Revises: feedback_0002
Create Date: 2026-11-26 16:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "feedback_0003"
down_revision: str | None = "feedback_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "callbacks",
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        schema="feedback",
    )
    # The callbacks whose demand certainly closed: unanswered ones (routing closes them as not
    # evaluated) and resolved, not dissatisfied evaluations. A dissatisfied one may be waiting
    # for a redo's reply, so it stays open to it.
    op.execute(
        "UPDATE feedback.callbacks SET closed_at = evaluated_at"
        " WHERE state = 'not_evaluated'"
        " OR (state = 'evaluated' AND resolved AND satisfaction <> 'dissatisfied')"
    )


def downgrade() -> None:
    op.drop_column("callbacks", "closed_at", schema="feedback")
