"""What every activity that tells people something shares: the request snapshot messages
show, and sending each message once (keyed) or updating it in place."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from catalog import repository
from catalog.db import transaction
from catalog.models import ProductStatus
from catalog.summary import MessageKind, MessageRef, Notifier, RequestSummary


def _now() -> datetime:
    return datetime.now(UTC)


def request_summary(session: Session, *, request_id: str) -> RequestSummary:
    """Everything a message about the request shows, read fresh from the database."""
    request = repository.get_request(session, request_id=request_id)
    if request is None:
        raise LookupError(f"request {request_id} does not exist")
    requester = repository.get_person(session, email=request.requester_email)
    steps = repository.list_steps(session, request_id=request_id)
    step = steps[-1] if steps else None
    approver = repository.get_person(session, email=step.approver_email) if step else None
    decider = repository.get_person(session, email=request.decided_by) if request.decided_by else None
    asset = repository.get_asset_for_request(session, request_id=request_id)
    contract = repository.get_contract(session, asset_id=asset.id) if asset and asset.id else None
    alternatives: tuple[str, ...] = ()
    if request.product_id:
        product = repository.get_product(session, product_id=request.product_id)
        if product is not None:
            names = []
            for alt_id in product.alternatives:
                alt = repository.get_product(session, product_id=alt_id)
                if alt is not None and alt.status != ProductStatus.BLOCKED:
                    names.append(alt.name)
            alternatives = tuple(names)
    return RequestSummary(
        request_id=request.id,
        status=request.status,
        requester_slack_id=request.requester_slack_id,
        requester_name=requester.name if requester else request.requester_email,
        product_name=request.product_name,
        product_id=request.product_id,
        vendor=request.vendor,
        seats=request.seats,
        unit_price_cents=request.unit_price_cents,
        annual_cost_cents=request.annual_cost_cents,
        currency=request.currency,
        cost_center=request.cost_center,
        channel=request.channel,
        justification=request.justification,
        needed_by=request.needed_by,
        approver_slack_id=step.approver_slack_id if step else None,
        approver_name=approver.name if approver else None,
        decided_by_slack_id=decider.slack_id if decider and decider.slack_id else None,
        decision_reason=request.decision_reason,
        asset_id=asset.id if asset else None,
        renewal_date=contract.renewal_date if contract else None,
        alternatives=alternatives,
    )


class MessagingActivities:
    def __init__(self, engine: Engine, notifier: Notifier) -> None:
        self._engine = engine
        self._notifier = notifier

    # --- helpers ---------------------------------------------------------------------

    def _summary(self, request_id: str) -> RequestSummary:
        with transaction(self._engine) as session:
            return request_summary(session, request_id=request_id)

    def _message_ref(self, key: str) -> MessageRef | None:
        with transaction(self._engine) as session:
            row = repository.get_message(session, key=key)
            return MessageRef(row.channel, row.ts) if row else None

    def _save_ref(self, key: str, request_id: str, ref: MessageRef) -> None:
        with transaction(self._engine) as session:
            repository.save_message(session, key=key, request_id=request_id, channel=ref.channel, ts=ref.ts, at=_now())

    async def _send_once(self, key: str, user_id: str, kind: MessageKind, summary: RequestSummary) -> MessageRef:
        existing = await asyncio.to_thread(self._message_ref, key)
        if existing is not None:
            return existing
        ref = await self._notifier.send(user_id=user_id, kind=kind, summary=summary)
        await asyncio.to_thread(self._save_ref, key, summary.request_id, ref)
        return ref

    async def _send_or_update(self, key: str, user_id: str, kind: MessageKind, summary: RequestSummary) -> None:
        existing = await asyncio.to_thread(self._message_ref, key)
        if existing is None:
            await self._send_once(key, user_id, kind, summary)
        else:
            await self._notifier.update(ref=existing, kind=kind, summary=summary)
