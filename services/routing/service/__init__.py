"""Routing's use cases, one module per thing a demand's tasks go through. Each runs inside the
caller's transaction: task change, audit row and outbox events commit together, so nothing is
ever half-applied. The names below are the ones the API, the handlers and the tests call."""

from services.routing.service.acts import CoordinatorAct, DepartmentAct
from services.routing.service.coordinator_actions import (
    add_co_handler,
    assign_by_coordinator,
    reassign_task,
    report_arrival,
    summon,
)
from services.routing.service.coordinators import coordinator_chain, within_jurisdiction
from services.routing.service.department_actions import (
    acknowledge_task,
    contact_task,
    reply_task,
    return_task,
    sign_task,
)
from services.routing.service.dispatch import dispatch_demand, dispatch_demands, undo_duplicate
from services.routing.service.disputes import rule_dispute
from services.routing.service.duplicates import DuplicatePolicy, text_similarity
from services.routing.service.errors import (
    AlreadyRuled,
    DisputeNotFound,
    ExtensionNotFound,
    ExtensionRefused,
    InvalidRuling,
    MissingLegalBasis,
    NoPowerOverMatter,
    NotALiveLeadTask,
    OutsideJurisdiction,
    TaskNotFound,
    VersionConflict,
)
from services.routing.service.evaluation import close_after_evaluation, close_not_evaluated
from services.routing.service.extensions import decide_extension, request_extension
from services.routing.service.law import Citation
from services.routing.service.tasks import DemandFacts

__all__ = [
    "AlreadyRuled",
    "Citation",
    "CoordinatorAct",
    "DemandFacts",
    "DepartmentAct",
    "DisputeNotFound",
    "DuplicatePolicy",
    "ExtensionNotFound",
    "ExtensionRefused",
    "InvalidRuling",
    "MissingLegalBasis",
    "NoPowerOverMatter",
    "NotALiveLeadTask",
    "OutsideJurisdiction",
    "TaskNotFound",
    "VersionConflict",
    "acknowledge_task",
    "add_co_handler",
    "assign_by_coordinator",
    "close_after_evaluation",
    "close_not_evaluated",
    "contact_task",
    "coordinator_chain",
    "decide_extension",
    "dispatch_demand",
    "dispatch_demands",
    "reassign_task",
    "reply_task",
    "report_arrival",
    "request_extension",
    "return_task",
    "rule_dispute",
    "sign_task",
    "summon",
    "text_similarity",
    "undo_duplicate",
    "within_jurisdiction",
]
