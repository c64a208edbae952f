"""dispute working clock: a critical demand's dispute is ruled on the clock, not in working time

Revision ID: routing_0017
Revises: routing_0016
Create Date: 2026-11-26 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "routing_0017"
down_revision: str | None = "routing_0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "disputes",
        sa.Column("working_clock", sa.Boolean(), server_default=sa.true(), nullable=False),
        schema="routing",
    )
    op.alter_column("disputes", "working_clock", server_default=None, schema="routing")
    # Disputes from before: a critical demand's runs by the clock (its facts keep the urgency);
    # its current deadline stands, the next coordinator's is on the clock.
    op.execute(
        "UPDATE routing.disputes SET working_clock = false WHERE facts->>'urgency' = 'critical'"
    )


def downgrade() -> None:
    op.drop_column("disputes", "working_clock", schema="routing")
