"""Feedback settings (env prefix LIANDONG_FEEDBACK_)."""

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.lists import DEFAULT_LISTS
from contracts.lists.calendar import TimeLimit
from services.runtime.settings import Port, ServiceSettings


class FeedbackSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIANDONG_FEEDBACK_")

    port: Port = 8003
    lists_path: Path = Field(
        default=DEFAULT_LISTS, description="the three lists: units for rankings, the calendar"
    )
    evaluation_window: str = Field(
        default="3 working_days",
        description="time the citizen has to evaluate a reply before the demand closes as not "
        "evaluated (a time limit: '3 working_days', '72 calendar_hours')",
    )
    evaluation_url: str = Field(
        default="http://127.0.0.1:8080/track/{demand_id}?token={token}",
        description="the evaluation link sent to the citizen; {demand_id} and {token} are "
        "filled in: the console's citizen page by default (point it at the city's address of "
        "that page in production)",
    )
    sweep_interval_s: float = Field(
        default=30, gt=0, description="how often unanswered callbacks are looked for"
    )
    sweep_batch_size: int = Field(default=500, ge=1)

    @field_validator("evaluation_window")
    @classmethod
    def _window(cls, value: str) -> str:
        TimeLimit.parse(value)
        return value

    @field_validator("evaluation_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if "{token}" not in value or "{demand_id}" not in value:
            raise ValueError("evaluation_url must contain {demand_id} and {token}")
        return value


class FeedbackListsSettings(BaseSettings):
    """The one setting of feedback that `liandong rates recompute` needs besides the database."""

    model_config = SettingsConfigDict(env_prefix="LIANDONG_FEEDBACK_", extra="ignore")

    lists_path: Path = Field(default=DEFAULT_LISTS, description="for the city's time zone")
