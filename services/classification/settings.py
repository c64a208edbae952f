"""Classification settings (env prefix LIANDONG_CLASSIFICATION_)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from contracts.lists import DEFAULT_LISTS
from services.classification.category_model import DEFAULT_ARTIFACT
from services.classification.routing_model import ARTIFACT as ROUTING_ARTIFACT
from services.classification.routing_model import ROUTING_THRESHOLD
from services.runtime.settings import Port, ServiceSettings


class ClassificationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LIANDONG_CLASSIFICATION_")

    port: Port = 8001
    lists_path: Path = Field(default=DEFAULT_LISTS, description="directory of the three lists")
    model_path: Path = Field(default=DEFAULT_ARTIFACT, description="category model (`make model`)")
    routing_model_path: Path = Field(
        default=ROUTING_ARTIFACT,
        description="department-type model (`make model`); absent: keywords and categories only",
    )
    routing_threshold: float = Field(
        default=ROUTING_THRESHOLD,
        ge=0,
        le=1,
        description="with the department-type model: the calibrated chance that the department "
        "type is right below which a demand goes to triage",
    )
    matter_threshold: float = Field(
        default=0.5, ge=0, le=1, description="matter confidence below it goes to triage"
    )
    unit_threshold: float = Field(
        default=0.7, ge=0, le=1, description="unit confidence below it goes to triage"
    )
