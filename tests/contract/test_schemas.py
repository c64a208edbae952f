import json
import re

from contracts.events import EVENT_MODELS, EVENT_TYPES
from contracts.schema_export import SCHEMA_DIR, render_schemas


def test_committed_schemas_are_up_to_date():
    rendered = render_schemas()
    committed = {p.name for p in SCHEMA_DIR.glob("*.json")}
    assert committed == set(rendered), "run `make contracts` and commit contracts/schemas"
    for name, text in rendered.items():
        assert (SCHEMA_DIR / name).read_text(encoding="utf-8") == text, (
            f"{name} is stale: run `make contracts` and commit contracts/schemas"
        )


def test_every_event_type_is_versioned_and_unique():
    assert len(EVENT_TYPES) == len(EVENT_MODELS)
    for model in EVENT_MODELS:
        assert re.fullmatch(r"cn\.liandong\.[a-z]+\.[a-z-]+\.v\d+", model.TYPE), model.TYPE


def test_events_are_closed_and_frozen():
    for model in EVENT_MODELS:
        assert model.model_config.get("extra") == "forbid", model.__name__
        assert model.model_config.get("frozen") is True, model.__name__
        schema = json.loads(render_schemas()[f"{model.TYPE}.json"])
        assert schema.get("additionalProperties") is False, model.__name__
        assert {"demand_id", "occurred_at"} <= set(schema["required"]), model.__name__


def test_task_topic_events_carry_no_personal_data():
    for type_name, model in EVENT_TYPES.items():
        if not type_name.startswith("cn.liandong.task."):
            continue
        fields = set(model.model_fields)
        assert not fields & {"citizen", "citizen_name", "citizen_phone", "phone", "name"}, type_name
