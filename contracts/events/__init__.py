"""Every event of the data standard, and the registry from CloudEvents type to model."""

from contracts.events.base import Event
from contracts.events.demand import (
    Channel,
    Citizen,
    DemandClassified,
    DemandReceived,
    DemandStatus,
    DemandStatusChanged,
    DemandTriaged,
    DemandType,
    Location,
    Urgency,
)
from contracts.events.escalation import DisputeOpened, DisputeRuled
from contracts.events.feedback import DemandEvaluated, Satisfaction
from contracts.events.task import (
    DepartmentSummoned,
    ReplyResult,
    ReturnReason,
    TaskAssigned,
    TaskContacted,
    TaskExtensionDecided,
    TaskExtensionRequested,
    TaskReplied,
    TaskReturned,
    TaskRole,
    TaskSigned,
    TaskWithdrawn,
)

EVENT_MODELS: tuple[type[Event], ...] = (
    DemandReceived,
    DemandClassified,
    DemandTriaged,
    DemandStatusChanged,
    TaskAssigned,
    TaskSigned,
    TaskContacted,
    TaskReplied,
    TaskReturned,
    TaskExtensionRequested,
    TaskExtensionDecided,
    TaskWithdrawn,
    DepartmentSummoned,
    DemandEvaluated,
    DisputeOpened,
    DisputeRuled,
)
EVENT_TYPES: dict[str, type[Event]] = {model.TYPE: model for model in EVENT_MODELS}

__all__ = [
    "EVENT_MODELS",
    "EVENT_TYPES",
    "Channel",
    "Citizen",
    "DemandClassified",
    "DemandEvaluated",
    "DemandReceived",
    "DemandStatus",
    "DemandStatusChanged",
    "DemandTriaged",
    "DemandType",
    "DepartmentSummoned",
    "DisputeOpened",
    "DisputeRuled",
    "Event",
    "Location",
    "ReplyResult",
    "ReturnReason",
    "Satisfaction",
    "TaskAssigned",
    "TaskContacted",
    "TaskExtensionDecided",
    "TaskExtensionRequested",
    "TaskReplied",
    "TaskReturned",
    "TaskRole",
    "TaskSigned",
    "TaskWithdrawn",
    "Urgency",
]
