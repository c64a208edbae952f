"""The authorisation matrix's table read into (operation, role) → status, and the operations
the running services publish (tests/e2e/test_authorisation_matrix.py checks one against the
other)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx


def parse_matrix(text: str, roles: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """`service METHOD path` → role → expected status."""
    lines = [line.split() for line in text.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    assert tuple(header[3:]) == roles, "MATRIX's columns must be ROLES, in order"
    table: dict[str, dict[str, int]] = {}
    for row in rows:
        assert len(row) == 3 + len(roles), f"row of {len(row) - 3} cells: {' '.join(row[:3])}"
        key = " ".join(row[:3])
        assert key not in table, f"two rows for {key}"
        table[key] = dict(zip(roles, (int(cell) for cell in row[3:]), strict=True))
    return table


async def operations(client: httpx.AsyncClient, urls: Mapping[str, str]) -> set[str]:
    """Every operation the running services publish in their OpenAPI documents."""
    found = set()
    for service in ("intake", "classification", "routing", "feedback"):
        document = (await client.get(f"{urls[service]}/openapi.json")).json()
        for path, item in document["paths"].items():
            for method in item:
                if method in ("get", "post", "put", "patch", "delete"):
                    found.add(f"{service} {method.upper()} {path}")
    return found
