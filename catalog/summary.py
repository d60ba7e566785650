"""What the outside world is told about a request: a plain snapshot the notifier renders,
and the port (`Notifier`) that workflows call and the Slack bot implements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol


class MessageKind(StrEnum):
    APPROVAL_REQUEST = "approval_request"  # to an approver, with Approve / Deny
    REQUESTER_STATUS = "requester_status"  # to the requester, updated in place as it moves
    OUTCOME_NOTICE = "outcome_notice"  # a fresh DM to the requester when it is decided


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


@dataclass(frozen=True)
class MessageRef:
    channel: str
    ts: str


class Notifier(Protocol):
    """Tells people about requests. Implemented by the Slack bot; fakes in workflow tests."""

    async def lookup_user_id(self, email: str) -> str | None: ...

    async def send(self, *, user_id: str, kind: MessageKind, summary: RequestSummary) -> MessageRef: ...

    async def update(self, *, ref: MessageRef, kind: MessageKind, summary: RequestSummary) -> None: ...
