"""Intake settings (env prefix LIANDONG_INTAKE_)."""

from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIANDONG_INTAKE_")

    port: int = 8000
