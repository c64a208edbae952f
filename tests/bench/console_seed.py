"""Seeds the services' databases for `make bench-console`: a month of a city's demands, a
department with 10,000 tasks, their timelines, escalations, triage and the feedback facts.

Rows are written by INSERT … SELECT over generate_series in each service's own schema, in the
shape the services write them (the same columns, states, deadlines and chains), so that a
hundred thousand demands load in seconds instead of an hour of HTTP calls. Ids are derived
from the row number (md5 as a uuid), so demands, tasks and facts join without lookups.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg

from contracts.jurisdiction import Level
from contracts.lists import load_lists

DEPARTMENT = "330502000000.urban_management"
DEPARTMENT_NAME = "吴兴区综合行政执法局"
DISTRICT = "330502"


@dataclass(frozen=True)
class Seeded:
    """What the pages of the bench are asked for."""

    department_tasks: list[str]  # task ids of DEPARTMENT
    demands: list[str]  # demand ids (any of the month)
    seconds: float


def texts(limit: int = 3000) -> list[str]:
    """Real citizen message titles (../shared/data), the demands' content."""
    path = Path(__file__).resolve().parents[3] / "shared" / "data" / "citizen-messages"
    with (path / "messages_labelled.csv").open(encoding="utf-8") as f:
        rows = [r["title"][:300] for r in csv.DictReader(f) if r.get("title")]
    return rows[:limit]


# The i-th demand: its id, its task's id, its community, matter and when it arrived. The first
# `$dept` demands are the department's (communities of its district), the rest spread over the
# city's communities. States follow the age: 10% each assigned, signed and contacted, 20%
# replied, half closed (evaluated).
_DEMANDS = """
CREATE TEMP TABLE seed AS
SELECT g.i,
       md5('demand' || g.i)::uuid AS demand_id,
       md5('task' || g.i)::uuid AS task_id,
       CASE WHEN g.i < $1 THEN ($3::text[])[1 + g.i % array_length($3::text[], 1)]
            ELSE ($4::text[])[1 + g.i % array_length($4::text[], 1)] END AS unit,
       ($5::text[])[1 + (g.i * 7) % array_length($5::text[], 1)] AS matter,
       ($6::text[])[1 + (g.i * 13) % array_length($6::text[], 1)] AS content,
       $7::timestamptz - make_interval(secs => 30 * 86400 * ((g.i * 7919) % $2) / $2::float8)
           AS received,
       (ARRAY['assigned','signed','contacted','replied','replied',
              'closed','closed','closed','closed','closed'])[1 + g.i % 10] AS state,
       '139' || lpad(((g.i * 31) % 40000)::text, 8, '0') AS phone
FROM generate_series(0, $2::bigint - 1) AS g(i)
"""

_INTAKE = [
    """
INSERT INTO intake.demands (id, channel, content, demand_type, unit_code, address, citizen_name,
    citizen_phone, citizen_phone_key, request_sha256, status, department_name, received_at,
    updated_at, submitted_by, expected_reply_at)
SELECT demand_id, 'hotline', content, 'complaint', unit, NULL, '市民', phone, phone,
       md5(demand_id::text) || md5(content),
       CASE state WHEN 'contacted' THEN 'signed' ELSE state END,  -- a demand's own statuses
       CASE WHEN i < $1 THEN $2 ELSE '社区居委会' END, received, received + interval '1 hour',
       'channel:hotline', received + interval '5 days'
FROM seed
""",
    """
INSERT INTO intake.timeline (demand_id, status, department_name, note, occurred_at)
SELECT demand_id, x.status, x.department, NULL, received + x.delay
FROM seed CROSS JOIN LATERAL (VALUES
    ('received', NULL, interval '0'),
    ('assigned', CASE WHEN i < $1 THEN $2 ELSE '社区居委会' END, interval '5 seconds'),
    ('replied', CASE WHEN i < $1 THEN $2 ELSE '社区居委会' END, interval '2 days')
) AS x(status, department, delay)
WHERE x.status <> 'replied' OR state IN ('replied', 'closed')
""",
]

_ROUTING = [
    """
INSERT INTO routing.tasks (id, demand_id, role, department_id, department_name, unit_code,
    demand_unit_code, matter_code, demand_type, urgency, content, address, citizen_name,
    citizen_phone, state, version, sign_due_at, first_contact_due_at, reply_due_at,
    deadlines_provisional, lists_version, rule, final, created_at, updated_at, chain, fired,
    supervised, redos, working_clock, reply_result, reply_text)
SELECT task_id, demand_id, 'lead',
       CASE WHEN i < $1 THEN $2 ELSE unit || '.community_committee' END,
       CASE WHEN i < $1 THEN $3 ELSE '社区居委会' END,
       CASE WHEN i < $1 THEN $4 || '000000' ELSE unit END,
       unit, matter, 'complaint', 'normal', content, NULL, '市民', phone, state,
       1 + (i % 10), received + interval '1 day', received + interval '2 days',
       received + interval '5 days', false, 'bench', 'bench', false, received, received,
       CASE WHEN i < $1 THEN ARRAY[substr(unit, 1, 6) || '000000', substr(unit, 1, 4) || '00000000']
            ELSE ARRAY[substr(unit, 1, 9) || '000', substr(unit, 1, 6) || '000000',
                       substr(unit, 1, 4) || '00000000'] END,
       '{}', false, 0, true,
       CASE WHEN state IN ('replied', 'closed') THEN 'resolved' END,
       CASE WHEN state IN ('replied', 'closed') THEN '已到现场处理完毕' END
FROM seed
""",
    # Every task's own history: assigned, then each step it has taken.
    """
INSERT INTO routing.task_transitions (task_id, action, from_state, to_state, actor, reason, at)
SELECT task_id, x.action, x.from_state, x.to_state, x.actor, NULL, received + x.delay
FROM seed CROSS JOIN LATERAL (VALUES
    ('assign', NULL, 'assigned', 'system:routing', interval '0', 0),
    ('sign', 'assigned', 'signed', 'department:clerk', interval '2 hours', 1),
    ('contact', 'signed', 'contacted', 'department:clerk', interval '5 hours', 2),
    ('reply', 'contacted', 'replied', 'department:clerk', interval '2 days', 3),
    ('close', 'replied', 'closed', 'system:routing', interval '3 days', 4)
) AS x(action, from_state, to_state, actor, delay, step)
WHERE x.step <= array_position(ARRAY['assigned','signed','contacted','replied','closed'], state) - 1
""",
    # One open task in fifty is late on its sign deadline and escalated to the first
    # coordinator of its chain.
    """
WITH late AS (
    SELECT s.*, md5('escalation' || s.i)::uuid AS escalation_id FROM seed s
    WHERE s.state = 'assigned' AND s.i % 50 = 0
), opened AS (
    INSERT INTO routing.escalations (id, task_id, demand_id, department_id, unit_code,
        coordinator_unit_code, matter_code, stage, level, supervised, due_at, act_by, reason,
        state, opened_at)
    SELECT l.escalation_id, l.task_id, l.demand_id, t.department_id, t.unit_code, t.chain[1],
           l.matter, 'sign', 1, false, l.received + interval '1 day',
           l.received + interval '1 day 4 hours', 'not signed in time', 'open',
           l.received + interval '1 day'
    FROM late l JOIN routing.tasks t ON t.id = l.task_id
    RETURNING task_id, id, due_at, act_by
)
UPDATE routing.tasks t SET escalation_id = o.id, escalation_level = 1,
    escalation_stage = 'sign', escalation_due_at = o.act_by, fired = ARRAY['breach:sign']
FROM opened o WHERE t.id = o.task_id
""",
]

_CLASSIFICATION = """
INSERT INTO classification.triage_items (demand_id, state, reason, content, demand_type,
    unit_code, address, citizen_name, citizen_phone, suggestions, urgency, created_at)
SELECT md5('triage' || g.i)::uuid, 'pending', 'low confidence',
    ($1::text[])[1 + g.i % array_length($1::text[], 1)], 'complaint', NULL, '某小区', '市民',
    '13900000000', '{}'::jsonb, (ARRAY['normal','urgent','critical'])[1 + g.i % 3],
    $2::timestamptz - make_interval(secs => g.i * 60)
FROM generate_series(0, $3::bigint - 1) AS g(i)
"""

_FEEDBACK = [
    """
INSERT INTO feedback.demand_facts (demand_id, matter_code, unit_code, classified_at,
    citizen_phone)
SELECT demand_id, matter, unit, received + interval '2 seconds', phone FROM seed
""",
    """
INSERT INTO feedback.task_facts (task_id, demand_id, department_id, department_name, unit_code,
    role, matter_code, assigned_at, sign_due_at, reply_due_at, signed_at)
SELECT t.id, t.demand_id, t.department_id, t.department_name, t.unit_code, 'lead',
       t.matter_code, t.created_at, t.sign_due_at, t.reply_due_at,
       CASE WHEN t.state <> 'assigned' THEN t.created_at + interval '2 hours' END
FROM routing.tasks t
""",
    """
INSERT INTO feedback.reply_facts (event_id, task_id, demand_id, department_id, department_name,
    unit_code, replied_at, reply_due_at)
SELECT 'reply-' || t.id, t.id, t.demand_id, t.department_id, t.department_name, t.unit_code,
       t.created_at + interval '2 days', t.reply_due_at
FROM routing.tasks t WHERE t.state IN ('replied', 'closed')
""",
    """
INSERT INTO feedback.evaluation_facts (event_id, demand_id, department_id, department_name,
    unit_code, occurred_at, outcome, resolved, satisfaction, evaluated_by)
SELECT md5('evaluation' || t.id)::uuid, t.demand_id, t.department_id, t.department_name,
       t.unit_code, t.created_at + interval '3 days', 'evaluated', (t.version % 5) <> 0,
       (ARRAY['satisfied','satisfied','satisfied','basically_satisfied','dissatisfied'])
           [1 + t.version % 5], 'citizen'
FROM routing.tasks t WHERE t.state = 'closed'
""",
]


def _units() -> tuple[list[str], list[str], list[str]]:
    lists = load_lists()
    communities = [u.code for u in lists.units if u.level is Level.community]
    district = [c for c in communities if c.startswith(DISTRICT)]
    matters = [m.code for m in lists.matters]
    return district, communities, matters


async def seed(url: str, *, demands: int, department_tasks: int, now: datetime) -> Seeded:
    """Loads the month; returns what the bench asks the pages for."""
    started = time.perf_counter()
    district, communities, matters = _units()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            _DEMANDS, department_tasks, demands, district, communities, matters, texts(), now
        )
        for statement in _INTAKE:
            await conn.execute(statement, department_tasks, DEPARTMENT_NAME)
        await conn.execute(_ROUTING[0], department_tasks, DEPARTMENT, DEPARTMENT_NAME, DISTRICT)
        for statement in _ROUTING[1:]:
            await conn.execute(statement)
        await conn.execute(_CLASSIFICATION, texts(), now, 300)
        for statement in _FEEDBACK:
            await conn.execute(statement)
        await conn.execute("ANALYZE")
        tasks = await conn.fetch(
            "SELECT id::text FROM routing.tasks WHERE department_id = $1 "
            "AND state IN ('assigned', 'signed', 'contacted') ORDER BY id LIMIT 200",
            DEPARTMENT,
        )
        picked = await conn.fetch("SELECT demand_id::text FROM seed WHERE i % 997 = 0")
    finally:
        await conn.close()
    return Seeded([r[0] for r in tasks], [r[0] for r in picked], time.perf_counter() - started)
