"""The knowledge base (知识库) over HTTP: departments keep their own entries; operators and
departments search it; the operator sees the top entries next to a triage item."""

from __future__ import annotations

import functools
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from services.classification import knowledge, repository
from services.classification.models import KnowledgeEntry
from services.classification.schemas import KnowledgeEntryIn, KnowledgeEntryOut
from services.runtime.auth import DepartmentDep, OperatorDep, Principal, Role, require
from services.runtime.http import RuntimeDep, Unprocessable
from services.runtime.service import Runtime

router = APIRouter(tags=["knowledge"])
ReaderDep = Annotated[Principal, Depends(require(Role.operator, Role.department))]
NOT_YOURS = "no entry with this id in your department's knowledge base"


@functools.cache
def _tokeniser() -> knowledge.Tokeniser:
    return knowledge.Tokeniser()  # jieba's dictionary loads once, on first use


def _checked(runtime: Runtime, body: KnowledgeEntryIn) -> None:
    unknown = [code for code in body.matters if code not in runtime.lists.matters_by_code]
    if unknown:
        raise Unprocessable("body.matters", f"no matter {', '.join(unknown)} in the lists")
    valid_from = body.valid_from or runtime.clock.now()
    if body.valid_to is not None and body.valid_to <= valid_from:
        raise Unprocessable("body.valid_to", "must be after valid_from")


def _write(entry: KnowledgeEntry, body: KnowledgeEntryIn, runtime: Runtime, by: str) -> None:
    now = runtime.clock.now()
    entry.question = body.question
    entry.answer = body.answer
    entry.matters = list(body.matters)
    entry.valid_from = body.valid_from or now
    entry.valid_to = body.valid_to
    entry.tokens = _tokeniser().tokens(f"{body.question} {body.answer}")
    entry.updated_by = by
    entry.updated_at = now


@router.post(
    "/v1/knowledge",
    status_code=201,
    response_model=KnowledgeEntryOut,
    summary="Add an entry to the department's knowledge base",
    responses={422: {"description": "unknown matter, or valid_to not after valid_from"}},
)
async def add_entry(
    body: KnowledgeEntryIn, runtime: RuntimeDep, department: DepartmentDep
) -> KnowledgeEntryOut:
    _checked(runtime, body)
    entry = KnowledgeEntry(id=uuid.uuid4(), department_id=department.department_id)
    _write(entry, body, runtime, department.sub)
    async with runtime.sessions() as session, session.begin():
        knowledge.add_entry(session, entry)
    return KnowledgeEntryOut.of(entry)


@router.get(
    "/v1/knowledge",
    response_model=list[KnowledgeEntryOut],
    summary="The department's own entries, stale ones included, newest first",
)
async def own_entries(runtime: RuntimeDep, department: DepartmentDep) -> list[KnowledgeEntryOut]:
    async with runtime.sessions() as session:
        entries = await knowledge.entries_of(session, department.department_id)
    return [KnowledgeEntryOut.of(e) for e in entries]


@router.put(
    "/v1/knowledge/{entry_id}",
    response_model=KnowledgeEntryOut,
    summary="Change one of the department's entries (another department's is not found)",
    responses={404: {"description": NOT_YOURS}, 422: {"description": "invalid entry"}},
)
async def change_entry(
    entry_id: uuid.UUID, body: KnowledgeEntryIn, runtime: RuntimeDep, department: DepartmentDep
) -> KnowledgeEntryOut:
    _checked(runtime, body)
    async with runtime.sessions() as session, session.begin():
        entry = await knowledge.get_entry(session, entry_id)
        if entry is None or entry.department_id != department.department_id:
            raise HTTPException(404, NOT_YOURS)
        _write(entry, body, runtime, department.sub)
    return KnowledgeEntryOut.of(entry)


@router.delete(
    "/v1/knowledge/{entry_id}",
    response_model=KnowledgeEntryOut,
    summary="Retire an entry: it is kept, valid until now, and no longer offered",
    responses={404: {"description": NOT_YOURS}},
)
async def retire_entry(
    entry_id: uuid.UUID, runtime: RuntimeDep, department: DepartmentDep
) -> KnowledgeEntryOut:
    now = runtime.clock.now()
    async with runtime.sessions() as session, session.begin():
        entry = await knowledge.get_entry(session, entry_id)
        if entry is None or entry.department_id != department.department_id:
            raise HTTPException(404, NOT_YOURS)
        if entry.valid_to is None or entry.valid_to > now:
            entry.valid_to = max(now, entry.valid_from)
            entry.updated_by = department.sub
            entry.updated_at = now
    return KnowledgeEntryOut.of(entry)


@router.get(
    "/v1/knowledge/search",
    response_model=list[KnowledgeEntryOut],
    summary="The valid entries that best answer a text (any department's)",
)
async def search_entries(
    runtime: RuntimeDep,
    _reader: ReaderDep,
    q: Annotated[str, Query(min_length=1, max_length=2000)],
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> list[KnowledgeEntryOut]:
    async with runtime.sessions() as session:
        found = await knowledge.search(
            session, _tokeniser(), q, now=runtime.clock.now(), limit=limit
        )
    return [KnowledgeEntryOut.of(f.entry, f.rank) for f in found]


@router.get(
    "/v1/triage/{demand_id}/knowledge",
    response_model=list[KnowledgeEntryOut],
    summary="The top valid entries for a triage item's text, next to the item",
    responses={404: {"description": "no such demand in triage"}},
)
async def entries_for_item(
    demand_id: uuid.UUID,
    runtime: RuntimeDep,
    _operator: OperatorDep,
    limit: Annotated[int, Query(ge=1, le=20)] = 3,
) -> list[KnowledgeEntryOut]:
    async with runtime.sessions() as session:
        item = await repository.get_triage_item(session, demand_id)
        if item is None:
            raise HTTPException(404, "no such demand in triage")
        found = await knowledge.search(
            session, _tokeniser(), item.content, now=runtime.clock.now(), limit=limit
        )
    return [KnowledgeEntryOut.of(f.entry, f.rank) for f in found]
