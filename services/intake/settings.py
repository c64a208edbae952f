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
