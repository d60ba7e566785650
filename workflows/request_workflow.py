"""ProcurementRequestWorkflow: one purchase request from submission to decision.

Orchestration only: every side effect (database, Slack) happens in activities, so the
workflow is deterministic and survives worker restarts mid-approval."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from catalog.models import RequestStatus
    from catalog.reuse import ReuseKind
    from workflows.activities import ProcurementActivities
    from workflows.shared import (
        CHOICE_ALTERNATIVE,
        CHOICE_BUY,
        CHOICE_NOT_ALLOWED,
        CHOICE_RECLAIM,
        CHOICE_TAKE_SEAT,
        CHOICE_WITHDRAW,
        DECISION_INVALID,
        DECISION_NOT_ALLOWED,
        REQUEST_REJECTED,
        ApprovalPlan,
        AssessInput,
        ChoiceInput,
        ChoiceRecord,
        ChoiceResult,
        DecisionInput,
        DecisionResult,
        OutcomeInput,
        OutcomeResult,
        PoolGrant,
        ReclaimAnswerInput,
        ReclaimAsk,
        ReclaimAsked,
        ReclaimSettlement,
        RejectionInput,
        RequestInput,
        RequestResult,
        RequestState,
        ReuseOffer,
        StepInput,
    )

# Infrastructure failures (database down, Slack 5xx) are retried with backoff for as long
# as it takes; business rejections are raised as non-retryable ApplicationErrors.
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=30)
)
ACTIVITY_TIMEOUT = timedelta(seconds=30)

#: Workflows started before reuse first existed replay without it (see README, "Changing
#: workflow code"); new ones run it between the check and the approval.
REUSE_FIRST_PATCH = "reuse-first"


@workflow.defn
class ProcurementRequestWorkflow:
    @workflow.init
    def __init__(self, request: RequestInput) -> None:
        self._request = request
        self._status = RequestStatus.SUBMITTED.value
        self._plan: ApprovalPlan | None = None
        self._decision: DecisionInput | None = None
        self._decided_at: str | None = None
        self._reason: str | None = None
        # Reuse first: the open offer (None when no choice is open), the answer, and the
        # idle seat holders asked to release their seats (slack id → email) with their answers.
        self._offer: ReuseOffer | None = None
        self._choice: ChoiceInput | None = None
        self._reuse_kind: str | None = None
        self._reclaim_holders: dict[str, str] | None = None
        self._reclaim_answers: dict[str, bool] = {}

    @workflow.run
    async def run(self, request: RequestInput) -> RequestResult:
        try:
            self._plan = await workflow.execute_activity_method(
                ProcurementActivities.check_request,
                request,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
            )
        except ActivityError as err:
            if isinstance(err.cause, ApplicationError) and err.cause.type == REQUEST_REJECTED:
                return await self._reject(err.cause.message)
            raise

        if workflow.patched(REUSE_FIRST_PATCH):
            settled = await self._reuse_first(request)
            if settled is not None:
                await workflow.wait_condition(workflow.all_handlers_finished)
                return settled

        # Open for decisions before the DM goes out: the approver may click as soon as it arrives.
        self._status = RequestStatus.PENDING_APPROVAL.value
        step = StepInput(
            request.request_id, 1, self._plan.role, self._plan.approver_email, self._plan.approver_slack_id
        )
        await workflow.execute_activity_method(
            ProcurementActivities.announce_step,
            step,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

        try:
            await workflow.wait_condition(
                lambda: self._decision is not None, timeout=timedelta(days=request.expiry_days)
            )
        except TimeoutError:
            self._status = RequestStatus.EXPIRED.value
            self._reason = f"No decision within {request.expiry_days} days."
            self._decided_at = workflow.now().isoformat()

        decision = self._decision
        outcome = OutcomeInput(
            request_id=request.request_id,
            seq=1,
            status=self._status,
            actor_slack_id=decision.actor_slack_id if decision else None,
            reason=self._reason,
            decided_at=self._decided_at or workflow.now().isoformat(),
        )
        recorded: OutcomeResult = await workflow.execute_activity_method(
            ProcurementActivities.record_outcome,
            outcome,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        await workflow.execute_activity_method(
            ProcurementActivities.announce_outcome,
            request.request_id,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        decided_by = self._decision.actor_slack_id if self._decision else None
        return RequestResult(request.request_id, self._status, recorded.asset_id, self._reason, decided_by)

    async def _reject(self, reason: str) -> RequestResult:
        self._status = RequestStatus.REJECTED.value
        self._reason = reason
        await workflow.execute_activity_method(
            ProcurementActivities.announce_rejection,
            RejectionInput(self._request.request_id, self._request.requester_slack_id, reason),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        return RequestResult(self._request.request_id, self._status, None, reason)

    # --- reuse first ---------------------------------------------------------------------

    async def _activity(self, method: Any, arg: Any) -> Any:
        return await workflow.execute_activity_method(
            method, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
        )

    async def _reuse_first(self, request: RequestInput) -> RequestResult | None:
        """Offer what we already own before anything is bought. Returns the result when the
        request ends here (a seat from the pool, withdrawn, expired); None to go on to approval."""
        round_ = 0
        while True:
            round_ += 1
            offer: ReuseOffer = await self._activity(
                ProcurementActivities.assess_reuse, AssessInput(request, round_)
            )
            self._reuse_kind = offer.kind
            if offer.kind == ReuseKind.BLOCKED.value:
                return await self._reject("This product is blocked.")
            if not offer.choices:
                return None
            # Open for the answer before the DM goes out: the requester may click as soon as it arrives.
            self._choice = None
            self._offer = offer
            self._status = RequestStatus.AWAITING_CHOICE.value
            await self._activity(ProcurementActivities.offer_reuse, offer)
            try:
                await workflow.wait_condition(
                    lambda: self._choice is not None, timeout=timedelta(days=offer.choice_timeout_days)
                )
            except TimeoutError:
                # No answer: nothing is bought without the requester confirming it is still needed.
                self._offer = None
                self._status = RequestStatus.EXPIRED.value
                self._reason = f"No answer to the reuse offer within {offer.choice_timeout_days} days."
                await self._record_choice(offer, None, "expired")
                return RequestResult(request.request_id, self._status, None, self._reason)
            choice = self._choice
            assert choice is not None
            self._offer = None
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
                    ProcurementActivities.grant_pool_seat,
                    PoolGrant(request.request_id, offer.product_id, workflow.now().isoformat()),
                )
                if granted:
                    self._status = RequestStatus.FULFILLED_FROM_POOL.value
                    return RequestResult(request.request_id, self._status, None, None)
            # The pool changed under us (or reclaiming freed too few seats): decide again.

    async def _record_choice(self, offer: ReuseOffer, choice: ChoiceInput | None, what: str) -> None:
        await self._activity(
            ProcurementActivities.record_choice,
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
        self._reclaim_answers = {}
        ask = ReclaimAsk(offer.request_id, offer.round, offer.product_id, list(offer.reclaimable or []))
        asked: ReclaimAsked = await self._activity(ProcurementActivities.find_holders, ask)
        # Open for answers before the questions go out: a holder may click as soon as one arrives.
        self._reclaim_holders = dict(asked.holders)
        await workflow.execute_activity_method(
            ProcurementActivities.ask_holders,
            args=[ask, asked],
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        if self._reclaim_holders:
            try:
                await workflow.wait_condition(
                    lambda: len(self._reclaim_answers) >= len(self._reclaim_holders or {}),
                    timeout=timedelta(days=offer.reclaim_timeout_days),
                )
            except TimeoutError:
                pass
        holders = self._reclaim_holders
        self._reclaim_holders = None
        released = [email for sid, email in holders.items() if self._reclaim_answers.get(sid, True)]
        kept = [email for sid, email in holders.items() if not self._reclaim_answers.get(sid, True)]
        await self._activity(
            ProcurementActivities.settle_reclaim,
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
        if self._offer is None or self._choice is not None:
            return ChoiceResult(False, "You already answered this.", self._choice.choice if self._choice else None)
        self._choice = choice
        return ChoiceResult(True, "Got it.", choice.choice, choice.product_id)

    @choose.validator
    def _validate_choose(self, choice: ChoiceInput) -> None:
        if choice.actor_slack_id != self._request.requester_slack_id:
            raise ApplicationError(
                f"Only <@{self._request.requester_slack_id}> can answer this.", type=CHOICE_NOT_ALLOWED
            )
        offer = self._offer
        if offer is None or self._choice is not None:
            raise ApplicationError(
                f"This request is no longer waiting for your choice ({self._status.replace('_', ' ')}).",
                type=CHOICE_NOT_ALLOWED,
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
        holders = self._reclaim_holders
        if holders is None or answer.actor_slack_id in self._reclaim_answers:
            return ChoiceResult(False, "You already answered this.")
        self._reclaim_answers[answer.actor_slack_id] = answer.release
        return ChoiceResult(True, "Seat released, thank you." if answer.release else "Kept: it stays yours.")

    @answer_reclaim.validator
    def _validate_answer_reclaim(self, answer: ReclaimAnswerInput) -> None:
        holders = self._reclaim_holders
        if holders is None:
            raise ApplicationError("This question is closed.", type=CHOICE_NOT_ALLOWED)
        if answer.actor_slack_id not in holders:
            raise ApplicationError("Only the person holding the seat can answer.", type=CHOICE_NOT_ALLOWED)
        if answer.actor_slack_id in self._reclaim_answers:
            raise ApplicationError("You already answered this.", type=CHOICE_NOT_ALLOWED)

    # An Update, not a Signal: the clicking user must hear at once whether their decision
    # counted, and the validator refuses unauthorised clicks before they enter history.
    @workflow.update
    def decide(self, decision: DecisionInput) -> DecisionResult:
        if self._decision is not None or self._status != RequestStatus.PENDING_APPROVAL.value:
            # Two clicks validated in the same activation: the first one decided.
            return self._already_decided()
        self._decision = decision
        self._decided_at = workflow.now().isoformat()
        self._status = (RequestStatus.APPROVED if decision.approve else RequestStatus.DENIED).value
        self._reason = decision.reason.strip() or None
        return DecisionResult(
            True, self._status, decision.actor_slack_id, "Approved." if decision.approve else "Denied."
        )

    @decide.validator
    def _validate_decide(self, decision: DecisionInput) -> None:
        if decision.actor_slack_id == self._request.requester_slack_id:
            raise ApplicationError("You can't decide your own request.", type=DECISION_NOT_ALLOWED)
        if self._status in (RequestStatus.AWAITING_CHOICE.value, RequestStatus.RECLAIMING.value):
            raise ApplicationError("This request is not waiting for an approval yet.", type=DECISION_INVALID)
        if self._plan is None or self._status == RequestStatus.SUBMITTED.value:
            raise ApplicationError("This request is still being checked; try again in a moment.", type=DECISION_INVALID)
        if decision.actor_slack_id != self._plan.approver_slack_id:
            raise ApplicationError(
                f"Only <@{self._plan.approver_slack_id}> can decide this request.", type=DECISION_NOT_ALLOWED
            )
        if self._decision is None and not decision.approve and not decision.reason.strip():
            raise ApplicationError("Give a reason to deny the request.", type=DECISION_INVALID)

    def _already_decided(self) -> DecisionResult:
        by = self._decision.actor_slack_id if self._decision else None
        who = f"<@{by}>" if by else "the system"
        return DecisionResult(False, self._status, by, f"This request was already {self._status} by {who}.")

    @workflow.query
    def state(self) -> RequestState:
        return RequestState(
            request_id=self._request.request_id,
            status=self._status,
            requester_slack_id=self._request.requester_slack_id,
            approver_slack_id=self._plan.approver_slack_id if self._plan else None,
            decided_by_slack_id=self._decision.actor_slack_id if self._decision else None,
            reason=self._reason,
            reuse_kind=self._reuse_kind,
            choice_open=self._offer is not None and self._choice is None,
        )
