"""summoning coordinator: a missed arrival climbs from the coordinator who summoned

Revision ID: routing_0013
Revises: routing_0012
Create Date: 2026-11-26 12:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "routing_0013"
down_revision: str | None = "routing_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Summons made before this: unknown (NULL), their missed arrival climbs from the chain's
    # first coordinator, as it did.
    op.add_column(
        "summons",
        sa.Column("coordinator_unit_code", sa.String(length=12), nullable=True),
        schema="routing",
    )


def downgrade() -> None:
    op.drop_column("summons", "coordinator_unit_code", schema="routing")
