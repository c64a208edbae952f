"""Routing settings (env prefix LIANDONG_ROUTING_)."""

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from contracts.lists import DEFAULT_LISTS
from contracts.lists.calendar import LimitUnit, TimeLimit
from services.runtime.settings import Port, ServiceSettings


class RoutingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIANDONG_ROUTING_")

    port: Port = 8002
    lists_path: Path = Field(default=DEFAULT_LISTS, description="directory of the three lists")
    return_window: str = Field(
        default="2 working_hours", description="how long after assignment a lead may return a task"
    )
    max_returns: int = Field(
        default=2, ge=1, description="returns of a demand before it becomes a dispute"
    )

    duplicate_window_hours: float = Field(
        default=72,
        ge=0,
        description="a similar demand within this time joins the open task (0: off)",
    )
    duplicate_similarity: float = Field(
        default=0.6, gt=0, le=1, description="character-bigram similarity that makes a duplicate"
    )

    max_redos: int = Field(
        default=1,
        ge=0,
        description="redos (重办) sent back to the same lead before the coordinator above decides",
    )
    remind_share: float = Field(
        default=0.8,
        ge=0,
        lt=1,
        description="share of a stage's window after which the department is reminded (0: off)",
    )
    coordinator_act_within: str = Field(
        default="4 working_hours",
        description="time an escalated task's coordinator has to act before it climbs again",
    )
    critical_act_within: str = Field(
        default="1 calendar_hours",
        description=(
            "the same, on the clock, for work whose limits run by the clock (critical demands, "
            "the emergency profile): a task, dispute or extension request of a Saturday night "
            "climbs within hours, not on Monday"
        ),
    )
    sweeper_enabled: bool = Field(
        default=True, description="run the escalation sweeper in this process"
    )
    sweep_interval_ms: int = Field(default=500, gt=0, description="pause between idle sweeps")
    sweep_batch_size: int = Field(default=1000, gt=0, description="timers fired per transaction")
    sweep_concurrency: int = Field(
        default=2,
        ge=1,
        le=8,
        description="claim loops of one sweeper (SKIP LOCKED keeps them apart)",
    )
    audit_interval_s: float = Field(
        default=60, gt=0, description="how often the auditor checks every open task has a timer"
    )

    @field_validator("return_window", "coordinator_act_within")
    @classmethod
    def _parses(cls, value: str) -> str:
        TimeLimit.parse(value)
        return value

    @field_validator("critical_act_within")
    @classmethod
    def _on_the_clock(cls, value: str) -> str:
        if TimeLimit.parse(value).unit is not LimitUnit.calendar_hours:
            raise ValueError("limits that run by the clock take calendar_hours")
        return value
