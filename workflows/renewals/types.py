"""Inputs and outputs of the renewal workflows and their activities.

Small dataclasses, so fields can be added later (with defaults) without breaking the
histories of workflows already running."""

from __future__ import annotations

from dataclasses import dataclass, field

from workflows.schedules import ScheduledRun

#: ApplicationError type of a decision the clicking person may not take.
RENEWAL_NOT_ALLOWED = "RenewalNotAllowed"

#: The day the scan and the digest run for.
ScanInput = ScheduledRun
DigestInput = ScheduledRun


@dataclass
class ScheduledRunResult:
    """What the scan and the digest report, first of all the day they ran for (`as_of` of a
    `ScheduledRun` left empty is today in its time zone)."""

    as_of: str


@dataclass
class ClaimResult:
    reminder_ids: list[int] = field(default_factory=list)


@dataclass
class SendInput:
    reminder_ids: list[int]
    as_of: str


@dataclass
class FailedPost:
    """A part of a reminder (or the digest) Slack refused for good, and how to fix it."""

    contract: int | None  # None: the weekly digest
    target: str  # the channel, the owner's Slack id, or the email looked up
    error: str  # Slack's error code, e.g. channel_not_found
    hint: str = ""
    product: str = ""


@dataclass
class SendResult:
    sent: int = 0
    skipped: int = 0
    failed: list[FailedPost] = field(default_factory=list)


@dataclass
class ScanResult(ScheduledRunResult):
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    failed: list[FailedPost] = field(default_factory=list)


@dataclass
class DigestResult(ScheduledRunResult):
    posted: bool
    upcoming: int = 0
    reclaim: int = 0
    failed: list[FailedPost] = field(default_factory=list)


@dataclass
class RenewalDecisionInput:
    contract_id: int
    renewal_date: str  # ISO date: which term
    deadline: str  # ISO date, as the button showed it: informational only, the activity recomputes it
    action: str  # renew | cancel | renegotiate | snooze
    actor_slack_id: str
    click_id: str  # Slack's action_ts / view id: the same click is recorded once
    seats: int | None = None
    unit_price_cents: int | None = None
    snooze_days: int | None = None
    decided_at: str | None = None  # ISO timestamp; the workflow fills in its clock


@dataclass
class RenewalDecisionResult:
    accepted: bool
    message: str


@dataclass
class RefreshInput:
    contract_id: int
    renewal_date: str
    deadline: str
    as_of: str
