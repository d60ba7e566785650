"""Inputs and outputs of the procurement workflow, its updates and its activities.

Small dataclasses, so fields can be added later (with defaults) without breaking the
histories of workflows already running."""

from __future__ import annotations

from dataclasses import dataclass

TASK_QUEUE = "procurement"

#: ApplicationError types the façade and the workflow recognise.
REQUEST_REJECTED = "RequestRejected"
DECISION_NOT_ALLOWED = "DecisionNotAllowed"
DECISION_INVALID = "DecisionInvalid"


@dataclass
class RequestInput:
    request_id: str
    requester_slack_id: str
    requester_email: str
    product_name: str
    seats: int
    justification: str
    product_id: str | None = None
    estimate_cents: int | None = None
    channel: str = "direct"
    cost_center: str | None = None
    needed_by: str | None = None  # ISO date
    expiry_days: int = 14


@dataclass
class ApprovalPlan:
    request_id: str
    approver_slack_id: str
    approver_email: str
    approver_name: str
    role: str = "manager"


@dataclass
class StepInput:
    request_id: str
    seq: int
    role: str
    approver_email: str
    approver_slack_id: str


@dataclass
class DecisionInput:
    actor_slack_id: str
    approve: bool
    reason: str = ""


@dataclass
class DecisionResult:
    accepted: bool
    status: str
    decided_by_slack_id: str | None
    message: str


@dataclass
class OutcomeInput:
    request_id: str
    seq: int
    status: str  # approved | denied | expired
    actor_slack_id: str | None
    reason: str | None
    decided_at: str  # ISO timestamp, from the workflow clock


@dataclass
class OutcomeResult:
    asset_id: int | None = None
    renewal_date: str | None = None


@dataclass
class RejectionInput:
    request_id: str
    requester_slack_id: str
    reason: str


@dataclass
class RequestState:
    request_id: str
    status: str
    requester_slack_id: str
    approver_slack_id: str | None = None
    decided_by_slack_id: str | None = None
    reason: str | None = None


@dataclass
class RequestResult:
    request_id: str
    status: str
    asset_id: int | None = None
    reason: str | None = None
