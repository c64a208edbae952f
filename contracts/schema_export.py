"""Writes the JSON Schema of every event into contracts/schemas/ (committed, checked by a test)."""

from __future__ import annotations

import json
from pathlib import Path

from contracts.events import EVENT_MODELS

SCHEMA_DIR = Path(__file__).parent / "schemas"


def render_schemas() -> dict[str, str]:
    """File name -> JSON text of every event's schema, named after its CloudEvents type."""
    rendered: dict[str, str] = {}
    for model in EVENT_MODELS:
        schema = model.model_json_schema(mode="serialization")
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"urn:liandong:schema:{model.TYPE}",
            "x-cloudevents-type": model.TYPE,
            **schema,
        }
        rendered[f"{model.TYPE}.json"] = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    return rendered


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    rendered = render_schemas()
    for stale in directory.glob("*.json"):
        if stale.name not in rendered:
            stale.unlink()
    written = []
    for name, text in rendered.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
