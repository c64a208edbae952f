"""Intake settings (env prefix LIANDONG_INTAKE_)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from contracts.lists import DEFAULT_LISTS
from services.runtime.settings import Port, ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIANDONG_INTAKE_")

    port: Port = 8000
    lists_path: Path = Field(default=DEFAULT_LISTS, description="directory of the three lists")
    redeliver_after_s: float = Field(
        default=300,
        gt=0,
        description="a demand still `received` this long after it came, and this long after its "
        "demand.received event was last published, has that event published again (same "
        "event id); so at most once per this time per demand",
    )
    redeliver_interval_s: float = Field(
        default=30, gt=0, description="how often demands left `received` are looked for"
    )
    redeliver_batch_size: int = Field(default=500, ge=1)
