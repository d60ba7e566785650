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
    reuse_kind: str | None = None
    choice_open: bool = False


@dataclass
class RequestResult:
    request_id: str
    status: str
    asset_id: int | None = None
    reason: str | None = None
    decided_by_slack_id: str | None = None  # lets the façade answer late clicks without a worker


# --- reuse first ---------------------------------------------------------------------------

#: ApplicationError type of a refused `choose` / `answer_reclaim` update.
CHOICE_NOT_ALLOWED = "ChoiceNotAllowed"

#: What the requester can answer to a reuse offer.
CHOICE_TAKE_SEAT = "take_seat"  # get a spare seat now (no purchase)
CHOICE_RECLAIM = "reclaim"  # ask idle holders to release their seats
CHOICE_BUY = "buy"  # buy more seats / continue to approval
CHOICE_ALTERNATIVE = "alternative"  # use the approved alternative instead (a new request)
CHOICE_WITHDRAW = "withdraw"


@dataclass
class ReuseOffer:
    """The reuse decision of one round (`catalog.reuse.ReuseDecision`, flattened for history)."""

    request_id: str
    round: int
    kind: str  # catalog.reuse.ReuseKind
    product_id: str | None
    seats: int
    spare: int = 0
    reclaimable: list[str] | None = None  # holder emails, most idle first
    alternatives: list[str] | None = None  # product ids
    choices: list[str] | None = None  # what the requester may answer
    choice_timeout_days: int = 14
    reclaim_timeout_days: int = 3


@dataclass
class AssessInput:
    request: RequestInput
    round: int


@dataclass
class ChoiceInput:
    actor_slack_id: str
    choice: str
    product_id: str | None = None  # the alternative picked
    justification: str = ""


@dataclass
class ChoiceResult:
    accepted: bool
    message: str
    choice: str | None = None
    product_id: str | None = None


@dataclass
class ChoiceRecord:
    request_id: str
    round: int
    choice: str  # one of CHOICE_*, or "expired"
    actor_slack_id: str | None
    product_id: str | None = None
    justification: str = ""
    at: str = ""  # ISO timestamp, from the workflow clock


@dataclass
class ReclaimAsk:
    request_id: str
    round: int
    product_id: str
    holders: list[str]  # emails


@dataclass
class ReclaimAsked:
    holders: dict[str, str]  # slack id → email of the holders asked in Slack
    unreachable: list[str]  # emails of holders not on Slack (released when the timeout passes)


@dataclass
class ReclaimAnswerInput:
    actor_slack_id: str
    release: bool


@dataclass
class ReclaimSettlement:
    request_id: str
    round: int
    product_id: str
    released: list[str]  # emails whose seats are freed (answered Release, or no answer)
    kept: list[str]  # emails who answered Keep
    at: str = ""


@dataclass
class PoolGrant:
    request_id: str
    product_id: str
    at: str  # ISO timestamp, from the workflow clock
