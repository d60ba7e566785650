"""What the outside world is told about a request: a plain snapshot the notifier renders,
and the port (`Notifier`) that workflows call and the Slack bot implements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from catalog.rules.discovery_actions import DigestView, PayerNotice


class MessageKind(StrEnum):
    APPROVAL_REQUEST = "approval_request"  # to an approver, with Approve / Deny
    REQUESTER_STATUS = "requester_status"  # to the requester, updated in place as it moves
    OUTCOME_NOTICE = "outcome_notice"  # a fresh DM to the requester when it is decided
    REUSE_OFFER = "reuse_offer"  # to the requester: what we already own that fits, with choices
    RECLAIM_ASK = "reclaim_ask"  # to an idle seat holder: still using it? Keep / Release
    SEAT_GRANTED = "seat_granted"  # to the product owner: a seat was handed out from the pool
    APPROVAL_REMINDER = "approval_reminder"  # a fresh DM to an approver: a step waits past its SLA
    REQUESTER_NOTICE = "requester_notice"  # a fresh DM to the requester: `RequestSummary.event` happened
    CHANGES_REQUESTED = "changes_requested"  # to the requester: an approver asks for changes (Edit button)


@dataclass(frozen=True)
class RequestSummary:
    request_id: str
    status: str
    requester_slack_id: str
    requester_name: str
    product_name: str
    product_id: str | None
    vendor: str | None
    seats: int
    unit_price_cents: int
    annual_cost_cents: int
    currency: str
    cost_center: str
    channel: str
    justification: str
    needed_by: date | None = None
    approver_slack_id: str | None = None
    approver_name: str | None = None
    decided_by_slack_id: str | None = None
    decision_reason: str | None = None
    asset_id: int | None = None
    renewal_date: date | None = None
    alternatives: tuple[str, ...] = ()
    reuse: ReuseView | None = None  # set on REUSE_OFFER, RECLAIM_ASK and SEAT_GRANTED messages
    # --- the approval chain (issue 5) ---
    data_classification: str = "internal"
    steps: tuple[StepView, ...] = ()  # every step of the current round, in order
    viewer_seq: int | None = None  # APPROVAL_REQUEST / APPROVAL_REMINDER: the recipient's step
    policy_reasons: tuple[str, ...] = ()  # why the route is what it is
    policy_version: str | None = None
    budget: BudgetView | None = None
    drawdown: DrawdownView | None = None
    changes_comment: str | None = None  # what the approver asked to change
    changes_by_slack_id: str | None = None
    event: str | None = None  # REQUESTER_NOTICE / APPROVAL_REMINDER: what happened, plain text
    # Reuse first: the requester went on although approved alternatives we own fit; why, and which.
    alternative_reason: str | None = None
    declined_alternatives: tuple[str, ...] = ()
    renewal: RenewalRequestView | None = None  # set when the request renews a contract's term

    # --- price and contract (price precedence; added seats join the running contract) ---
    price: PriceView | None = None
    expansion: ExpansionView | None = None  # the seats join a contract we have
    own_contract_reason: str | None = None  # the requester chose a contract of its own: why


@dataclass(frozen=True)
class RenewalRequestView:
    """What a renewal request renews: a contract's term, the current term beside the next.
    The request's own annual cost is the increase (`increase_cents`), what approval reserves."""

    contract_id: int
    renewal_date: date
    current_seats: int | None  # None: a usage-based contract (no seat count)
    current_unit_price_cents: int
    current_annual_cents: int
    seats: int | None
    unit_price_cents: int
    annual_cents: int
    increase_cents: int
    currency: str


@dataclass(frozen=True)
class StepView:
    seq: int
    stage: int
    role: str  # manager | finance | security | finops | it | …
    approver_slack_id: str
    approver_name: str
    status: str  # catalog.models.StepStatus, or "waiting": planned, its stage not open yet
    reasons: tuple[str, ...] = ()
    opened_at: datetime | None = None
    decided_by_slack_id: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None  # the decision's reason / comment
    assigned_because: str | None = None  # delegation, out of office, escalation, fallback
    delegate_slack_id: str | None = None  # may decide too (the approver's delegate, or the escalated-from)


@dataclass(frozen=True)
class BudgetView:
    """The budget line a request is checked against (`catalog.rules.budget`), in its currency."""

    cost_center: str
    fiscal_year: int
    currency: str
    annual_cents: int
    committed_cents: int
    actual_cents: int
    available_cents: int  # annual − committed − actual, before this request
    after_cents: int  # available − this request (negative: over budget)


@dataclass(frozen=True)
class PriceView:
    """How the request was priced (`catalog.rules.requests.Quote`): its basis, and the catalog
    price and estimate it was chosen from."""

    basis: str
    catalog_annual_cents: int | None
    estimate_cents: int | None


@dataclass(frozen=True)
class ExpansionView:
    """Added seats joining a running contract (`catalog.rules.expansion.Expansion`), as planned."""

    asset_id: int
    seats_before: int
    seats_after: int
    annual_cents: int
    currency: str
    as_of: date
    renewal_date: date
    days_left: int
    term_days: int
    prorated_cents: int


@dataclass(frozen=True)
class DrawdownView:
    """A marketplace purchase drawn against a cloud commitment."""

    commitment: str  # e.g. "AWS EDP 2026"
    provider: str  # aws | azure | gcp
    currency: str
    remaining_before_cents: int
    remaining_after_cents: int  # never below 0
    overflow_cents: int  # what the commitment does not cover
    end_date: date


@dataclass(frozen=True)
class ReuseView:
    """What a reuse message shows (see catalog.rules.reuse): the branch, what can be chosen, and
    once answered, what was chosen."""

    kind: str  # catalog.rules.reuse.ReuseKind
    spare: int = 0
    alternatives: tuple[tuple[str, str, int], ...] = ()  # (product id, name, spare seats)
    reclaimable: int = 0  # idle seats that could be reclaimed
    inactive_days: int = 30
    choices: tuple[str, ...] = ()  # open choices (workflows.request.types.CHOICE_*); empty once answered
    chosen: str | None = None  # the answer, or "expired"
    chosen_product_name: str | None = None
    holder_idle_days: int | None = None  # RECLAIM_ASK: how long this holder has been idle
    holder_answer: str | None = None  # RECLAIM_ASK: keep | release, once known
    answer_within_days: int | None = None  # RECLAIM_ASK: after that the seat is released
    held_since: date | None = None  # REUSE_OFFER of kind already_held: when they got their seat
    itam_ask: bool = False  # RECLAIM_ASK from the console's Ask to release: the ITAM team asks, no requester
    # ASK_OWNER: who owns the usage-based contract (name, and Slack id when known) to ask for access.
    owner_name: str | None = None
    owner_slack_id: str | None = None


@dataclass(frozen=True)
class MessageRef:
    """Where a posted message is (its channel and Slack timestamp): what updating it in place needs."""

    channel: str
    ts: str


class Undeliverable(Exception):
    """The chat platform refused a message (or a look-up it needs) for good: sending the same
    call again gets the same answer until someone changes the channel, the token, the app's
    scopes or the message. Notifiers raise it for such answers only; anything that may pass
    (rate limits, server errors, dropped connections) is raised as it is and retried.

    `target` is where the message was going (a channel name or id, a user id, an email for a
    look-up), `error` the platform's code (e.g. ``channel_not_found``) and `hint` one sentence
    saying how to fix it."""

    def __init__(self, *, target: str, error: str, hint: str) -> None:
        super().__init__(f"{target}: {error} ({hint})")
        self.target = target
        self.error = error
        self.hint = hint


class Notifier(Protocol):
    """Tells people about requests. Implemented by the Slack bot; fakes in workflow tests."""

    async def lookup_user_id(self, email: str) -> str | None: ...

    async def send(
        self, *, user_id: str, kind: MessageKind, summary: RequestSummary, key: str | None = None
    ) -> MessageRef:
        """Post a message; `key` is attached to it (Slack message metadata) so `find_sent` can
        find it again."""
        ...

    async def find_sent(self, *, user_id: str, key: str) -> MessageRef | None:
        """The message posted to `user_id` with `key`, if any: a retried activity whose worker
        died after Slack took the post, but before its reference was stored, finds it here
        instead of posting it twice."""
        ...

    async def update(self, *, ref: MessageRef, kind: MessageKind, summary: RequestSummary) -> None: ...


# --- renewals --------------------------------------------------------------------------


@dataclass(frozen=True)
class NextRenewal:
    """A contract's next renewal as every renewal message names it: what renews, who owns it,
    what it costs a year, when it renews, the notice deadline, and how far off that is."""

    contract_id: int
    product_name: str
    owner_email: str
    annual_cost_cents: int
    currency: str
    renewal_date: date
    deadline: date
    days_left: int  # negative once the notice deadline has passed (the renewal still ahead)
    status: str  # RenewalStatus


@dataclass(frozen=True)
class RenewalCard(NextRenewal):
    """Everything a renewal reminder shows, read fresh from the database when it is sent
    or updated in place."""

    asset_id: int
    vendor: str | None
    owner_slack_id: str | None
    unit_price_cents: int
    seats_bought: int | None  # None: usage-based (no seat count; the annual cost is the contract value)
    seats_assigned: int
    seats_active_30d: int
    cancel_by: date | None
    auto_renew: bool
    decided_by_slack_id: str | None = None
    decided_by: str | None = None
    decided_at: str | None = None  # ISO timestamp
    snoozed_until: date | None = None
    itam_owner_slack_id: str | None = None
    itam_owner_email: str | None = None
    renew_seats: int | None = None
    renew_unit_price_cents: int | None = None
    #: The owner's email belongs to nobody on Slack (a group mailbox): no DM went out, and the
    #: ITAM channel's reminder says so.
    owner_not_on_slack: bool = False
    #: A renewal request of this term waiting for its approvers (the term stays open meanwhile).
    pending_request_id: str | None = None
    pending_seats: int | None = None
    pending_unit_price_cents: int | None = None


@dataclass(frozen=True)
class UpcomingRenewal(NextRenewal):
    """A line of the renewal digest and of the App Home's upcoming renewals."""

    auto_renew: bool = True
    when: str = ""  # catalog.renewal_text.renewal_phrase: "renews … — notice deadline passed …"
    decision: str = ""  # catalog.renewal_text.term_decision_phrase; empty when nobody has acted


@dataclass(frozen=True)
class ReclaimCandidate:
    asset_id: int
    product_name: str
    person_email: str
    last_active: date | None  # None: never active


@dataclass(frozen=True)
class RenewalDigestSummary:
    as_of: date
    horizon_days: int
    upcoming: tuple[UpcomingRenewal, ...]
    totals: tuple[tuple[str, int], ...]  # (currency, annual cents) over `upcoming`
    reclaim: tuple[ReclaimCandidate, ...]
    idle_days: int


class RenewalNotifier(Protocol):
    """Tells ITAM and asset owners about renewals. Implemented by the Slack bot."""

    async def lookup_user_id(self, email: str) -> str | None: ...

    async def post_renewal_reminder(self, *, channel: str, card: RenewalCard) -> MessageRef: ...

    async def update_renewal_reminder(self, *, ref: MessageRef, card: RenewalCard) -> None: ...

    async def post_renewal_digest(self, *, channel: str, digest: RenewalDigestSummary) -> MessageRef: ...


class DiscoveryNotifier(Protocol):
    """Tells ITAM what discovery found and the payers what we already own. Implemented by the
    Slack bot (bot/notifier.py)."""

    async def post_discovery_digest(self, *, channel: str, view: DigestView) -> MessageRef: ...

    async def update_discovery_digest(self, *, ref: MessageRef, view: DigestView) -> None:
        """Redraw a posted digest in place (after a decision taken outside Slack)."""
        ...

    async def send_payer_notice(self, *, notice: PayerNotice) -> MessageRef: ...

    async def find_sent(self, *, user_id: str, key: str) -> MessageRef | None: ...
