"""triage urgency: the queue lists critical demands first

Revision ID: classification_0003
Revises: classification_0002
Create Date: 2026-11-27 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "classification_0003"
down_revision: str | None = "classification_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The critical cues of services/classification/rules.py when this revision was written, in
# their order (the first one the text contains is the cue); frozen here so the migration does
# not change when the rules do.
CRITICAL_CUES = (
    "燃气泄漏",
    "煤气泄漏",
    "漏气",
    "起火",
    "着火",
    "火灾",
    "被困",
    "坍塌",
    "倒塌",
    "触电",
    "电线断落",
    "溺水",
)


def upgrade() -> None:
    op.add_column(
        "triage_items",
        sa.Column("urgency", sa.String(length=16), server_default="normal", nullable=False),
        schema="classification",
    )
    op.alter_column("triage_items", "urgency", server_default=None, schema="classification")
    op.add_column(
        "triage_items",
        sa.Column("urgency_cue", sa.String(length=40), nullable=True),
        schema="classification",
    )
    # Items queued before urgency was kept: the critical cues are recomputed from the text (a
    # substring test per cue); the matter's own urgency would need the lists, so the others
    # stay normal.
    recompute = sa.text(
        """
        UPDATE classification.triage_items AS t
           SET urgency = 'critical', urgency_cue = found.cue
          FROM (SELECT i.demand_id,
                       (SELECT c.cue FROM unnest(CAST(:cues AS text[])) WITH ORDINALITY AS c(cue, n)
                         WHERE strpos(i.content, c.cue) > 0 ORDER BY c.n LIMIT 1) AS cue
                  FROM classification.triage_items AS i) AS found
         WHERE found.demand_id = t.demand_id AND found.cue IS NOT NULL
        """
    )
    op.execute(recompute.bindparams(cues=list(CRITICAL_CUES)))


def downgrade() -> None:
    op.drop_column("triage_items", "urgency_cue", schema="classification")
    op.drop_column("triage_items", "urgency", schema="classification")
