"""知识库: entries kept by their departments (each edits only its own), searched in Chinese
through jieba's words in PostgreSQL full text; an entry outside its validity is not offered."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

import rjieba
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.classification.models import KnowledgeEntry

# Words too common to say what a question is about; single characters are left out too.
_STOPWORDS = frozenset(
    {
        "请问",
        "咨询",
        "一下",
        "什么",
        "怎么",
        "如何",
        "怎样",
        "哪些",
        "可以",
        "是否",
        "需要",
        "我们",
        "你们",
        "他们",
        "这个",
        "那个",
        "没有",
        "已经",
        "现在",
        "问题",
        "情况",
        "有关",
        "关于",
        "本市",
        "您好",
        "谢谢",
    }
)
_WORD = re.compile(r"\w")
MAX_QUERY_WORDS = 32


class Tokeniser:
    """jieba (jieba-rs) with its own dictionary: the words stored and the words searched are
    cut alike, as the seeds in classification_0005 were."""

    def __init__(self) -> None:
        self._jieba = rjieba.Jieba()

    def tokens(self, text: str) -> str:
        return " ".join(" ".join(self._jieba.cut(text)).split())

    def query_words(self, text: str) -> list[str]:
        """The words of a demand's text worth searching on, in order, without repeats."""
        seen: dict[str, None] = {}
        for word in self._jieba.cut(text[:2000]):
            word = word.strip()
            if len(word) > 1 and word not in _STOPWORDS and _WORD.match(word):
                seen.setdefault(word, None)
        return list(seen)[:MAX_QUERY_WORDS]


@dataclass(frozen=True, slots=True)
class Found:
    entry: KnowledgeEntry
    rank: float


def _valid_at(now: datetime):  # type: ignore[no-untyped-def]
    return (KnowledgeEntry.valid_from <= now) & or_(
        KnowledgeEntry.valid_to.is_(None), KnowledgeEntry.valid_to > now
    )


async def search(
    session: AsyncSession, tokeniser: Tokeniser, text: str, *, now: datetime, limit: int
) -> list[Found]:
    """The valid entries sharing words with the text, most relevant first: any word may match
    (a demand's text rarely repeats an entry's question), ranked by ts_rank."""
    words = tokeniser.query_words(text)
    if not words:
        return []
    # Each word as a quoted lexeme, OR-ed: nothing the citizen wrote is read as query syntax.
    query = func.to_tsquery(
        "simple",
        " | ".join("'" + word.replace("'", "''").replace("\\", "") + "'" for word in words),
    )
    rank = func.ts_rank(KnowledgeEntry.search, query)
    rows = await session.execute(
        select(KnowledgeEntry, rank)
        .where(KnowledgeEntry.search.op("@@")(query), _valid_at(now))
        .order_by(rank.desc(), KnowledgeEntry.id)
        .limit(limit)
    )
    return [Found(entry, float(score)) for entry, score in rows]


async def valid_entry(
    session: AsyncSession, entry_id: uuid.UUID, *, now: datetime
) -> KnowledgeEntry | None:
    """The entry, if it exists and is valid at `now` (a stale one is not offered)."""
    entry: KnowledgeEntry | None = await session.scalar(
        select(KnowledgeEntry).where(KnowledgeEntry.id == entry_id, _valid_at(now))
    )
    return entry


async def entries_of(session: AsyncSession, department_id: str) -> list[KnowledgeEntry]:
    rows = await session.scalars(
        select(KnowledgeEntry)
        .where(KnowledgeEntry.department_id == department_id)
        .order_by(KnowledgeEntry.updated_at.desc(), KnowledgeEntry.id)
    )
    return list(rows)


async def get_entry(session: AsyncSession, entry_id: uuid.UUID) -> KnowledgeEntry | None:
    return await session.get(KnowledgeEntry, entry_id, with_for_update=True)


def add_entry(session: AsyncSession, entry: KnowledgeEntry) -> None:
    session.add(entry)
