"""Feedback settings (env prefix LIANDONG_FEEDBACK_)."""

from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class FeedbackSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIANDONG_FEEDBACK_")

    port: int = 8003
