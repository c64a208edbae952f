"""knowledge base (知识库): entries kept by departments, full-text searchable in Chinese

Revision ID: classification_0005
Revises: classification_0004
Create Date: 2026-12-07 05:00:00.000000

Seeds five entries derived from real official replies to citizens' consultations
(../shared/data/citizen-messages/messages_with_replies.csv, ids 3788, 4443, 5175, 4418, 4840),
rewritten as general answers with no personal data; their tokens are jieba's words, as the
service writes them.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import rjieba
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "classification_0005"
down_revision: str | None = "classification_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEEDED_AT = datetime(2026, 12, 7, tzinfo=UTC)
# (department id, matters, question, answer): frozen here, so the migration never changes.
SEEDS = (
    (
        "330500000000.housing_fund",
        ["HOUSING-FUND"],
        "商业住房贷款能否转为公积金贷款（商转公）？",
        "住房公积金管理中心不支持非本中心缴存人以及异地商业银行贷款申请办理商转公业务；"
        "本中心缴存人可持身份证、借款合同到公积金管理中心窗口咨询办理条件。",
    ),
    (
        "330500000000.public_security",
        ["PUBSEC-HUKOU"],
        "高校毕业生如何将户口迁入本市？需要哪些材料？",
        "高校本科及以上学历毕业生，凭毕业证、就业报到证或本市合法稳定就业凭证，可将本人户口"
        "迁入本市城镇地区；其他高校、职院毕业生还需本市城镇社会保险缴纳凭证。申报材料：申请表、"
        "户口迁移证或居民户口簿内页、毕业证、就业报到证或合法稳定就业凭证。",
    ),
    (
        "330500000000.housing_construction",
        ["HOUSING-PURCHASE"],
        "非本市户籍人员在本市购房需要什么资格？",
        "非本市户籍人员购房，需在本市连续缴纳24个月社保或个人所得税，限购一套住房。24个月"
        "社保指购房之月往前推算30个月内累计有24个月正常缴存记录，补缴的不予认可。",
    ),
    (
        "330500000000.medical_security",
        ["HEALTH-MED-INSURANCE"],
        "新纳入医保目录的药品能否报销？",
        "纳入省基本医疗保险、工伤保险和生育保险药品目录乙类范围的药品，本市医保同样报销。"
        "正常参保人在基本医疗保险协议医疗机构住院治疗、病情需要使用该药品的，均可按规定报销。",
    ),
    (
        "330500000000.education",
        ["EDU-ENROL"],
        "小学升初中如何报名？需要提供哪些材料？",
        "关注当年中小学招生入学政策，在普通中小学入学报名系统按对应方式（如配套入学）网上报名。"
        "报名时需提供父母或其他法定监护人的身份证、户口簿，不动产权证或购房合同及发票，"
        "以及学生学籍证明等资料。",
    ),
)


def upgrade() -> None:
    table = op.create_table(
        "knowledge_entries",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("department_id", sa.String(length=100), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("matters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tokens", sa.Text(), nullable=False),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector('simple'::regconfig, tokens)", persisted=True),
            nullable=True,
        ),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema="classification",
    )
    op.create_index(
        op.f("ix_classification_knowledge_entries_department_id"),
        "knowledge_entries",
        ["department_id"],
        schema="classification",
    )
    op.create_index(
        "ix_classification_knowledge_entries_search",
        "knowledge_entries",
        ["search"],
        postgresql_using="gin",
        schema="classification",
    )
    jieba = rjieba.Jieba()
    assert table is not None
    op.bulk_insert(
        table,
        [
            {
                "id": uuid.uuid5(uuid.NAMESPACE_URL, f"liandong:knowledge:{question}"),
                "department_id": department,
                "question": question,
                "answer": answer,
                "matters": matters,
                "valid_from": SEEDED_AT,
                "valid_to": None,
                "tokens": " ".join(" ".join(jieba.cut(f"{question} {answer}")).split()),
                "updated_by": "seed",
                "updated_at": SEEDED_AT,
            }
            for department, matters, question, answer in SEEDS
        ],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_classification_knowledge_entries_search",
        table_name="knowledge_entries",
        schema="classification",
    )
    op.drop_index(
        op.f("ix_classification_knowledge_entries_department_id"),
        table_name="knowledge_entries",
        schema="classification",
    )
    op.drop_table("knowledge_entries", schema="classification")
