"""The seat release's activities: find the holder and open the ask, DM them the reclaim
question (the same RECLAIM_ASK message as reuse first, said on the ITAM team's behalf), and
settle the answer with the repository functions reuse first uses. Each step is audited once
(keyed by seat and run) and every message is keyed, so a retry changes nothing."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any

from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from catalog import repository
from catalog.db import transaction
from catalog.models import Asset, Product, SeatAssignment
from catalog.ports import MessageKind, RequestSummary, ReuseView
from catalog.rules.reuse import ReuseKind, SeatHolder
from workflows.request.activities.messaging import ActivityConcern, _now
from workflows.seat_release.types import (
    ANSWER_KEEP,
    ANSWER_RELEASE,
    SEAT_RELEASE_REJECTED,
    SeatReleaseAsk,
    SeatReleaseInput,
    SeatReleaseSettlement,
    release_id_for,
)


def _key(seat_id: int, run_id: str, what: str) -> str:
    return f"seat_release:{seat_id}:{run_id}:{what}"


def _rejected(reason: str) -> ApplicationError:
    return ApplicationError(reason, type=SEAT_RELEASE_REJECTED, non_retryable=True)


class SeatReleaseActivities(ActivityConcern):
    @activity.defn
    async def find_seat_holder(self, ask: SeatReleaseInput) -> SeatReleaseAsk:
        """Who holds the seat and their Slack id, audited as asked (by whom). A seat that is
        gone, or a holder Slack does not know, is refused for good (audited too)."""
        run_id = activity.info().workflow_run_id or ""
        found = await asyncio.to_thread(self._holder, ask.seat_id)
        if found is None:
            raise _rejected(f"Seat {ask.seat_id} is not assigned any more: nothing to ask.")
        product_id, email, slack_id = found
        if not slack_id:
            slack_id = await self._notifier.lookup_user_id(email)
        if not slack_id:
            reason = f"{email} is not on Slack: ask them directly."
            await asyncio.to_thread(
                self._audit, ask.seat_id, run_id, "release_ask_refused", ask.asked_by, {"reason": reason}
            )
            raise _rejected(reason)
        answer_by = self._messenger.add_business_days(_now(), ask.answer_business_days)
        asked = SeatReleaseAsk(
            ask.seat_id,
            run_id,
            product_id,
            email,
            slack_id,
            answer_by.isoformat(),
            ask.answer_business_days,
            ask.asked_by,
        )
        detail = {"holder": email, "product": product_id, "answer_by": asked.answer_by}
        await asyncio.to_thread(self._audit, ask.seat_id, run_id, "release_asked", ask.asked_by, detail)
        return asked

    def _holder(self, seat_id: int) -> tuple[str, str, str | None] | None:
        with transaction(self._engine, read_only=True) as session:
            seat = session.get(SeatAssignment, seat_id)
            asset = session.get(Asset, seat.asset_id) if seat is not None else None
            if seat is None or asset is None or asset.product_id is None:
                return None
            person = repository.get_person(session, email=seat.person_email)
            return asset.product_id, seat.person_email, person.slack_id if person else None

    def _audit(self, seat_id: int, run_id: str, action: str, actor: str, detail: dict[str, Any]) -> None:
        with transaction(self._engine) as session:
            repository.audit(
                session,
                idem_key=_key(seat_id, run_id, action),
                at=_now(),
                entity="seat",
                entity_id=str(seat_id),
                action=action,
                actor=actor,
                detail=detail,
            )

    @activity.defn
    async def ask_seat_holder(self, ask: SeatReleaseAsk) -> None:
        """DM the holder Keep / Release (once per seat and run)."""
        summary = await asyncio.to_thread(self._summary, ask, None)
        await self._messenger.send_once(
            _key(ask.seat_id, ask.run_id, "ask"), ask.holder_slack_id, MessageKind.RECLAIM_ASK, summary
        )

    def _summary(self, ask: SeatReleaseAsk, answer: str | None) -> RequestSummary:
        """The reclaim question's snapshot, for a seat rather than a request."""
        conf = self._messenger.conf()
        with transaction(self._engine, read_only=True) as session:
            product = session.get(Product, ask.product_id)
            idle = _idle_days(session, ask)
        view = ReuseView(
            kind=ReuseKind.RECLAIM.value,
            inactive_days=conf.reclaim_inactive_days,
            holder_idle_days=idle,
            holder_answer=answer,
            answer_within_days=ask.answer_business_days,
            itam_ask=True,
        )
        return RequestSummary(
            request_id=release_id_for(ask.seat_id),
            status="reclaiming",
            requester_slack_id="",
            requester_name="the ITAM team",
            product_name=product.name if product else ask.product_id,
            product_id=ask.product_id,
            vendor=product.vendor if product else None,
            seats=1,
            unit_price_cents=0,
            annual_cost_cents=0,
            currency="USD",
            cost_center="",
            channel="console",
            justification="",
            reuse=view,
        )

    @activity.defn
    async def settle_seat_release(self, settlement: SeatReleaseSettlement) -> bool:
        """Free the seat on Release (back to the pool), mark it active on Keep, leave it as it
        is on no answer; audit it, and update the holder's DM in place. True when freed."""
        freed = await asyncio.to_thread(self._settle, settlement)
        ask = settlement.ask
        ref = await asyncio.to_thread(self._messenger.message_ref, _key(ask.seat_id, ask.run_id, "ask"))
        if ref is not None:
            summary = await asyncio.to_thread(self._summary, ask, settlement.answer)
            await self._messenger.update(ref, MessageKind.RECLAIM_ASK, summary)
        return freed

    def _settle(self, settlement: SeatReleaseSettlement) -> bool:
        ask, at = settlement.ask, datetime.fromisoformat(settlement.at)
        with transaction(self._engine) as session:
            done = repository.get_audit(session, idem_key=_key(ask.seat_id, ask.run_id, "settled"))
            if done is not None:  # a retry: what was settled stands
                return bool(done.detail.get("freed"))
            freed = False
            if settlement.answer == ANSWER_RELEASE:
                freed = repository.release_product_seat(
                    session, product_id=ask.product_id, person_email=ask.holder_email
                )
            elif settlement.answer == ANSWER_KEEP:
                repository.mark_seat_active(
                    session, product_id=ask.product_id, person_email=ask.holder_email, on=at.date()
                )
            action = {ANSWER_RELEASE: "seat_released", ANSWER_KEEP: "seat_kept"}.get(
                settlement.answer, "release_ask_expired"
            )
            repository.audit(
                session,
                idem_key=_key(ask.seat_id, ask.run_id, "settled"),
                at=at,
                entity="seat",
                entity_id=str(ask.seat_id),
                action=action,
                actor=ask.holder_email if settlement.answer in (ANSWER_RELEASE, ANSWER_KEEP) else "workflow",
                detail={
                    "holder": ask.holder_email,
                    "product": ask.product_id,
                    "answer": settlement.answer,
                    "asked_by": ask.asked_by,
                    "freed": freed,
                },
            )
            return freed


def _idle_days(session: Session, ask: SeatReleaseAsk) -> int | None:
    seat = repository.find_product_seat(session, product_id=ask.product_id, person_email=ask.holder_email)
    if seat is None:
        return None
    return SeatHolder(ask.holder_email, seat.assigned_at.date(), seat.last_active).idle_days(date.today())
