"""extension deadlines: the coordinator's time to decide, then the request climbs

Revision ID: routing_0014
Revises: routing_0013
Create Date: 2026-11-26 14:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "routing_0014"
down_revision: str | None = "routing_0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "extensions",
        sa.Column("act_by", sa.DateTime(timezone=True), nullable=True),
        schema="routing",
    )
    op.add_column(
        "extensions",
        sa.Column("supervised", sa.Boolean(), server_default=sa.false(), nullable=False),
        schema="routing",
    )
    op.alter_column("extensions", "supervised", server_default=None, schema="routing")
    # Requests waiting from before decision deadlines existed get one day from the upgrade.
    op.execute(
        "UPDATE routing.extensions SET act_by = now() + interval '1 day' WHERE state = 'pending'"
    )
    op.create_index(
        op.f("ix_routing_extensions_act_by"),
        "extensions",
        ["act_by"],
        unique=False,
        schema="routing",
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_routing_extensions_act_by"), table_name="extensions", schema="routing")
    op.drop_column("extensions", "supervised", schema="routing")
    op.drop_column("extensions", "act_by", schema="routing")
