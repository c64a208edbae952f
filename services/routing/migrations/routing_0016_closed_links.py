"""closed links: a merged demand closed by its citizen follows its task no more

Revision ID: routing_0016
Revises: routing_0015
Create Date: 2026-11-26 16:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "routing_0016"
down_revision: str | None = "routing_0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Links from before stay `linked` (routing did not record which merged demands closed);
    # intake and feedback ignore a status for a demand they already hold as closed.
    op.add_column(
        "demand_links",
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        schema="routing",
    )


def downgrade() -> None:
    op.execute("UPDATE routing.demand_links SET state = 'linked' WHERE state = 'closed'")
    op.drop_column("demand_links", "closed_at", schema="routing")
