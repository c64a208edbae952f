"""append-only history: rulings with their legal basis; transitions, escalations and rulings
refuse to be altered, by triggers in the database itself

Revision ID: routing_0018
Revises: routing_0017
Create Date: 2026-12-07 04:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "routing_0018"
down_revision: str | None = "routing_0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Whatever connects (the service's role, an operator with psql), a recorded step of a task's
# history cannot be changed or removed: the audit does not depend on every caller's goodwill.
_REFUSE = """
CREATE FUNCTION routing.refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'routing.% is append-only history: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'raise_exception', HINT = 'record a new row instead';
END
$$
"""

# An escalation row is written open and closed once (climbed or resolved): the closing columns
# may be set on an open row, nothing it recorded may change, and a closed row never changes.
_CLOSE_ONCE = """
CREATE FUNCTION routing.escalation_closes_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state <> 'open' OR NEW.state NOT IN ('climbed', 'resolved')
        OR (NEW.id, NEW.task_id, NEW.demand_id, NEW.department_id, NEW.unit_code,
            NEW.coordinator_unit_code, NEW.matter_code, NEW.stage, NEW.level, NEW.supervised,
            NEW.due_at, NEW.act_by, NEW.reason, NEW.opened_at)
        IS DISTINCT FROM
           (OLD.id, OLD.task_id, OLD.demand_id, OLD.department_id, OLD.unit_code,
            OLD.coordinator_unit_code, OLD.matter_code, OLD.stage, OLD.level, OLD.supervised,
            OLD.due_at, OLD.act_by, OLD.reason, OLD.opened_at)
    THEN
        RAISE EXCEPTION 'routing.escalations is append-only history: an escalation is closed'
            ' once and what it recorded never changes'
            USING ERRCODE = 'raise_exception';
    END IF;
    RETURN NEW;
END
$$
"""

_APPEND_ONLY = ("task_transitions", "rulings")


def upgrade() -> None:
    op.create_table(
        "rulings",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("dispute_id", sa.Uuid(), sa.ForeignKey("routing.disputes.id"), index=True),
        sa.Column("demand_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("coordinator_unit_code", sa.String(12), nullable=False),
        sa.Column("ruled_by", sa.String(200), nullable=False),
        sa.Column("ruled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lead_department_id", sa.String(100), nullable=False),
        sa.Column("co_handler_department_ids", postgresql.ARRAY(sa.String(100)), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.CheckConstraint("length(btrim(legal_basis)) > 0", name="ck_rulings_legal_basis"),
        schema="routing",
    )
    op.execute(_REFUSE)
    op.execute(_CLOSE_ONCE)
    for table in _APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON routing.{table}"
            " FOR EACH ROW EXECUTE FUNCTION routing.refuse_history_change()"
        )
    op.execute(
        "CREATE TRIGGER escalations_append_only BEFORE DELETE ON routing.escalations"
        " FOR EACH ROW EXECUTE FUNCTION routing.refuse_history_change()"
    )
    op.execute(
        "CREATE TRIGGER escalations_close_once BEFORE UPDATE ON routing.escalations"
        " FOR EACH ROW EXECUTE FUNCTION routing.escalation_closes_once()"
    )
    for table in (*_APPEND_ONLY, "escalations"):
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON routing.{table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION routing.refuse_history_change()"
        )


def downgrade() -> None:
    for table in (*_APPEND_ONLY, "escalations"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON routing.{table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON routing.{table}")
    op.execute("DROP TRIGGER IF EXISTS escalations_close_once ON routing.escalations")
    op.drop_table("rulings", schema="routing")
    op.execute("DROP FUNCTION routing.escalation_closes_once()")
    op.execute("DROP FUNCTION routing.refuse_history_change()")
