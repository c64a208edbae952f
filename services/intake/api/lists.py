"""Read API over the three lists for front ends and operators: units, departments, matters.
No personal data; any valid credential (channel, department, coordinator, operator) reads it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from contracts.jurisdiction import Level, chain_of
from contracts.lists import Department, Lists, Unit
from contracts.text import Text
from services.intake.schemas import DepartmentOut, MatterOut, UnitDetail, UnitOut
from services.runtime.auth import current_principal
from services.runtime.http import RuntimeDep

router = APIRouter(prefix="/v1", tags=["lists"], dependencies=[Depends(current_principal)])


def _department_out(lists: Lists, dept: Department) -> DepartmentOut:
    type_name = lists.department_types[dept.type].name
    return DepartmentOut(
        id=dept.id, type=dept.type, type_name=type_name, unit_code=dept.unit_code, name=dept.name
    )


def _unit(lists: Lists, code: str) -> Unit:
    unit = lists.units_by_code.get(code)
    if unit is None:
        raise HTTPException(404, f"no unit {code} in the registry of {lists.version}")
    return unit


@router.get("/units", response_model=list[UnitOut], summary="Search units by name or code")
async def search_units(
    runtime: RuntimeDep,
    q: Annotated[
        Text | None, Query(max_length=50, description="part of the name, or a code prefix")
    ] = None,
    level: Level | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[UnitOut]:
    found = []
    for unit in runtime.lists.units:
        if level is not None and unit.level is not level:
            continue
        if q and q not in unit.name and not unit.code.startswith(q):
            continue
        found.append(UnitOut.of(unit))
        if len(found) >= limit:
            break
    return found


@router.get(
    "/units/{code}", response_model=UnitDetail, summary="A unit with its chain up to the city"
)
async def get_unit(code: Text, runtime: RuntimeDep) -> UnitDetail:
    lists = runtime.lists
    unit = _unit(lists, code)
    chain = [UnitOut.of(lists.units_by_code[c]) for c in chain_of(code)]
    return UnitDetail(
        **UnitOut.of(unit).model_dump(), chain=chain, children=len(lists.children(code))
    )


@router.get(
    "/units/{code}/children", response_model=list[UnitOut], summary="The units directly beneath"
)
async def unit_children(code: Text, runtime: RuntimeDep) -> list[UnitOut]:
    _unit(runtime.lists, code)
    return [UnitOut.of(u) for u in runtime.lists.children(code)]


@router.get("/departments", response_model=list[DepartmentOut], summary="Departments of a unit")
async def departments(
    runtime: RuntimeDep,
    unit: Annotated[Text, Query(max_length=12, description="12-digit unit code")],
    type: Annotated[Text | None, Query(max_length=40, description="department type code")] = None,
) -> list[DepartmentOut]:
    lists = runtime.lists
    _unit(lists, unit)
    return [
        _department_out(lists, d)
        for d in lists.departments_of_unit(unit)
        if type is None or d.type == type
    ]


@router.get("/matters", response_model=list[MatterOut], summary="The matter catalogue (事项清单)")
async def matters(
    runtime: RuntimeDep,
    category: Annotated[Text | None, Query(max_length=100)] = None,
    q: Annotated[
        Text | None, Query(max_length=50, description="part of the name or a keyword")
    ] = None,
) -> list[MatterOut]:
    return [
        MatterOut.of(m)
        for m in runtime.lists.matters
        if (category is None or m.category == category)
        and (q is None or q in m.name or any(q in k for k in m.keywords))
    ]


@router.get("/matters/{code}", response_model=MatterOut, summary="One matter")
async def matter(code: Text, runtime: RuntimeDep) -> MatterOut:
    found = runtime.lists.matters_by_code.get(code)
    if found is None:
        raise HTTPException(404, f"no matter {code} in the catalogue {runtime.lists.version}")
    return MatterOut.of(found)
