"""The data list (data_list.yaml): which fields of a demand each role may see."""

from __future__ import annotations

from contracts.lists.loader.files import LINE, Collector
from contracts.lists.model import DataList

_DATA_ROLES = ("lead", "co_handler", "coordinator", "upper_level", "public")


def load_data_list(c: Collector) -> DataList:
    name = "data_list.yaml"
    data = c.yaml(name)
    raw_fields, raw_roles = data.get("fields") or {}, data.get("roles") or {}
    if not isinstance(raw_fields, dict) or not isinstance(raw_roles, dict):
        c.add(name, data.get(LINE), "'fields' and 'roles' must be mappings")
        return DataList(fields={}, roles={})
    fields = {str(k): str(v) for k, v in raw_fields.items() if k != LINE}
    roles: dict[str, frozenset[str]] = {}
    for role in _DATA_ROLES:
        if role not in raw_roles:
            c.add(name, data.get(LINE), f"role {role} is missing")
    for role, visible in raw_roles.items():
        if role == LINE:
            continue
        if role not in _DATA_ROLES:
            c.add(
                name,
                raw_roles.get(LINE),
                f"unknown role {role!r}; roles are {', '.join(_DATA_ROLES)}",
            )
            continue
        unknown = [f for f in visible or [] if f not in fields]
        if unknown:
            c.add(
                name,
                raw_roles.get(LINE),
                f"role {role}: fields {unknown} are not declared under 'fields'",
            )
        if role != "lead" and "citizen" in (visible or []):
            # DESIGN: the citizen's name and phone go to the lead department only.
            c.add(name, raw_roles.get(LINE), f"role {role} may not see the citizen's contact")
        roles[role] = frozenset(str(f) for f in visible or [])
    return DataList(fields=fields, roles=roles)
