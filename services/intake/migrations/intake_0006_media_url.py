"""media_url: the Open311 request's photo link, kept and shown back

Revision ID: intake_0006
Revises: intake_0005
Create Date: 2026-12-07 04:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "intake_0006"
down_revision: str | None = "intake_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "demands", sa.Column("media_url", sa.String(length=1000), nullable=True), schema="intake"
    )


def downgrade() -> None:
    op.drop_column("demands", "media_url", schema="intake")
