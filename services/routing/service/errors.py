"""Routing's refusals: what a use case raises, each mapped to an HTTP status by the API."""

from __future__ import annotations

import structlog

log = structlog.get_logger(__name__)


class TaskNotFound(Exception):
    pass


class VersionConflict(Exception):
    """Another clerk changed the task since the caller read it (optimistic locking)."""


class DisputeNotFound(Exception):
    pass


class OutsideJurisdiction(Exception):
    pass


class NoPowerOverMatter(OutsideJurisdiction):
    """The department lies outside the coordinator's area and the power list gives it no part
    in the matter there (HTTP 403, naming the rule)."""


class InvalidRuling(Exception):
    pass


class MissingLegalBasis(InvalidRuling):
    """A decision that must cite the law cited none (HTTP 422 naming `legal_basis`)."""


class AlreadyRuled(Exception):
    pass


class ExtensionNotFound(Exception):
    pass


class NotALiveLeadTask(Exception):
    """A coordinator action needs the demand's live lead task (HTTP 409)."""


class ExtensionRefused(Exception):
    """The request or the decision is not possible now; says why (HTTP 409)."""
