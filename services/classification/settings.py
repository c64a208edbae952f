"""Classification settings (env prefix LIANDONG_CLASSIFICATION_)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from contracts.lists import DEFAULT_LISTS
from services.classification.category_model import DEFAULT_ARTIFACT
from services.runtime.settings import Port, ServiceSettings


class ClassificationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIANDONG_CLASSIFICATION_")

    port: Port = 8001
    lists_path: Path = Field(default=DEFAULT_LISTS, description="directory of the three lists")
    model_path: Path = Field(default=DEFAULT_ARTIFACT, description="category model (`make model`)")
    matter_threshold: float = Field(
        default=0.5, ge=0, le=1, description="matter confidence below it goes to triage"
    )
    unit_threshold: float = Field(
        default=0.7, ge=0, le=1, description="unit confidence below it goes to triage"
    )
