"""Inputs and outputs of the procurement workflow, its updates and its activities.

Small dataclasses, so fields can be added later (with defaults) without breaking the
histories of workflows already running. Over 400 lines only because every payload of the
workflow, its updates and its activities is here, one short dataclass each."""

from __future__ import annotations

from dataclasses import dataclass, field

TASK_QUEUE = "procurement"

#: ApplicationError types the façade and the workflow recognise.
REQUEST_REJECTED = "RequestRejected"
DECISION_NOT_ALLOWED = "DecisionNotAllowed"
DECISION_INVALID = "DecisionInvalid"
#: Slack refused a call for good (`catalog.ports.Undeliverable`): never retried.
UNDELIVERABLE = "Undeliverable"


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
    data_classification: str = "internal"  # public | internal | confidential | restricted
    # A renewal request: the owner's Renew of a contract's term at a higher annual cost
    # (docs/decisions.md, "Renewal authority"). `seats` and this price are the next term's;
    # the route is planned for the increase, and approval records the renewal.
    renewal_contract_id: int | None = None
    renewal_date: str | None = None  # ISO date: the term's renewal date
    renewal_unit_price_cents: int | None = None  # None: the current term's price

    # Buying more of a product we own: the seats get a contract of their own instead of
    # joining the running one (catalog.rules.expansion).
    separate_contract: bool = False

    @property
    def is_renewal(self) -> bool:
        return self.renewal_contract_id is not None


@dataclass
class ApprovalPlan:
    request_id: str
    approver_slack_id: str
    approver_email: str
    approver_name: str
    role: str = "manager"


@dataclass
class StepRef:
    """Which approval step of which request: what every payload about one step starts with
    (`keys.step_entity_id` is the audit rows' name for it)."""

    request_id: str
    seq: int


@dataclass
class StepInput(StepRef):
    role: str
    approver_email: str
    approver_slack_id: str


#: What an approver can answer on a step (DecisionInput.action).
ACTION_APPROVE = "approve"
ACTION_DENY = "deny"
ACTION_REQUEST_CHANGES = "request_changes"


@dataclass
class DecisionInput:
    actor_slack_id: str
    approve: bool
    reason: str = ""
    seq: int | None = None  # the step clicked; None: the open step this person may decide
    action: str = ""  # ACTION_*; "" means approve/deny from `approve`

    @property
    def kind(self) -> str:
        if self.action:
            return self.action
        return ACTION_APPROVE if self.approve else ACTION_DENY


@dataclass
class DecisionResult:
    accepted: bool
    status: str
    decided_by_slack_id: str | None
    message: str


@dataclass
class OutcomeInput(StepRef):
    status: str  # approved | denied | expired
    actor_slack_id: str | None
    reason: str | None
    decided_at: str  # ISO timestamp, from the workflow clock


@dataclass
class OutcomeResult:
    asset_id: int | None = None
    renewal_date: str | None = None
    # Set when closing recorded another status than the workflow asked for: an approval whose
    # cost can't be converted to its budget's currency is recorded as rejected, with why.
    status: str | None = None
    reason: str | None = None
    # Closing found that the policy now asks for more than this round approved (the budget
    # moved since the route was planned): nothing but the step records was written, and the
    # workflow re-checks the route (`recheck_route`) and walks the steps it adds.
    route_grew: bool = False


@dataclass
class RejectionInput:
    request_id: str
    requester_slack_id: str
    reason: str


@dataclass
class StepState:
    """One approval step as the workflow sees it (query)."""

    seq: int
    stage: int
    role: str
    approver_slack_id: str
    status: str  # catalog.models.StepStatus
    delegate_slack_id: str | None = None  # the approver's active delegate, who may also decide
    decided_by_slack_id: str | None = None  # who decided it (None while pending, or closed unanswered)


@dataclass
class RequestStanding:
    """A request and the status it is in: what the `state` query and the workflow's result
    both start with."""

    request_id: str
    status: str


@dataclass
class RequestState(RequestStanding):
    requester_slack_id: str
    approver_slack_id: str | None = None
    decided_by_slack_id: str | None = None
    reason: str | None = None
    reuse_kind: str | None = None
    choice_open: bool = False
    steps: list[StepState] | None = None  # the approval chain (None before it is planned)
    changes_comment: str | None = None  # set while the requester is asked to edit


@dataclass
class RequestResult(RequestStanding):
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
    """The reuse decision of one round (`catalog.rules.reuse.ReuseDecision`, flattened for history)."""

    request_id: str
    round: int
    kind: str  # catalog.rules.reuse.ReuseKind
    product_id: str | None
    seats: int
    spare: int = 0
    reclaimable: list[str] | None = None  # holder emails, most idle first
    alternatives: list[str] | None = None  # product ids
    choices: list[str] | None = None  # what the requester may answer
    choice_timeout_days: int = 14
    reclaim_timeout_days: int = 3
    held_since: str | None = None  # ALREADY_HELD: ISO date the requester got their seat
    owner_email: str | None = None  # ASK_OWNER: the usage-based contract's owner, to ask for access


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


# --- approval chain: policy route, SLA, delegation, changes, withdraw ----------------------


@dataclass
class PlanInput:
    request: RequestInput
    at: str  # ISO timestamp from the workflow clock: budget year, OOO and expiry are as of then
    round: int = 1  # 2, 3…: re-planned after the requester edited the request
    first_seq: int = 1  # seqs of this round's steps start here (earlier rounds keep theirs)


@dataclass
class RecheckInput:
    """The route re-checked as a stage opens or as the request closes (`recheck_route`): the
    roles this round already has, and where the steps the policy now adds would go."""

    request: RequestInput
    at: str  # ISO, workflow clock
    round: int
    first_seq: int  # the added steps' seqs start here
    stage: int  # the stage the added steps join (or open)
    roles: list[str]  # every role on this round's route


@dataclass
class RecheckResult:
    added: list[RouteStepPlan]
    reasons: list[str]


@dataclass
class RouteStepPlan:
    seq: int  # unique within the request across rounds
    stage: int  # steps of one stage run in parallel; stages run in order
    role: str
    approver_email: str
    approver_slack_id: str
    approver_name: str
    reasons: list[str]
    sla_business_days: int = 2
    delegate_email: str | None = None  # the approver's delegate, who may decide too
    delegate_slack_id: str | None = None
    assigned_because: str | None = None  # "out of office: delegate of …", "fallback approver of …"
    carried_over: bool = False  # approved in an earlier round by the same person: not asked again


@dataclass
class RoutePlan:
    request_id: str
    outcome: str  # auto_approve | route | reject
    steps: list[RouteStepPlan]
    reasons: list[str]
    policy_version: str
    expires_at: str  # ISO timestamp: the request expires if not decided by then
    escalate_after_slas: int = 2  # escalate when a step has waited this many SLAs
    escalation_target: str = "manager"  # "manager" or an email
    reject_reason: str | None = None
    annual_cost_cents: int = 0  # what this round asks for (approvals carry over when it doesn't grow)
    round: int = 1
    remind_after_slas: int = 1  # remind the approver when a step has waited this many SLAs


@dataclass
class StepOpen:
    request_id: str
    round: int
    step: RouteStepPlan
    at: str  # ISO, workflow clock
    escalate_after_slas: int = 2
    remind_after_slas: int = 1


@dataclass
class StepTimes:
    remind_at: str  # ISO: one SLA (business days) after the step opened
    escalate_at: str  # ISO: escalate_after_slas SLAs after it opened


@dataclass
class StageOpen:
    """Every step of one stage, opened together by one activity (`open_chain_stage`)."""

    request_id: str
    round: int
    steps: list[RouteStepPlan]
    at: str  # ISO, workflow clock
    escalate_after_slas: int = 2
    remind_after_slas: int = 1


@dataclass
class StageTimes:
    steps: list[StepTimes]  # in the order of `StageOpen.steps`


@dataclass
class StepNudge(StepRef):
    """A reminder or an escalation of one waiting step."""

    kind: str  # reminder | escalation
    at: str  # ISO, workflow clock
    escalation_target: str = "manager"


@dataclass
class Escalated:
    """Who the step now waits for after an escalation (None: nobody to escalate to)."""

    approver_email: str | None = None
    approver_slack_id: str | None = None
    approver_name: str | None = None


@dataclass
class StepDecisionRecord(StepRef):
    action: str  # ACTION_* or "expired" / "withdrawn" / "superseded"
    actor_slack_id: str | None
    reason: str | None
    at: str  # ISO, workflow clock
    policy_version: str = ""
    # Update every message about the request once recorded. False when the workflow's next
    # activity (the next stage's opening, the outcome) updates them anyway.
    announce: bool = True


@dataclass
class DelegateInput:
    actor_slack_id: str
    to_slack_id: str
    seq: int | None = None
    note: str = ""


@dataclass
class DelegateRecord(StepRef):
    from_slack_id: str
    to_slack_id: str
    at: str
    note: str = ""


@dataclass
class Delegated:
    approver_email: str
    approver_slack_id: str
    approver_name: str


@dataclass
class WithdrawInput:
    actor_slack_id: str
    reason: str = ""


@dataclass
class EditInput:
    """The requester's answer to "request changes": the fields they may change."""

    actor_slack_id: str
    seats: int | None = None
    estimate_cents: int | None = None
    justification: str | None = None
    cost_center: str | None = None
    channel: str | None = None
    data_classification: str | None = None


@dataclass
class ChainOutcome:
    request_id: str
    status: str  # approved | denied | expired | withdrawn
    actor_slack_id: str | None
    reason: str | None
    decided_at: str
    policy_version: str = ""
    last_seq: int = 1


@dataclass
class ChainClosing:
    """Everything that closes a request, for one activity (`close_chain`): the decisions the
    workflow has accepted and not yet recorded, the steps it closes unanswered (superseded,
    expired, withdrawn), in that order, and the outcome."""

    records: list[StepDecisionRecord]
    outcome: ChainOutcome
    # Set by workflows that re-check the route (`ROUTE_RECHECK_PATCH`): an approval is
    # recorded only if the policy, on the budget as it is under the closing transaction's
    # lock, asks for no role this round has not approved (`OutcomeResult.route_grew`).
    recheck: bool = False
    request: RequestInput | None = None
    roles: list[str] = field(default_factory=list)  # every role on this round's route


#: ApplicationError type of a refused edit / withdraw / delegate update.
CHANGE_NOT_ALLOWED = "ChangeNotAllowed"
