"""Reuse-first activities: what we already own that fits a request (catalog.rules.reuse), the offer
to the requester, the Keep / Release question to idle seat holders, and a seat from the pool.

Idempotent like every activity: each round's decision is stored in its audit row and read back
on a retry, messages are keyed by request, round and person, seats are keyed by person.

Over 400 lines: the offer, the reclaim question and the pool seat are one conversation with
the requester, each step reading what the one before it recorded."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, datetime
from typing import Any

from sqlmodel import Session
from temporalio import activity

from catalog import repository
from catalog.db import transaction
from catalog.models import RequestStatus
from catalog.ports import MessageKind, RequestSummary, ReuseView
from catalog.projection import copy_fields
from catalog.repository.seat_pools import reuse_decision, seat_pool
from catalog.rules.matching import CatalogProduct, Matcher
from catalog.rules.matching_data import load_matching_data
from catalog.rules.reuse import ReuseDecision, ReuseKind, SeatHolder, holders_to_ask
from catalog.settings import get_settings
from workflows.request import keys
from workflows.request.activities.audit import audit_request, audit_seat
from workflows.request.activities.messaging import ActivityConcern, _now, request_summary
from workflows.request.types import (
    CHOICE_ALTERNATIVE,
    CHOICE_BUY,
    CHOICE_RECLAIM,
    CHOICE_TAKE_SEAT,
    CHOICE_WITHDRAW,
    AssessInput,
    ChoiceRecord,
    PoolGrant,
    ReclaimAsk,
    ReclaimAsked,
    ReclaimSettlement,
    ReuseOffer,
)

#: Request statuses a choice leads to (the rest go on: to approval, to reclaiming, to the pool).
_CLOSING_CHOICES = {CHOICE_WITHDRAW: RequestStatus.WITHDRAWN, CHOICE_ALTERNATIVE: RequestStatus.WITHDRAWN}


def already_held_reason(product_name: str, held_since: str | None) -> str:
    """Why a request for a seat the requester already holds ends at once."""
    since = f" since {held_since}" if held_since else ""
    return f"You have had a {product_name} seat{since}: nothing was requested or bought."


def _choices(decision: ReuseDecision) -> list[str]:
    if decision.kind is ReuseKind.SPARE_SEAT:
        return [CHOICE_TAKE_SEAT, CHOICE_WITHDRAW]
    if decision.kind is ReuseKind.RECLAIM:
        return ([CHOICE_RECLAIM] if holders_to_ask(decision) else []) + [CHOICE_BUY, CHOICE_WITHDRAW]
    if decision.kind is ReuseKind.ALTERNATIVE:
        return [CHOICE_ALTERNATIVE, CHOICE_BUY, CHOICE_WITHDRAW]
    if decision.kind is ReuseKind.ASK_OWNER:
        # Usage-based: access comes from the owner; a contract of its own is still a request.
        return [CHOICE_WITHDRAW, CHOICE_BUY]
    return []


class ReuseActivities(ActivityConcern):
    def _settings(self) -> tuple[int, int]:
        settings = get_settings()
        return settings.reclaim_inactive_days, settings.reclaim_timeout_days

    @activity.defn
    async def assess_reuse(self, assess: AssessInput) -> ReuseOffer:
        """Decide what we own that fits (catalog.rules.reuse) and record it; once per round."""
        return await asyncio.to_thread(self._assess, assess, date.today())

    def _assess(self, assess: AssessInput, as_of: date) -> ReuseOffer:
        request = assess.request
        key = keys.reuse_offer_key(request.request_id, assess.round)
        inactive_days, reclaim_days = self._settings()
        with transaction(self._engine) as session:
            decided = repository.get_audit(session, idem_key=key)
            if decided is not None:  # a retry: the decision already made stands
                return ReuseOffer(**decided.detail["offer"])
            product = repository.get_product(session, product_id=request.product_id) if request.product_id else None
            category = None
            if product is None:
                # Not in the catalog: its category is guessed by matching against the catalog.
                products = repository.list_products(session)
                matcher = Matcher(
                    [CatalogProduct(p.id, p.name, p.vendor, p.category, tuple(p.aliases)) for p in products],
                    load_matching_data(),
                )
                category = matcher.match(request.product_name).category
                wanted = category
            else:
                wanted = product.category
            # The same check the bot's DM intake makes (catalog.repository.seat_pools).
            decision = reuse_decision(
                session,
                product=product,
                category=category,
                seats=request.seats,
                requester_email=request.requester_email,
                as_of=as_of,
                inactive_days=inactive_days,
            )
            # The decision flattened for history: the fields named alike (the product, the
            # spare seats, the owner) as they are.
            offer = copy_fields(
                ReuseOffer,
                decision,
                request_id=request.request_id,
                round=assess.round,
                kind=decision.kind.value,
                seats=request.seats,
                reclaimable=[h.email for h in holders_to_ask(decision)],
                alternatives=[a.product_id for a in decision.alternatives],
                choices=_choices(decision),
                choice_timeout_days=request.expiry_days,
                reclaim_timeout_days=reclaim_days,
                held_since=decision.held_since.isoformat() if decision.held_since else None,
            )
            if decision.kind is ReuseKind.ALREADY_HELD:
                repository.set_request_status(
                    session,
                    request_id=request.request_id,
                    status=RequestStatus.ALREADY_HELD,
                    at=_now(),
                    decided_by=request.requester_email,
                    reason=already_held_reason(request.product_name, offer.held_since),
                )
            if offer.choices:
                repository.set_request_status(
                    session, request_id=request.request_id, status=RequestStatus.AWAITING_CHOICE, at=_now()
                )
            audit_request(
                session,
                idem_key=key,
                at=_now(),
                request_id=request.request_id,
                action=f"reuse_{decision.kind.value}",
                actor="workflow",
                detail={
                    "offer": dataclasses.asdict(offer),
                    "category": wanted,
                    "inactive_days": inactive_days,
                    "idle_holders": len(decision.reclaimable),
                },
            )
            return offer

    def _offer_summary(
        self, offer: ReuseOffer, chosen: str | None = None, chosen_product: str | None = None
    ) -> RequestSummary:
        inactive_days, _ = self._settings()
        with transaction(self._engine) as session:
            summary = request_summary(session, request_id=offer.request_id)
            alternatives = []
            for pid in offer.alternatives or []:
                product = repository.get_product(session, product_id=pid)
                if product is not None:
                    alternatives.append((pid, product.name, seat_pool(session, product).spare))
            chosen_name = None
            if chosen_product:
                alt = repository.get_product(session, product_id=chosen_product)
                chosen_name = alt.name if alt else chosen_product
            owner = repository.get_person(session, email=offer.owner_email) if offer.owner_email else None
            owner_name = owner.name if owner else offer.owner_email
        view = ReuseView(
            kind=offer.kind,
            held_since=date.fromisoformat(offer.held_since) if offer.held_since else None,
            spare=offer.spare,
            alternatives=tuple(alternatives),
            reclaimable=len(offer.reclaimable or []),
            inactive_days=inactive_days,
            choices=() if chosen else tuple(offer.choices or ()),
            chosen=chosen,
            chosen_product_name=chosen_name,
            owner_name=owner_name,
            owner_slack_id=owner.slack_id if owner else None,
        )
        return dataclasses.replace(summary, reuse=view)

    @activity.defn
    async def offer_reuse(self, offer: ReuseOffer) -> None:
        """DM the requester what we own that fits, with a button per choice (once per round)."""
        summary = await asyncio.to_thread(self._offer_summary, offer)
        # A new round after Reclaim: too few seats were freed, and the old offer says so.
        await self._close_reclaim_offer(offer.request_id, "reclaim_short", before_round=offer.round)
        await self._messenger.send_once(
            keys.reuse_offer_key(offer.request_id, offer.round),
            summary.requester_slack_id,
            MessageKind.REUSE_OFFER,
            summary,
        )

    async def _close_reclaim_offer(self, request_id: str, outcome: str, *, before_round: int | None = None) -> None:
        """Update in place the offer whose answer was Reclaim (the latest answer, of a round
        before `before_round`), so it no longer says the idle holders are being asked."""
        offer = await asyncio.to_thread(self._reclaim_offer, request_id, before_round)
        if offer is None:
            return
        ref = await asyncio.to_thread(self._messenger.message_ref, keys.reuse_offer_key(request_id, offer.round))
        if ref is not None:
            summary = await asyncio.to_thread(self._offer_summary, offer, outcome)
            await self._notifier.update(ref=ref, kind=MessageKind.REUSE_OFFER, summary=summary)

    def _reclaim_offer(self, request_id: str, before_round: int | None) -> ReuseOffer | None:
        """The offer of the latest answered round, if that answer was Reclaim."""
        with transaction(self._engine, read_only=True) as session:
            audit = repository.list_audit(session, request_id=request_id)
            rows = [(row.idem_key, row.action, dict(row.detail)) for row in audit]
        answers = [
            detail
            for _, action, detail in rows
            if action == "reuse_choice" and (before_round is None or int(detail.get("round", 0)) < before_round)
        ]
        if not answers or answers[-1].get("choice") != CHOICE_RECLAIM:
            return None
        key = keys.reuse_offer_key(request_id, answers[-1]["round"])
        offer = next((detail["offer"] for idem_key, _, detail in rows if idem_key == key and "offer" in detail), None)
        return ReuseOffer(**offer) if offer is not None else None

    @activity.defn
    async def record_choice(self, record: ChoiceRecord) -> None:
        """Audit the requester's answer (with their justification), move the request on, and
        update the offer in place so its buttons are gone."""
        await asyncio.to_thread(self._record_choice, record)
        offer = await asyncio.to_thread(self._offer_of_round, record.request_id, record.round)
        summary = await asyncio.to_thread(self._offer_summary, offer, record.choice, record.product_id)
        ref = await asyncio.to_thread(
            self._messenger.message_ref, keys.reuse_offer_key(record.request_id, record.round)
        )
        if ref is not None:
            await self._messenger.update(ref, MessageKind.REUSE_OFFER, summary)

    def _offer_of_round(self, request_id: str, round_: int) -> ReuseOffer:
        with transaction(self._engine) as session:
            for row in repository.list_audit(session, request_id=request_id):
                if row.idem_key == keys.reuse_offer_key(request_id, round_):
                    return ReuseOffer(**row.detail["offer"])
        raise LookupError(f"request {request_id} has no reuse round {round_}")

    @staticmethod
    def _offered_names(session: Session, request_id: str, round_: int) -> list[str]:
        """The names of the alternatives offered in that round of reuse first."""
        offered = repository.get_audit(session, idem_key=keys.reuse_offer_key(request_id, round_))
        ids = (offered.detail.get("offer") or {}).get("alternatives") or [] if offered is not None else []
        products = (repository.get_product(session, product_id=pid) for pid in ids)
        return [product.name for product in products if product is not None]

    def _record_choice(self, record: ChoiceRecord) -> None:
        at = datetime.fromisoformat(record.at) if record.at else _now()
        with transaction(self._engine) as session:
            actor = "system"
            if record.actor_slack_id:
                person = repository.get_person_by_slack_id(session, slack_id=record.actor_slack_id)
                actor = person.email if person else record.actor_slack_id
            detail: dict[str, object] = {"choice": record.choice, "round": record.round}
            if record.product_id:
                detail["product"] = record.product_id
            if record.justification:
                detail["justification"] = record.justification
                if record.choice == CHOICE_BUY:
                    # What the reason is about, by name: every approver is shown both.
                    detail["instead_of"] = self._offered_names(session, record.request_id, record.round)
            audit_request(
                session,
                idem_key=keys.reuse_choice_audit_key(record.request_id, record.round),
                at=at,
                request_id=record.request_id,
                action="reuse_choice" if record.choice != "expired" else "reuse_expired",
                actor=actor,
                detail=detail,
            )
            request = repository.get_request(session, request_id=record.request_id)
            if request is None:
                return
            if record.choice == CHOICE_BUY and request.status == RequestStatus.AWAITING_CHOICE:
                repository.set_request_status(
                    session, request_id=record.request_id, status=RequestStatus.SUBMITTED, at=at
                )
            elif record.choice in _CLOSING_CHOICES:
                reason = "Withdrawn by the requester."
                if record.choice == CHOICE_ALTERNATIVE:
                    reason = f"The requester chose an approved alternative ({record.product_id})."
                repository.set_request_status(
                    session,
                    request_id=record.request_id,
                    status=_CLOSING_CHOICES[record.choice],
                    at=at,
                    decided_by=actor,
                    reason=reason,
                )
            elif record.choice == "expired":
                repository.set_request_status(
                    session,
                    request_id=record.request_id,
                    status=RequestStatus.EXPIRED,
                    at=at,
                    decided_by="system",
                    reason="No answer to the reuse offer in time.",
                )
            elif record.choice == CHOICE_RECLAIM:
                repository.set_request_status(
                    session, request_id=record.request_id, status=RequestStatus.RECLAIMING, at=at
                )

    @activity.defn
    async def find_holders(self, ask: ReclaimAsk) -> ReclaimAsked:
        """Who of the idle holders can be asked in Slack (the workflow opens for their answers
        before the questions go out)."""
        asked: dict[str, str] = {}
        unreachable: list[str] = []
        for email in ask.holders:
            slack_id = await asyncio.to_thread(self._slack_id_of, email)
            if not slack_id:
                slack_id = await self._notifier.lookup_user_id(email)
            if slack_id:
                asked[slack_id] = email
            else:
                unreachable.append(email)
        return ReclaimAsked(asked, unreachable)

    @activity.defn
    async def ask_holders(self, ask: ReclaimAsk, holders: ReclaimAsked) -> None:
        """Ask each idle holder in Slack whether they still use their seat (once per holder)."""
        for slack_id, email in holders.holders.items():
            summary = await asyncio.to_thread(self._holder_summary, ask, email, None)
            await self._messenger.send_once(
                keys.reclaim_ask_key(ask.request_id, ask.round, email), slack_id, MessageKind.RECLAIM_ASK, summary
            )
        await asyncio.to_thread(self._audit_asked, ask, holders.holders, holders.unreachable)

    def _slack_id_of(self, email: str) -> str | None:
        with transaction(self._engine) as session:
            person = repository.get_person(session, email=email)
            return person.slack_id if person else None

    def _holder_summary(self, ask: ReclaimAsk | ReclaimSettlement, email: str, answer: str | None) -> RequestSummary:
        inactive_days, answer_days = self._settings()
        with transaction(self._engine) as session:
            summary = request_summary(session, request_id=ask.request_id)
            seat = repository.find_product_seat(session, product_id=ask.product_id, person_email=email)
            idle = None
            if seat is not None:
                idle = SeatHolder(email, seat.assigned_at.date(), seat.last_active).idle_days(date.today())
            product = repository.get_product(session, product_id=ask.product_id)
            spare = seat_pool(session, product).spare if product is not None and answer is None else 0
        view = ReuseView(
            kind=ReuseKind.RECLAIM.value,
            spare=spare,
            inactive_days=inactive_days,
            holder_idle_days=idle,
            holder_answer=answer,
            answer_within_days=answer_days,
        )
        return dataclasses.replace(summary, reuse=view)

    def _audit_asked(self, ask: ReclaimAsk, asked: dict[str, str], unreachable: list[str]) -> None:
        with transaction(self._engine) as session:
            audit_seat(
                session,
                request_id=ask.request_id,
                seat=ask.product_id,
                idem_key=keys.reclaim_asked_audit_key(ask.request_id, ask.round),
                at=_now(),
                action="reclaim_asked",
                actor="workflow",
                detail={"asked": sorted(asked.values()), "not_on_slack": unreachable},
            )

    @activity.defn
    async def settle_reclaim(self, settlement: ReclaimSettlement) -> None:
        """Free the released seats, mark kept ones active, and update each holder's question."""
        await asyncio.to_thread(self._settle, settlement)
        for email, answer in [(e, "release") for e in settlement.released] + [(e, "keep") for e in settlement.kept]:
            ref = await asyncio.to_thread(
                self._messenger.message_ref, keys.reclaim_ask_key(settlement.request_id, settlement.round, email)
            )
            if ref is not None:
                summary = await asyncio.to_thread(self._holder_summary, settlement, email, answer)
                await self._messenger.update(ref, MessageKind.RECLAIM_ASK, summary)

    def _settle(self, settlement: ReclaimSettlement) -> None:
        at = datetime.fromisoformat(settlement.at) if settlement.at else _now()
        with transaction(self._engine) as session:

            def audit(email: str, action: str, detail: dict[str, Any]) -> None:
                audit_seat(
                    session,
                    request_id=settlement.request_id,
                    seat=settlement.product_id,
                    idem_key=keys.reclaim_settled_audit_key(settlement.request_id, settlement.round, email),
                    at=at,
                    action=action,
                    actor=email,
                    detail={"holder": email, **detail},
                )

            for email in settlement.released:
                freed = repository.release_product_seat(session, product_id=settlement.product_id, person_email=email)
                audit(email, "seat_released", {"freed": freed})
            for email in settlement.kept:
                repository.mark_seat_active(session, product_id=settlement.product_id, person_email=email, on=at.date())
                audit(email, "seat_kept", {})

    @activity.defn
    async def grant_pool_seat(self, grant: PoolGrant) -> bool:
        """Give the requester a seat we own, once; False when the pool has no room for the
        request any more (someone took the seats since the offer)."""
        granted = await asyncio.to_thread(self._grant, grant)
        if not granted:
            return False
        summary = await asyncio.to_thread(self._granted_summary, grant)
        await self._messenger.send_once(
            keys.seat_granted_key(grant.request_id), summary.requester_slack_id, MessageKind.SEAT_GRANTED, summary
        )
        await self._close_reclaim_offer(grant.request_id, "reclaimed")
        owner = await asyncio.to_thread(self._owner_email, grant.product_id)
        owner_id = await asyncio.to_thread(self._slack_id_of, owner) if owner else None
        if owner and not owner_id:
            owner_id = await self._notifier.lookup_user_id(owner)
        if owner_id and owner_id != summary.requester_slack_id:
            await self._messenger.send_once(
                keys.seat_owner_key(grant.request_id), owner_id, MessageKind.SEAT_GRANTED, summary
            )
        return True

    def _owner_email(self, product_id: str) -> str | None:
        with transaction(self._engine) as session:
            product = repository.get_product(session, product_id=product_id)
            return product.owner_email if product else None

    def _granted_summary(self, grant: PoolGrant) -> RequestSummary:
        with transaction(self._engine) as session:
            summary = request_summary(session, request_id=grant.request_id)
        return dataclasses.replace(summary, reuse=ReuseView(kind=ReuseKind.SPARE_SEAT.value, chosen=CHOICE_TAKE_SEAT))

    def _grant(self, grant: PoolGrant) -> bool:
        at = datetime.fromisoformat(grant.at)
        with transaction(self._engine) as session:
            request = repository.get_request(session, request_id=grant.request_id)
            if request is None:
                raise LookupError(f"request {grant.request_id} does not exist")
            if request.status == RequestStatus.FULFILLED_FROM_POOL:
                return True  # a retry after the seat was assigned
            capacity, seats = repository.product_seat_pool(session, product_id=grant.product_id)
            holds = any(s.person_email == request.requester_email for s in seats)
            if not holds and capacity - len(seats) < request.seats:
                return False
            seat = repository.assign_pool_seat(
                session, product_id=grant.product_id, person_email=request.requester_email, at=at
            )
            repository.set_request_status(
                session,
                request_id=grant.request_id,
                status=RequestStatus.FULFILLED_FROM_POOL,
                at=at,
                decided_by=request.requester_email,
                reason="A seat the company already owns; nothing was bought.",
            )
            audit_seat(
                session,
                request_id=grant.request_id,
                seat=str(seat.asset_id),
                idem_key=keys.pool_seat_audit_key(grant.request_id),
                at=at,
                action="seat_assigned",
                actor="workflow",
                detail={"product": grant.product_id, "holder": request.requester_email, "purchase": False},
            )
            return True
