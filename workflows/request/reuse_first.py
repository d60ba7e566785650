"""Reuse first: before anything is bought, offer what we already own (a spare seat, seats
reclaimed from idle holders, an approved alternative), and the two updates that answer the
offer (`choose`, by the requester; `answer_reclaim`, by an idle seat holder) beside the loop
that waits for them."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from catalog.models import RequestStatus
    from catalog.rules.reuse import ReuseKind
    from workflows.request.activities.reuse import ReuseActivities, already_held_reason
    from workflows.request.types import (
        CHOICE_ALTERNATIVE,
        CHOICE_BUY,
        CHOICE_NOT_ALLOWED,
        CHOICE_RECLAIM,
        CHOICE_TAKE_SEAT,
        CHOICE_WITHDRAW,
        AssessInput,
        ChoiceInput,
        ChoiceRecord,
        ChoiceResult,
        PoolGrant,
        ReclaimAnswerInput,
        ReclaimAsk,
        ReclaimAsked,
        ReclaimSettlement,
        RequestInput,
        RequestResult,
        ReuseOffer,
    )
    from workflows.request.workflow_base import ACTIVITY_RETRY, ACTIVITY_TIMEOUT, RequestWorkflowBase

#: Where a request is, in words, for a click that comes too late.
_STATUS_WORDS = {
    RequestStatus.SUBMITTED.value: "on its way to approval",
    RequestStatus.PENDING_APPROVAL.value: "waiting for approval",
    RequestStatus.RECLAIMING.value: "asking the idle seat holders for their seats",
    RequestStatus.FULFILLED_FROM_POOL.value: "done: a seat we own is yours",
    RequestStatus.CHANGES_REQUESTED.value: "waiting for your changes",
    RequestStatus.APPROVED.value: "approved",
    RequestStatus.DENIED.value: "denied",
    RequestStatus.EXPIRED.value: "expired",
    RequestStatus.REJECTED.value: "not submitted",
    RequestStatus.WITHDRAWN.value: "withdrawn",
}


class ReuseFirst(RequestWorkflowBase):
    async def _reuse_first(self, request: RequestInput) -> RequestResult | None:
        """Offer what we already own before anything is bought. Returns the result when the
        request ends here (a seat from the pool, withdrawn, expired); None to go on to approval."""
        round_ = 0
        while True:
            round_ += 1
            offer: ReuseOffer = await self._database_activity(
                ReuseActivities.assess_reuse, AssessInput(request, round_)
            )
            self._reuse.kind = offer.kind
            if offer.kind == ReuseKind.BLOCKED.value:
                return await self._reject("This product is blocked.")
            if offer.kind == ReuseKind.ALREADY_HELD.value:
                # Only assess_reuse since this change answers it: no history before it holds one.
                self._status = RequestStatus.ALREADY_HELD.value
                self._reason = already_held_reason(request.product_name, offer.held_since)
                await self._activity(ReuseActivities.offer_reuse, offer)
                return RequestResult(request.request_id, self._status, None, self._reason)
            if not offer.choices:
                return None
            # Open for the answer before the DM goes out: the requester may click as soon as it arrives.
            self._reuse.choice = None
            self._reuse.offer = offer
            self._status = RequestStatus.AWAITING_CHOICE.value
            await self._activity(ReuseActivities.offer_reuse, offer)
            try:
                await workflow.wait_condition(
                    lambda: self._reuse.choice is not None, timeout=timedelta(days=offer.choice_timeout_days)
                )
            except TimeoutError:
                # No answer: nothing is bought without the requester confirming it is still needed.
                self._reuse.offer = None
                self._status = RequestStatus.EXPIRED.value
                self._reason = f"No answer to the reuse offer within {offer.choice_timeout_days} days."
                await self._record_choice(offer, None, "expired")
                return RequestResult(request.request_id, self._status, None, self._reason)
            choice = self._reuse.choice
            assert choice is not None
            self._reuse.offer = None
            await self._record_choice(offer, choice, choice.choice)
            if choice.choice == CHOICE_BUY:
                self._status = RequestStatus.SUBMITTED.value
                return None
            if choice.choice in (CHOICE_WITHDRAW, CHOICE_ALTERNATIVE):
                self._status = RequestStatus.WITHDRAWN.value
                self._reason = (
                    f"Replaced by a request for {choice.product_id}." if choice.choice == CHOICE_ALTERNATIVE else None
                )
                return RequestResult(request.request_id, self._status, None, self._reason)
            if choice.choice == CHOICE_RECLAIM:
                await self._reclaim(offer)
            if offer.product_id and choice.choice in (CHOICE_TAKE_SEAT, CHOICE_RECLAIM):
                granted = await self._activity(
                    ReuseActivities.grant_pool_seat,
                    PoolGrant(request.request_id, offer.product_id, workflow.now().isoformat()),
                )
                if granted:
                    self._status = RequestStatus.FULFILLED_FROM_POOL.value
                    return RequestResult(request.request_id, self._status, None, None)

    async def _record_choice(self, offer: ReuseOffer, choice: ChoiceInput | None, what: str) -> None:
        await self._activity(
            ReuseActivities.record_choice,
            ChoiceRecord(
                request_id=offer.request_id,
                round=offer.round,
                choice=what,
                actor_slack_id=choice.actor_slack_id if choice else None,
                product_id=choice.product_id if choice else None,
                justification=choice.justification if choice else "",
                at=workflow.now().isoformat(),
            ),
        )

    async def _reclaim(self, offer: ReuseOffer) -> None:
        """Ask the idle holders; a seat is freed on Release, or when its holder does not answer
        within the timeout. Holders who answer Keep are marked active and keep their seat."""
        assert offer.product_id is not None
        self._status = RequestStatus.RECLAIMING.value
        self._reuse.reclaim_answers = {}
        ask = ReclaimAsk(offer.request_id, offer.round, offer.product_id, list(offer.reclaimable or []))
        asked: ReclaimAsked = await self._activity(ReuseActivities.find_holders, ask)
        # Open for answers before the questions go out: a holder may click as soon as one arrives.
        self._reuse.reclaim_holders = dict(asked.holders)
        await workflow.execute_activity_method(
            ReuseActivities.ask_holders,
            args=[ask, asked],
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        if self._reuse.reclaim_holders:
            try:
                await workflow.wait_condition(
                    lambda: len(self._reuse.reclaim_answers) >= len(self._reuse.reclaim_holders or {}),
                    timeout=timedelta(days=offer.reclaim_timeout_days),
                )
            except TimeoutError:
                pass
        holders = self._reuse.reclaim_holders
        self._reuse.reclaim_holders = None
        released = [email for sid, email in holders.items() if self._reuse.reclaim_answers.get(sid, True)]
        kept = [email for sid, email in holders.items() if not self._reuse.reclaim_answers.get(sid, True)]
        await self._activity(
            ReuseActivities.settle_reclaim,
            ReclaimSettlement(
                offer.request_id,
                offer.round,
                offer.product_id,
                released + list(asked.unreachable),
                kept,
                workflow.now().isoformat(),
            ),
        )

    # An Update, not a Signal, for the same reason as `decide`: the requester hears at once
    # whether the click counted, and the validator keeps other people's clicks out of history.
    @workflow.update
    def choose(self, choice: ChoiceInput) -> ChoiceResult:
        reuse = self._reuse
        if not reuse.choice_open():
            return ChoiceResult(False, "You already answered this.", reuse.choice.choice if reuse.choice else None)
        reuse.choice = choice
        return ChoiceResult(True, "Got it.", choice.choice, choice.product_id)

    @choose.validator
    def _validate_choose(self, choice: ChoiceInput) -> None:
        if choice.actor_slack_id != self._request.requester_slack_id:
            raise ApplicationError(
                f"Only <@{self._request.requester_slack_id}> can answer this.", type=CHOICE_NOT_ALLOWED
            )
        offer = self._reuse.offer
        if self._reuse.choice is not None:  # e.g. a second click before the offer lost its buttons
            raise ApplicationError("You already answered this offer.", type=CHOICE_NOT_ALLOWED)
        if offer is None:
            now = _STATUS_WORDS.get(self._status, self._status.replace("_", " "))
            raise ApplicationError(
                f"This request is no longer waiting for your choice: it is {now}.", type=CHOICE_NOT_ALLOWED
            )
        if choice.choice not in (offer.choices or []):
            raise ApplicationError("That option isn't offered for this request.", type=CHOICE_NOT_ALLOWED)
        if choice.choice == CHOICE_ALTERNATIVE and choice.product_id not in (offer.alternatives or []):
            raise ApplicationError("That product isn't one of the alternatives offered.", type=CHOICE_NOT_ALLOWED)
        if offer.kind == ReuseKind.ALTERNATIVE.value and choice.choice == CHOICE_BUY:
            if len(choice.justification.strip()) < 3:
                raise ApplicationError("Say why the approved alternative doesn't fit.", type=CHOICE_NOT_ALLOWED)

    @workflow.update
    def answer_reclaim(self, answer: ReclaimAnswerInput) -> ChoiceResult:
        holders = self._reuse.reclaim_holders
        if holders is None or answer.actor_slack_id in self._reuse.reclaim_answers:
            return ChoiceResult(False, "You already answered this.")
        self._reuse.reclaim_answers[answer.actor_slack_id] = answer.release
        return ChoiceResult(True, "Seat released, thank you." if answer.release else "Kept: it stays yours.")

    @answer_reclaim.validator
    def _validate_answer_reclaim(self, answer: ReclaimAnswerInput) -> None:
        holders = self._reuse.reclaim_holders
        if holders is None:
            raise ApplicationError("This question is closed.", type=CHOICE_NOT_ALLOWED)
        if answer.actor_slack_id not in holders:
            raise ApplicationError("Only the person holding the seat can answer.", type=CHOICE_NOT_ALLOWED)
        if answer.actor_slack_id in self._reuse.reclaim_answers:
            raise ApplicationError("You already answered this.", type=CHOICE_NOT_ALLOWED)
