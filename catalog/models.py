"""SQLModel tables: the catalog, the directory, requests and their approval steps, the asset
register, budgets and the audit log.

Money is integer minor units (cents) plus an ISO currency code; dates are `date`;
timestamps are timezone-aware UTC `datetime`s stored without zone by SQLite.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class ProductStatus(StrEnum):
    APPROVED = "approved"
    RESTRICTED = "restricted"
    BLOCKED = "blocked"


class RequestStatus(StrEnum):
    SUBMITTED = "submitted"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    REJECTED = "rejected"  # refused by a business rule before any approver saw it
    AWAITING_CHOICE = "awaiting_choice"  # reuse first: the requester is shown what we own
    RECLAIMING = "reclaiming"  # idle seat holders are asked to release their seats
    FULFILLED_FROM_POOL = "fulfilled_from_pool"  # a seat we already owned, nothing bought
    ALREADY_HELD = "already_held"  # the requester already holds a seat of it: nothing to do
    WITHDRAWN = "withdrawn"  # the requester withdrew (or picked an approved alternative)
    CHANGES_REQUESTED = "changes_requested"  # an approver asked the requester to edit the request


class StepStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    CHANGES_REQUESTED = "changes_requested"
    WITHDRAWN = "withdrawn"  # the requester withdrew while the step was open
    SUPERSEDED = "superseded"  # an edit restarted the route; this round's step no longer counts


def _ts_column(*, nullable: bool = False) -> Any:
    return Column(DateTime(timezone=True), nullable=nullable)


class Product(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    vendor: str = Field(max_length=200)
    category: str = Field(max_length=64, index=True)
    status: str = Field(default=ProductStatus.APPROVED, max_length=16)
    block_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    owner_email: str | None = Field(default=None, max_length=320)
    seats_total: int | None = None
    price_cents: int = Field(default=0, sa_type=BigInteger)
    currency: str = Field(default="USD", max_length=3)
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    alternatives: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    contract_start: date | None = None
    term_months: int | None = None
    auto_renew: bool = True
    notice_days: int = 30


class Person(SQLModel, table=True):
    email: str = Field(primary_key=True, max_length=320)
    slack_id: str | None = Field(default=None, max_length=32, unique=True, index=True)
    name: str = Field(max_length=200)
    manager_email: str | None = Field(default=None, max_length=320)
    department: str | None = Field(default=None, max_length=100)
    cost_center: str | None = Field(default=None, max_length=64)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    delegate_email: str | None = Field(default=None, max_length=320)
    # Out of office, both days included; approvals go to the delegate meanwhile.
    ooo_from: date | None = None
    ooo_to: date | None = None


class Budget(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("cost_center", "fiscal_year"),)
    id: int | None = Field(default=None, primary_key=True)
    cost_center: str = Field(max_length=64)
    fiscal_year: int
    annual_cents: int = Field(sa_type=BigInteger)
    committed_cents: int = Field(default=0, sa_type=BigInteger)
    actual_cents: int = Field(default=0, sa_type=BigInteger)
    currency: str = Field(default="USD", max_length=3)
    #: Who answers for this cost center: the policy's `cost_center_owner` step asks them when
    #: someone charges it who is not of it (`cost_center_not_requesters`).
    owner_email: str | None = Field(default=None, max_length=320)


class PurchaseRequest(SQLModel, table=True):
    __tablename__ = "purchase_request"
    # "My requests" of the App Home, newest first (docs/decisions.md, 46).
    __table_args__ = (
        Index("ix_purchase_request_requester_slack_id", "requester_slack_id", "created_at"),
        # The console's request list, newest first (migration 0016).
        Index("ix_purchase_request_created_at", "created_at", "id"),
    )
    id: str = Field(primary_key=True, max_length=32)
    workflow_id: str = Field(max_length=64, unique=True)
    requester_email: str = Field(max_length=320, index=True)
    requester_slack_id: str = Field(max_length=32)
    product_id: str | None = Field(default=None, max_length=64)
    product_name: str = Field(max_length=200)
    vendor: str | None = Field(default=None, max_length=200)
    seats: int
    unit_price_cents: int = Field(sa_type=BigInteger)
    annual_cost_cents: int = Field(sa_type=BigInteger)
    currency: str = Field(default="USD", max_length=3)
    cost_center: str = Field(max_length=64)
    channel: str = Field(default="direct", max_length=32)
    justification: str = Field(default="", sa_column=Column(Text, nullable=False))
    needed_by: date | None = None
    status: str = Field(default=RequestStatus.SUBMITTED, max_length=32, index=True)
    created_at: datetime = Field(sa_column=_ts_column())
    updated_at: datetime = Field(sa_column=_ts_column())
    decided_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    decided_by: str | None = Field(default=None, max_length=320)
    decision_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    data_classification: str = Field(default="internal", max_length=16)
    policy_version: str | None = Field(default=None, max_length=64)
    # Each edit after "request changes" starts a new round of approval steps.
    round: int = 1
    changes_comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # A renewal request (the owner's Renew at a higher annual cost): the contract and the term
    # (its renewal date) it renews. Its seats and price are the next term's; its annual cost is
    # the increase over the current term, which is what approval reserves (docs/decisions.md).
    renewal_contract_id: int | None = Field(default=None, index=True)
    renewal_date: date | None = None

    # Buying more seats of a product we own: the asset whose running contract the seats join
    # when approved (co-termed, prorated; catalog.rules.expansion). None: a contract of their own.
    expands_asset_id: int | None = None


class ApprovalStep(SQLModel, table=True):
    __tablename__ = "approval_step"
    __table_args__ = (
        UniqueConstraint("request_id", "seq"),
        # "Waiting for my approval" of the App Home, as the approver or their delegate.
        Index("ix_approval_step_approver_slack_id", "approver_slack_id", "status"),
        Index("ix_approval_step_delegate_slack_id", "delegate_slack_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(foreign_key="purchase_request.id", max_length=32, index=True)
    seq: int
    role: str = Field(max_length=32)
    approver_email: str = Field(max_length=320)
    approver_slack_id: str = Field(max_length=32)
    status: str = Field(default=StepStatus.PENDING, max_length=32)  # "changes_requested" is 17
    decided_by: str | None = Field(default=None, max_length=320)
    decided_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    stage: int = 1  # steps of one stage run in parallel; a stage opens when the previous one is approved
    round: int = 1
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    opened_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    sla_business_days: int = 2
    remind_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    escalate_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    reminded_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    escalated_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    assigned_because: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    delegate_email: str | None = Field(default=None, max_length=320)
    delegate_slack_id: str | None = Field(default=None, max_length=32)


class SlackMessage(SQLModel, table=True):
    """Where a message about a request was posted, so it can be updated in place and is never
    posted twice when an activity is retried."""

    __tablename__ = "slack_message"
    key: str = Field(primary_key=True, max_length=160)
    request_id: str = Field(max_length=32, index=True)
    channel: str = Field(max_length=32)
    ts: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=_ts_column())


class Asset(SQLModel, table=True):
    # The register's default order, by product then id (migration 0016).
    __table_args__ = (Index("ix_asset_product_name", "product_name", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: str | None = Field(default=None, max_length=32, unique=True)
    product_id: str | None = Field(default=None, max_length=64, index=True)
    product_name: str = Field(max_length=200)
    vendor: str | None = Field(default=None, max_length=200)
    owner_email: str = Field(max_length=320)
    cost_center: str = Field(max_length=64)
    channel: str = Field(default="direct", max_length=32)
    #: None: a usage-based contract (cloud, observability, data, API credits) with no seat
    #: count; its contract value is `annual_cost_cents` (docs/decisions.md, 52).
    seats: int | None = None
    unit_price_cents: int = Field(sa_type=BigInteger)
    annual_cost_cents: int = Field(sa_type=BigInteger)
    currency: str = Field(default="USD", max_length=3)
    created_at: datetime = Field(sa_column=_ts_column())
    # The key of an asset imported from another register (`procure assets import`), so
    # importing the same file again updates nothing; None for assets the bot recorded itself.
    external_id: str | None = Field(default=None, max_length=64, unique=True, index=True)


class Contract(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="asset.id", unique=True)
    start_date: date
    term_months: int
    billing_period: str = Field(default="annual", max_length=16)
    auto_renew: bool = True
    notice_days: int = 30
    notice_basis: str = Field(default="calendar", max_length=16)
    renewal_date: date
    # What a Renew decision agreed for the next term: it applies from `next_term_from` (that
    # term's renewal date) on; until then the asset keeps the current term's seats and price.
    next_term_from: date | None = None
    next_term_seats: int | None = None
    next_term_unit_price_cents: int | None = Field(default=None, sa_type=BigInteger)
    next_term_annual_cost_cents: int | None = Field(default=None, sa_type=BigInteger)


class SeatAssignment(SQLModel, table=True):
    __tablename__ = "seat_assignment"
    __table_args__ = (UniqueConstraint("asset_id", "person_email"),)
    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(foreign_key="asset.id", index=True)
    person_email: str = Field(max_length=320)
    assigned_at: datetime = Field(sa_column=_ts_column())
    last_active: date | None = None


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    # An asset's or a contract's audit trail (the asset detail; migration 0016).
    __table_args__ = (Index("ix_audit_event_entity", "entity", "entity_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    idem_key: str = Field(max_length=200, unique=True)
    at: datetime = Field(sa_column=_ts_column())
    request_id: str | None = Field(default=None, max_length=32, index=True)
    entity: str = Field(max_length=32)
    entity_id: str = Field(max_length=64)
    action: str = Field(max_length=64)
    actor: str = Field(max_length=320)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    step_seq: int | None = None
    policy_version: str | None = Field(default=None, max_length=64)


# --- budgets, commitments and the policy in force ----------------------------------------


class PolicyVersion(SQLModel, table=True):
    """The exact text of every policy a decision was made under, keyed by its content hash."""

    __tablename__ = "policy_version"
    version: str = Field(primary_key=True, max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    first_seen: datetime = Field(sa_column=_ts_column())


class Commitment(SQLModel, table=True):
    """A cloud spend commitment (AWS EDP/PPA, Azure MACC, GCP commit) marketplace purchases draw from."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    provider: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    currency: str = Field(default="USD", max_length=3)
    total_cents: int = Field(sa_type=BigInteger)
    remaining_cents: int = Field(sa_type=BigInteger)
    start_date: date | None = None
    end_date: date


class CommitmentDrawdown(SQLModel, table=True):
    """What an approved marketplace request drew from a commitment: once per request."""

    __tablename__ = "commitment_drawdown"
    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(max_length=32, unique=True)
    commitment_id: int = Field(foreign_key="commitment.id", index=True)
    amount_cents: int = Field(sa_type=BigInteger)
    overflow_cents: int = Field(default=0, sa_type=BigInteger)
    at: datetime = Field(sa_column=_ts_column())


class BudgetReservation(SQLModel, table=True):
    """What an approved request added to its budget's `committed`: the unique request id is
    what makes approval reserve exactly once.

    `amount_cents` and `currency` are the request's annual cost as approved; `budget_cents` is
    that amount in the budget line's currency (`budget_currency`), converted at `rate` (units
    of the budget's currency per unit of the request's, as exact decimal text), and is what
    `committed` grew by. Rows written before it was recorded (migration
    0007_reservation_conversion) hold NULL there when the two currencies differed."""

    __tablename__ = "budget_reservation"
    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(max_length=32, unique=True)
    cost_center: str = Field(max_length=64)
    fiscal_year: int
    amount_cents: int = Field(sa_type=BigInteger)
    currency: str = Field(default="USD", max_length=3)
    at: datetime = Field(sa_column=_ts_column())
    budget_cents: int | None = Field(default=None, sa_type=BigInteger)
    budget_currency: str | None = Field(default=None, max_length=3)
    rate: str | None = Field(default=None, max_length=40)


class SpendRecord(SQLModel, table=True):
    """One line of imported actual spend; `source_key` makes a re-import add nothing."""

    __tablename__ = "spend_record"
    id: int | None = Field(default=None, primary_key=True)
    source_key: str = Field(max_length=64, unique=True)
    spent_on: date
    cost_center: str = Field(max_length=64, index=True)
    vendor: str = Field(max_length=200)
    amount_cents: int = Field(sa_type=BigInteger)
    currency: str = Field(default="USD", max_length=3)
    imported_at: datetime = Field(sa_column=_ts_column())


# --- renewal reminders -------------------------------------------------------------------


class RenewalStatus(StrEnum):
    OPEN = "open"  # reminders go out (a snooze or a renegotiation keeps it open)
    RENEWED = "renewed"
    CANCELLED = "cancelled"  # non-renewal notice is to be sent; the contract ends with this term


class RenewalTerm(SQLModel, table=True):
    """What the people responsible decided about one term of a contract, keyed by the
    renewal date that ends it. No row means nobody has acted on that term yet."""

    __tablename__ = "renewal_term"
    __table_args__ = (UniqueConstraint("contract_id", "renewal_date"),)
    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    renewal_date: date
    status: str = Field(default=RenewalStatus.OPEN, max_length=16)
    decided_by: str | None = Field(default=None, max_length=320)
    decided_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    snoozed_until: date | None = None
    itam_owner_email: str | None = Field(default=None, max_length=320)
    renew_seats: int | None = None
    renew_unit_price_cents: int | None = Field(default=None, sa_type=BigInteger)
    updated_at: datetime = Field(sa_column=_ts_column())
    # The term's deadline recomputed from the contract when the last decision was taken.
    deadline: date | None = None


class Reminder(SQLModel, table=True):
    """One renewal reminder, claimed before it is sent: the unique key (contract, term,
    due date) is what makes every reminder go out once across retries and restarts."""

    __table_args__ = (UniqueConstraint("contract_id", "renewal_date", "due_on"),)
    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    renewal_date: date
    due_on: date = Field(index=True)
    deadline: date
    created_at: datetime = Field(sa_column=_ts_column())
    sent_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    channel_id: str | None = Field(default=None, max_length=32)
    channel_ts: str | None = Field(default=None, max_length=32)
    owner_slack_id: str | None = Field(default=None, max_length=32)
    dm_channel_id: str | None = Field(default=None, max_length=32)
    dm_ts: str | None = Field(default=None, max_length=32)


class RenewalDigest(SQLModel, table=True):
    """The weekly digest posted for a date, so a retried run never posts it twice."""

    __tablename__ = "renewal_digest"
    as_of: date = Field(primary_key=True)
    channel_id: str = Field(max_length=32)
    ts: str = Field(max_length=32)
    created_at: datetime = Field(sa_column=_ts_column())


# --- discovery: spend and sign-ins that did not come through a request ---------------------


class SpendLine(SQLModel, table=True):
    """One card/expense line or one cloud-marketplace line (FOCUS), kept for discovery.

    `source_key` (a digest of the normalised line and its occurrence in the file, or the
    export's transaction id) makes re-importing a file add nothing. `descriptor` is the text
    as the bank or the bill printed it (`SQ *NOTION LABS`, a FOCUS `PublisherName`);
    recognition happens at `procure discover run`, so a better matcher re-reads old lines.
    A marketplace line draws from `commitment_id` (the provider's commitment active that day)
    and is reconciled against the approved marketplace request `request_id`, if any."""

    __tablename__ = "spend_line"
    id: int | None = Field(default=None, primary_key=True)
    source_key: str = Field(max_length=64, unique=True)
    source: str = Field(max_length=8)  # card | focus
    spent_on: date
    descriptor: str = Field(max_length=300)
    payer_email: str | None = Field(default=None, max_length=320)
    cost_center: str | None = Field(default=None, max_length=64)
    amount_cents: int = Field(sa_type=BigInteger)
    currency: str = Field(default="USD", max_length=3)
    transaction_id: str | None = Field(default=None, max_length=128)
    memo: str | None = Field(default=None, max_length=300)
    marketplace: bool = False
    provider: str | None = Field(default=None, max_length=16)  # aws | azure | gcp | oracle …
    publisher: str | None = Field(default=None, max_length=200)
    service_name: str | None = Field(default=None, max_length=200)
    sub_account_id: str | None = Field(default=None, max_length=128)
    commitment_id: int | None = Field(default=None, foreign_key="commitment.id")
    request_id: str | None = Field(default=None, max_length=32)
    imported_at: datetime = Field(sa_column=_ts_column())


class SsoAppUsage(SQLModel, table=True):
    """Who signs in to which app, from an IdP export (Okta, Entra): one row per app and
    person, `last_login` only ever moving forward. Apps outside the register are what
    discovery reports; those in it also update seat activity."""

    __tablename__ = "sso_app_usage"
    __table_args__ = (UniqueConstraint("app_key", "user_email"),)
    id: int | None = Field(default=None, primary_key=True)
    app_key: str = Field(max_length=200, index=True)  # the app name case- and space-folded
    app: str = Field(max_length=200)
    user_email: str = Field(max_length=320)
    last_login: date
    imported_at: datetime = Field(sa_column=_ts_column())


class Discovery(SQLModel, table=True):
    """One product seen in spend or sign-ins, as the last `procure discover run` aggregated it.

    `key` is `product:<catalog id>`, `known:<name>` (a SaaS product the catalog lacks) or
    `unknown:<descriptor>`; a re-run updates the row in place, so later decisions on it
    (adopt, block, ignore) can hang off it. `spend_cents` is the last 12 months per
    currency; `lines`, `payers`, `cost_centers`, `first_seen`/`last_seen` count every line up
    to `as_of`. A product no longer seen keeps its row with `lines` and `sso_users` at 0."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    product_id: str | None = Field(default=None, max_length=64, index=True)
    name: str = Field(max_length=200)
    vendor: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=64)
    status: str = Field(max_length=16, index=True)  # managed | unmanaged | blocked_in_use | unknown
    spend_cents: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    lines: int = 0
    payers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cost_centers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    first_seen: date | None = None
    last_seen: date | None = None
    sso_users: int = 0
    marketplace_lines: int = 0
    unreconciled_lines: int = 0  # marketplace lines with no approved marketplace request
    as_of: date
    updated_at: datetime = Field(sa_column=_ts_column())
    # What ITAM decided from the digest (adopted | blocked | ignored), why, by whom; an ignored
    # product stays out of digests and payer DMs until `suppressed_until`.
    decision: str | None = Field(default=None, max_length=16)
    decision_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    decided_by: str | None = Field(default=None, max_length=320)
    suppressed_until: date | None = None
    asset_id: int | None = None  # the asset Adopt created
    # The ITAM digest message this row was last shown in, updated in place on every click.
    digest_channel: str | None = Field(default=None, max_length=32)
    digest_ts: str | None = Field(default=None, max_length=32, index=True)


class ApiToken(SQLModel, table=True):
    """A console token (`procure web token create`): only its SHA-256 is stored, so a leaked
    database reveals no usable token. `purpose` "api" authenticates `/api/v1/…` as Bearer,
    "calendar" the renewals iCalendar feed in its URL; revoked or expired tokens count for nothing."""

    __tablename__ = "web_api_token"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    email: str = Field(max_length=320, index=True)
    purpose: str = Field(default="api", max_length=16)
    label: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_column=_ts_column())
    created_by: str = Field(max_length=320)
    expires_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts_column(nullable=True))


class ContractPlan(SQLModel, table=True):
    """The renewal calendar's answer for a contract, kept so the App Home and the console read
    renewals with an indexed query instead of planning 100,000 contracts per view
    (catalog/repository/renewal_plans.py; docs/decisions.md, "The console at 100,000").

    A row holds the term renewing next and its deadline as planned on `planned_on`, with the
    contract terms and the holiday calendar (`calendar`, a digest) it was planned from. It
    answers for a later day while those are unchanged and, for a contract that renews by
    itself, until that renewal date; otherwise it is planned again. Null dates: the contract
    cannot be planned."""

    __tablename__ = "contract_plan"
    __table_args__ = (
        Index("ix_contract_plan_deadline", "deadline", "renewal_date"),
        Index("ix_contract_plan_renewal_date", "renewal_date", "deadline"),
        # `renewal_plans.stale_by_time_or_calendar`: is a read's plan current, in three look-ups.
        Index("ix_contract_plan_calendar", "calendar"),
        Index("ix_contract_plan_rollover", "auto_renew", "renewal_date"),
        Index("ix_contract_plan_planned_on", "auto_renew", "planned_on"),
    )
    contract_id: int = Field(foreign_key="contract.id", primary_key=True)
    start_date: date
    term_months: int
    auto_renew: bool
    notice_days: int
    notice_basis: str = Field(max_length=16)
    contract_renewal_date: date
    calendar: str = Field(max_length=64)
    planned_on: date
    renewal_date: date | None = None
    deadline: date | None = None
