"""ProcurementRequestWorkflow: one purchase request from submission to decision.

Orchestration only: every side effect (database, Slack) happens in activities, so the
workflow is deterministic and survives worker restarts mid-approval."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from catalog.models import RequestStatus
    from catalog.rules.reuse import ReuseKind
    from workflows.request.activities.chain import ChainActivities
    from workflows.request.activities.procurement import ProcurementActivities
    from workflows.request.activities.reuse import already_held_reason
    from workflows.request.step_authority import decision_refusal, may_decide
    from workflows.request.types import (
        ACTION_APPROVE,
        ACTION_DENY,
        ACTION_REQUEST_CHANGES,
        CHANGE_NOT_ALLOWED,
        CHOICE_ALTERNATIVE,
        CHOICE_BUY,
        CHOICE_NOT_ALLOWED,
        CHOICE_RECLAIM,
        CHOICE_TAKE_SEAT,
        CHOICE_WITHDRAW,
        DECISION_INVALID,
        REQUEST_REJECTED,
        ApprovalPlan,
        AssessInput,
        ChainClosing,
        ChainOutcome,
        ChoiceInput,
        ChoiceRecord,
        ChoiceResult,
        DecisionInput,
        DecisionResult,
        Delegated,
        DelegateInput,
        DelegateRecord,
        EditInput,
        Escalated,
        OutcomeInput,
        OutcomeResult,
        PlanInput,
        PoolGrant,
        RecheckInput,
        RecheckResult,
        ReclaimAnswerInput,
        ReclaimAsk,
        ReclaimAsked,
        ReclaimSettlement,
        RejectionInput,
        RequestInput,
        RequestResult,
        RequestState,
        ReuseOffer,
        RoutePlan,
        RouteStepPlan,
        StageOpen,
        StageTimes,
        StepDecisionRecord,
        StepInput,
        StepNudge,
        StepOpen,
        StepState,
        StepTimes,
        WithdrawInput,
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
#: Workflows started before the policy-driven approval chain existed keep their single
#: manager step on replay; new ones plan the route from policy.yaml (see README).
APPROVAL_CHAIN_PATCH = "approval-chain"
#: Workflows started before it run every activity through the task queue on replay; new ones
#: run the activities that only read and write the database (and look people up in Slack) as
#: local activities, in the workflow task that needs them (see docs/decisions.md, 16).
LOCAL_ACTIVITIES_PATCH = "local-db-activities"
#: Workflows started before it close a request with three activities on replay (the deciding
#: step's record on the queue, the outcome locally, the announcement on the queue); new ones
#: with one, `close_chain`, on the queue (see docs/decisions.md, 21).
CLOSING_PATCH = "one-closing-activity"
#: Workflows started before it check the patches above one by one, where each applies: a
#: marker and a search-attribute upsert each, four per request, all of them true for every
#: workflow started since. Workflows started since check this one patch, first, and take
#: every new path above without asking again (see docs/decisions.md, 23).
ALL_PATCHES_V6 = "all-patches-v6"
#: The umbrella now, standing for every patch above and for the paths it guards itself:
#: a stage is opened by one activity (`open_chain_stage`: each message posted and updated
#: once), not one activity per step. Workflows started before it keep `ALL_PATCHES_V6`.
ALL_PATCHES_V7 = "all-patches-v7"
#: Workflows started before it carry an approval over from any earlier round on replay; new
#: ones only from the round just before, at no lower cost, with the same cost center and
#: channel (see docs/decisions.md, 24). A workflow started since `ALL_PATCHES_PATCH` takes
#: this path without asking.
CARRY_OVER_PATCH = "carry-over-previous-round"
#: The umbrella now, standing for every patch above and for the paths it guards itself: the
#: route is checked against the policy and the budget again as each stage after the first
#: opens (`recheck_route`) and under the closing transaction's lock (`ChainClosing.recheck`);
#: steps the policy now asks for are added, never skipped (docs/decisions.md, "The route is
#: checked again"). Workflows started before it keep `ALL_PATCHES_V7` or older.
ALL_PATCHES_PATCH = "all-patches-v8"

#: Request statuses in which the approval chain is still open (withdraw is allowed).
_OPEN_STATUSES = (
    RequestStatus.SUBMITTED.value,
    RequestStatus.PENDING_APPROVAL.value,
    RequestStatus.CHANGES_REQUESTED.value,
)

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


@dataclass
class _Step:
    """One step of the chain as the workflow tracks it."""

    plan: RouteStepPlan
    status: str = "pending"  # catalog.models.StepStatus values
    decided_by: str | None = None
    reason: str | None = None
    remind_at: datetime | None = None
    escalate_at: datetime | None = None
    reminded: bool = False
    escalated: bool = False

    def may_decide(self, slack_id: str) -> bool:
        return may_decide(slack_id, self.plan.approver_slack_id, self.plan.delegate_slack_id)


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
        # The approval chain: the route of the current round, its steps by seq, the decisions
        # the update handlers accepted and the main loop has yet to record, and what the
        # requester did (withdrew, was asked for changes, edited).
        self._route: RoutePlan | None = None
        self._steps: dict[int, _Step] = {}
        self._events: list[StepDecisionRecord] = []
        self._withdrawn: StepDecisionRecord | None = None
        self._changes: StepDecisionRecord | None = None
        self._edited: RoutePlan | None = None
        self._editing = False
        self._dirty = False
        self._final: StepDecisionRecord | None = None
        self._local = False  # set in run(): see LOCAL_ACTIVITIES_PATCH
        self._current = False  # set in run(): see ALL_PATCHES_PATCH
        self._since_v7 = False  # set in run(): see ALL_PATCHES_V7
        self._since_v6 = False  # set in run(): see ALL_PATCHES_V6

    @workflow.run
    async def run(self, request: RequestInput) -> RequestResult:
        self._current = workflow.patched(ALL_PATCHES_PATCH)
        self._since_v7 = self._current or workflow.patched(ALL_PATCHES_V7)
        self._since_v6 = self._since_v7 or workflow.patched(ALL_PATCHES_V6)
        chain = self._patched(APPROVAL_CHAIN_PATCH)
        self._local = chain and self._patched(LOCAL_ACTIVITIES_PATCH)
        try:
            if chain:
                self._route = await self._database_activity(
                    ChainActivities.plan_route, PlanInput(request, workflow.now().isoformat())
                )
            else:
                self._plan = await workflow.execute_activity_method(
                    ProcurementActivities.check_request,
                    request,
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                    retry_policy=ACTIVITY_RETRY,
                )
        except (ActivityError, ApplicationError) as err:
            # A local activity's business error arrives unwrapped: the ApplicationError itself.
            cause = err.cause if isinstance(err, ActivityError) else err
            if isinstance(cause, ApplicationError) and cause.type == REQUEST_REJECTED:
                return await self._reject(cause.message)
            raise

        # A renewal request renews a contract we hold: there is nothing to reuse instead. Old
        # histories never carry `renewal_contract_id`, so they replay the same commands.
        if not request.is_renewal and self._patched(REUSE_FIRST_PATCH):
            settled = await self._reuse_first(request)
            if settled is not None:
                await workflow.wait_condition(workflow.all_handlers_finished)
                return settled

        if chain:
            result = await self._run_chain()
            await workflow.wait_condition(workflow.all_handlers_finished)
            return result

        # Open for decisions before the DM goes out: the approver may click as soon as it arrives.
        self._status = RequestStatus.PENDING_APPROVAL.value
        assert self._plan is not None
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

    async def _database_activity(self, method: Any, arg: Any) -> Any:
        """An activity that sends nothing to Slack: run locally, in this workflow task, when the
        workflow has `LOCAL_ACTIVITIES_PATCH`. It saves the server a task dispatch and a workflow
        task per call. Only activities whose every step is idempotent by a business key may
        come here: after a worker crash a local activity runs again from its first attempt, so
        it cannot tell it is a retry (a DM could not be kept to one)."""
        if not self._local:
            return await self._activity(method, arg)
        return await workflow.execute_local_activity_method(
            method, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY
        )

    async def _reuse_first(self, request: RequestInput) -> RequestResult | None:
        """Offer what we already own before anything is bought. Returns the result when the
        request ends here (a seat from the pool, withdrawn, expired); None to go on to approval."""
        round_ = 0
        while True:
            round_ += 1
            offer: ReuseOffer = await self._database_activity(
                ProcurementActivities.assess_reuse, AssessInput(request, round_)
            )
            self._reuse_kind = offer.kind
            if offer.kind == ReuseKind.BLOCKED.value:
                return await self._reject("This product is blocked.")
            if offer.kind == ReuseKind.ALREADY_HELD.value:
                # Only assess_reuse since this change answers it: no history before it holds one.
                self._status = RequestStatus.ALREADY_HELD.value
                self._reason = already_held_reason(request.product_name, offer.held_since)
                await self._activity(ProcurementActivities.offer_reuse, offer)
                return RequestResult(request.request_id, self._status, None, self._reason)
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
        if self._choice is not None:  # e.g. a second click before the offer lost its buttons
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

    # --- the approval chain ----------------------------------------------------------------

    async def _run_chain(self) -> RequestResult:
        """Walk the policy's route: stages in order, the steps of a stage in parallel. A denial
        ends it; "request changes" sends it back to the requester, whose edit re-plans the route
        and restarts it at the first step not already approved; the SLA nudges, escalates and
        finally expires it; the requester may withdraw it at any time."""
        route = self._route
        assert route is not None
        self._status = RequestStatus.PENDING_APPROVAL.value
        expires_at = datetime.fromisoformat(route.expires_at)
        ended = "expired"
        while True:
            if route.outcome == "auto_approve":
                self._final = StepDecisionRecord(
                    self._request.request_id, 0, ACTION_APPROVE, None, "Approved by policy.", workflow.now().isoformat()
                )
                ended = "approved"
                break
            ended = await self._walk(route, expires_at)
            while self._current and ended == "approved":
                # The closing transaction checks the route under the budget line's lock; only
                # when the policy now asks for more are the steps it adds planned and walked.
                closed = await self._finish_chain(ended)
                if closed is not None:
                    return closed
                ended = await self._walk_added(route, expires_at, ended)
            if ended != "changes":
                break
            edited = await self._await_edit(expires_at)
            if edited is None:
                ended = "withdrawn" if self._withdrawn is not None else "expired"
                break
            route = edited
            self._route = route
            self._status = RequestStatus.PENDING_APPROVAL.value
        closed = await self._finish_chain(ended)
        assert closed is not None  # only an approval re-checked at closing can come back
        return closed

    async def _walk(self, route: RoutePlan, expires_at: datetime) -> str:
        """One round of the route. Returns approved | denied | changes | withdrawn | expired."""
        stages = sorted({step.stage for step in route.steps})
        for index, stage in enumerate(stages):
            last = stage == stages[-1]
            if self._withdrawn is not None:
                return "withdrawn"
            opened = [step for step in route.steps if step.stage == stage]
            if self._current and index > 0:
                opened += await self._recheck(route, stage)
            for plan in opened:
                self._steps[plan.seq] = _Step(plan, status="approved" if plan.carried_over else "pending")
            # Open for decisions before the DMs go out: an approver may click as soon as one arrives.
            times = await self._open_stage(route, opened)
            for plan, when in zip(opened, times, strict=True):
                step = self._steps[plan.seq]
                step.remind_at = datetime.fromisoformat(when.remind_at)
                step.escalate_at = datetime.fromisoformat(when.escalate_at)
            ended = await self._wait_stage([plan.seq for plan in opened], expires_at, last=last)
            if ended != "approved":
                return ended
        return "approved"

    async def _recheck(self, route: RoutePlan, stage: int) -> list[RouteStepPlan]:
        """The steps the policy asks for now that the round's route does not have, placed in
        `stage` and added to the route (`ALL_PATCHES_PATCH`)."""
        first_seq = max([s.seq for s in route.steps] + list(self._steps), default=0) + 1
        check = RecheckInput(
            self._request, workflow.now().isoformat(), route.round, first_seq, stage, [s.role for s in route.steps]
        )
        result: RecheckResult = await self._database_activity(ChainActivities.recheck_route, check)
        route.steps.extend(result.added)
        return result.added

    async def _walk_added(self, route: RoutePlan, expires_at: datetime, ended: str) -> str:
        """After the closing transaction found that the policy now asks for more: while it asks
        for steps the route does not have, open them as one more stage and wait for it."""
        while ended == "approved":
            stage = max((s.stage for s in route.steps), default=0) + 1
            added = await self._recheck(route, stage)
            if not added:
                break
            for plan in added:
                self._steps[plan.seq] = _Step(plan)
            times = await self._open_stage(route, added)
            for plan, when in zip(added, times, strict=True):
                step = self._steps[plan.seq]
                step.remind_at = datetime.fromisoformat(when.remind_at)
                step.escalate_at = datetime.fromisoformat(when.escalate_at)
            ended = await self._wait_stage([plan.seq for plan in added], expires_at, last=True)
        return ended

    async def _open_stage(self, route: RoutePlan, opened: list[RouteStepPlan]) -> list[StepTimes]:
        """Open the steps of a stage: one activity for them all (`ALL_PATCHES_PATCH`), or, for
        a workflow started before it, one activity per step, in parallel."""
        at = workflow.now().isoformat()
        if self._since_v7:
            stage = StageOpen(
                route.request_id, route.round, opened, at, route.escalate_after_slas, route.remind_after_slas
            )
            opened_times: StageTimes = await self._activity(ChainActivities.open_chain_stage, stage)
            return opened_times.steps
        return list(
            await asyncio.gather(
                *[
                    self._activity(
                        ChainActivities.open_chain_step,
                        StepOpen(
                            route.request_id, route.round, plan, at, route.escalate_after_slas, route.remind_after_slas
                        ),
                    )
                    for plan in opened
                ]
            )
        )

    async def _wait_stage(self, seqs: list[int], expires_at: datetime, *, last: bool) -> str:
        while True:
            # Reset before looking: a handler that runs during any await below wakes the wait.
            self._dirty = False
            settled = self._settled(seqs)
            if settled is not None and self._closes_now(settled, last=last):
                return settled
            # Once the stage is settled, what comes next (the next stage's opening, the
            # outcome) updates every message: recording the decisions need not do it first.
            await self._drain_events(announce=self._settled(seqs) in (None, "changes"))
            settled = self._settled(seqs)
            if settled is not None:
                return settled
            now = workflow.now()
            if now >= expires_at:
                return "expired"
            await self._nudge_due(seqs, now)
            deadlines = [expires_at]
            for seq in seqs:
                step = self._steps[seq]
                if step.status != "pending":
                    continue
                if not step.reminded and step.remind_at is not None:
                    deadlines.append(step.remind_at)
                if not step.escalated and step.escalate_at is not None:
                    deadlines.append(step.escalate_at)
            wait = max(min(deadlines) - workflow.now(), timedelta(seconds=1))
            try:
                await workflow.wait_condition(lambda: self._dirty, timeout=wait)
            except TimeoutError:
                pass

    def _closes_now(self, settled: str, *, last: bool) -> bool:
        """Whether the stage's end closes the request and its decisions are left for
        `_finish_chain` to record with the outcome, in one activity (`CLOSING_PATCH`). A request
        for changes is recorded (and sent to the requester) first, as before."""
        ends = settled in ("denied", "withdrawn") or (settled == "approved" and last)
        if not ends or self._changes_pending():
            return False
        return self._patched(CLOSING_PATCH)

    def _patched(self, patch_id: str) -> bool:
        """`workflow.patched(patch_id)`, answered without a marker of its own by a workflow
        started since `ALL_PATCHES_V6` (or its successor, `ALL_PATCHES_PATCH`)."""
        return self._since_v6 or workflow.patched(patch_id)

    def _changes_pending(self) -> bool:
        """A request for changes is accepted and not yet recorded (nor sent to the requester)."""
        return any(event.action == ACTION_REQUEST_CHANGES for event in self._events)

    def _settled(self, seqs: list[int]) -> str | None:
        """How the stage of `seqs` has ended (withdrawn | denied | changes | approved), or None."""
        if self._withdrawn is not None:
            return "withdrawn"
        if any(self._steps[seq].status == "denied" for seq in seqs):
            return "denied"
        if self._changes is not None:
            return "changes"
        if all(self._steps[seq].status == "approved" for seq in seqs):
            return "approved"
        return None

    async def _nudge_due(self, seqs: list[int], now: datetime) -> None:
        route = self._route
        assert route is not None
        for seq in seqs:
            step = self._steps[seq]
            if step.status != "pending":
                continue
            if not step.escalated and step.escalate_at is not None and now >= step.escalate_at:
                step.escalated = step.reminded = True
                escalated: Escalated = await self._activity(
                    ChainActivities.nudge_step,
                    StepNudge(route.request_id, seq, "escalation", now.isoformat(), route.escalation_target),
                )
                if escalated.approver_slack_id and step.status == "pending":
                    # The original approver may still decide, as the new approver's delegate.
                    step.plan = replace(
                        step.plan,
                        approver_email=escalated.approver_email or step.plan.approver_email,
                        approver_slack_id=escalated.approver_slack_id,
                        approver_name=escalated.approver_name or step.plan.approver_name,
                        delegate_slack_id=step.plan.approver_slack_id,
                        delegate_email=step.plan.approver_email,
                    )
            elif not step.reminded and step.remind_at is not None and now >= step.remind_at:
                step.reminded = True
                await self._activity(
                    ChainActivities.nudge_step,
                    StepNudge(route.request_id, seq, "reminder", now.isoformat(), route.escalation_target),
                )

    async def _drain_events(self, *, announce: bool = True) -> None:
        """Record the decisions the update handlers accepted, in order (each record updates
        every message about the request, unless `announce` is False)."""
        if not self._events:
            return
        while self._events:
            event = self._events.pop(0)
            await self._activity(ChainActivities.record_step, replace(event, announce=announce))
            if event.action == ACTION_REQUEST_CHANGES:
                await self._activity(ChainActivities.ask_for_changes, event)

    async def _await_edit(self, expires_at: datetime) -> RoutePlan | None:
        """Wait for the requester's edit (or a withdrawal, or the expiry)."""
        self._status = RequestStatus.CHANGES_REQUESTED.value
        self._edited = None
        await self._close_open_steps("superseded")
        wait = max(expires_at - workflow.now(), timedelta(seconds=1))
        try:
            await workflow.wait_condition(lambda: self._edited is not None or self._withdrawn is not None, timeout=wait)
        except TimeoutError:
            return None
        if self._withdrawn is not None:
            return None
        edited = self._edited
        self._changes = None
        self._edited = None
        return edited

    async def _close_open_steps(self, status: str, *, announce: bool = True) -> None:
        """Steps still open when the round ends (a parallel step, after a denial or a change
        request; every open step at expiry or withdrawal) are closed, so no one can decide them.
        One at a time: a step is still open while the one before it is recorded."""
        for seq, step in sorted(self._steps.items()):
            if step.status == "pending":
                await self._activity(ChainActivities.record_step, self._close_step(seq, step, status, announce))

    def _close_pending(self, status: str) -> list[StepDecisionRecord]:
        """Close every open step at once; returns the records for the closing activity."""
        return [
            self._close_step(seq, step, status, False)
            for seq, step in sorted(self._steps.items())
            if step.status == "pending"
        ]

    def _close_step(self, seq: int, step: _Step, status: str, announce: bool) -> StepDecisionRecord:
        step.status = status
        now = workflow.now().isoformat()
        return StepDecisionRecord(self._request.request_id, seq, status, None, None, now, announce=announce)

    async def _finish_chain(self, ended: str) -> RequestResult | None:
        """Record how the request ended, and tell everyone. None: the closing transaction found
        that the policy now asks for a step this round has not approved (`ChainClosing.recheck`);
        nothing closed, and the request waits for approval again."""
        closing = self._patched(CLOSING_PATCH)
        records: list[StepDecisionRecord] = []
        if closing and not self._changes_pending():
            records = [replace(event, announce=False) for event in self._events]
            self._events.clear()
        else:
            # announce_chain_outcome, last, updates every message: recording the steps need not.
            await self._drain_events(announce=False)
        final = self._final
        if self._withdrawn is not None:
            self._status = RequestStatus.WITHDRAWN.value
            final = self._withdrawn
            self._reason = final.reason
        elif final is not None and final.action == ACTION_APPROVE:
            self._status = RequestStatus.APPROVED.value
        elif final is not None and final.action == ACTION_DENY:
            self._status = RequestStatus.DENIED.value
            self._reason = final.reason
        elif ended == "approved":
            self._status = RequestStatus.APPROVED.value
            final = final or self._last_approval()
        else:
            self._status = RequestStatus.EXPIRED.value
            self._reason = "No decision before the request expired."
        closed_as = {RequestStatus.EXPIRED.value: "expired", RequestStatus.WITHDRAWN.value: "withdrawn"}
        if closing:
            records += self._close_pending(closed_as.get(self._status, "superseded"))
        else:
            await self._close_open_steps(closed_as.get(self._status, "superseded"), announce=False)
        route = self._route
        assert route is not None
        outcome = ChainOutcome(
            request_id=self._request.request_id,
            status=self._status,
            actor_slack_id=final.actor_slack_id if final else None,
            reason=self._reason,
            decided_at=workflow.now().isoformat(),
            policy_version=route.policy_version,
            last_seq=final.seq if final else 0,
        )
        self._decided_at = outcome.decided_at
        recorded: OutcomeResult
        if closing:
            recheck = self._current and ended == "approved" and route.outcome == "route"
            roles = [s.role for s in route.steps]
            close = ChainClosing(records, outcome, recheck, self._request if recheck else None, roles)
            recorded = await self._activity(ChainActivities.close_chain, close)
            if recorded.route_grew:
                self._status = RequestStatus.PENDING_APPROVAL.value
                self._decided_at = None
                return None
        else:
            recorded = await self._database_activity(ChainActivities.record_chain_outcome, outcome)
            await self._activity(ChainActivities.announce_chain_outcome, self._request.request_id)
        if recorded.status:
            # Closing refused what the steps approved (no rate to convert the cost to its
            # budget's currency). Only the result changes, no command: histories still replay.
            self._status = recorded.status
            self._reason = recorded.reason
        decided_by = None if recorded.status else outcome.actor_slack_id
        return RequestResult(self._request.request_id, self._status, recorded.asset_id, self._reason, decided_by)

    def _last_approval(self) -> StepDecisionRecord | None:
        for seq in sorted(self._steps, reverse=True):
            step = self._steps[seq]
            if step.status == "approved" and step.decided_by:
                return StepDecisionRecord(
                    self._request.request_id, seq, ACTION_APPROVE, step.decided_by, step.reason, ""
                )
        return None

    def _open_step_for(self, actor: str, seq: int | None) -> _Step | None:
        candidates = [
            step for s, step in sorted(self._steps.items()) if step.status == "pending" and (seq is None or s == seq)
        ]
        for step in candidates:
            if step.may_decide(actor):
                return step
        return None

    def _chain_decide(self, decision: DecisionInput) -> DecisionResult:
        step = self._open_step_for(decision.actor_slack_id, decision.seq)
        if step is None or self._status != RequestStatus.PENDING_APPROVAL.value or self._withdrawn:
            return self._chain_already(decision.seq)
        kind = decision.kind
        now = workflow.now().isoformat()
        reason = decision.reason.strip() or None
        record = StepDecisionRecord(
            self._request.request_id,
            step.plan.seq,
            kind,
            decision.actor_slack_id,
            reason,
            now,
            self._route.policy_version if self._route else "",
        )
        step.decided_by = decision.actor_slack_id
        step.reason = reason
        if kind == ACTION_APPROVE:
            step.status = "approved"
            message = "Approved."
            if any(s.status == "pending" for s in self._steps.values()):
                message = "Approved. The request moves on once the other approvers decide."
        elif kind == ACTION_DENY:
            step.status = "denied"
            self._final = record
            message = "Denied."
        else:
            step.status = "changes_requested"
            self._changes = record
            message = "Sent back to the requester for changes."
        self._events.append(record)
        self._dirty = True
        return DecisionResult(True, step.status, decision.actor_slack_id, message)

    def _chain_already(self, seq: int | None) -> DecisionResult:
        step = self._steps.get(seq) if seq is not None else None
        if step is not None and step.decided_by:
            status = step.status.replace("_", " ")
            return DecisionResult(
                False, step.status, step.decided_by, f"This step was already {status} by <@{step.decided_by}>."
            )
        return DecisionResult(False, self._status, None, f"This request is {self._status.replace('_', ' ')}.")

    def _validate_chain_decision(self, decision: DecisionInput) -> None:
        kind = decision.kind
        if kind not in (ACTION_APPROVE, ACTION_DENY, ACTION_REQUEST_CHANGES):
            raise ApplicationError("Unknown decision.", type=DECISION_INVALID)
        if kind == ACTION_DENY and not decision.reason.strip():
            raise ApplicationError("Give a reason to deny the request.", type=DECISION_INVALID)
        if kind == ACTION_REQUEST_CHANGES and not decision.reason.strip():
            raise ApplicationError("Say what should change.", type=DECISION_INVALID)

    # Delegation runs an activity (the new approver must be in the directory and on Slack),
    # so the person who clicked hears at once whether it worked.
    @workflow.update
    async def delegate(self, delegation: DelegateInput) -> ChoiceResult:
        step = self._open_step_for(delegation.actor_slack_id, delegation.seq)
        if step is None:
            return ChoiceResult(False, "This step is no longer open.")
        record = DelegateRecord(
            self._request.request_id,
            step.plan.seq,
            delegation.actor_slack_id,
            delegation.to_slack_id,
            workflow.now().isoformat(),
            delegation.note,
        )
        try:
            delegated: Delegated = await self._activity(ChainActivities.delegate_step, record)
        except ActivityError as err:
            if isinstance(err.cause, ApplicationError) and err.cause.type == CHANGE_NOT_ALLOWED:
                raise ApplicationError(err.cause.message, type=CHANGE_NOT_ALLOWED) from None
            raise
        if step.status != "pending":
            return ChoiceResult(False, "This step was decided in the meantime.")
        step.plan = replace(
            step.plan,
            approver_email=delegated.approver_email,
            approver_slack_id=delegated.approver_slack_id,
            approver_name=delegated.approver_name,
            delegate_email=None,
            delegate_slack_id=None,
        )
        self._dirty = True
        return ChoiceResult(True, f"Delegated to <@{delegated.approver_slack_id}>.")

    @delegate.validator
    def _validate_delegate(self, delegation: DelegateInput) -> None:
        if self._status != RequestStatus.PENDING_APPROVAL.value:
            raise ApplicationError("This request isn't waiting for an approval.", type=CHANGE_NOT_ALLOWED)
        if delegation.actor_slack_id == self._request.requester_slack_id:
            raise ApplicationError("You can't delegate your own request.", type=CHANGE_NOT_ALLOWED)
        if self._open_step_for(delegation.actor_slack_id, delegation.seq) is None:
            raise ApplicationError("Only the assigned approver can delegate this step.", type=CHANGE_NOT_ALLOWED)
        if delegation.to_slack_id == self._request.requester_slack_id:
            raise ApplicationError("The requester can't approve their own request.", type=CHANGE_NOT_ALLOWED)
        if delegation.to_slack_id == delegation.actor_slack_id:
            raise ApplicationError("Pick someone other than yourself.", type=CHANGE_NOT_ALLOWED)

    @workflow.update
    def withdraw(self, withdrawal: WithdrawInput) -> ChoiceResult:
        if self._withdrawn is not None:
            return ChoiceResult(False, "You already withdrew this request.")
        self._withdrawn = StepDecisionRecord(
            self._request.request_id,
            0,
            "withdrawn",
            withdrawal.actor_slack_id,
            withdrawal.reason.strip() or "Withdrawn by the requester.",
            workflow.now().isoformat(),
        )
        self._dirty = True
        return ChoiceResult(True, "Withdrawn. Nothing will be bought.")

    @withdraw.validator
    def _validate_withdraw(self, withdrawal: WithdrawInput) -> None:
        if withdrawal.actor_slack_id != self._request.requester_slack_id:
            raise ApplicationError(
                f"Only <@{self._request.requester_slack_id}> can withdraw this request.", type=CHANGE_NOT_ALLOWED
            )
        if self._route is None or self._status not in _OPEN_STATUSES or self._withdrawn is not None:
            raise ApplicationError(
                f"This request can't be withdrawn any more ({self._status.replace('_', ' ')}).",
                type=CHANGE_NOT_ALLOWED,
            )

    # The edit re-plans the route in an activity: an edit the policy or the budget refuses is
    # refused to the requester (who can fix it and submit again), not recorded.
    @workflow.update
    async def edit(self, edit: EditInput) -> ChoiceResult:
        self._editing = True
        try:
            request = _apply_edit(self._request, edit)
            first_seq = max(self._steps, default=0) + 1
            round_ = (self._route.round if self._route else 1) + 1
            try:
                route: RoutePlan = await self._activity(
                    ChainActivities.plan_route,
                    PlanInput(request, workflow.now().isoformat(), round_, first_seq),
                )
            except ActivityError as err:
                if isinstance(err.cause, ApplicationError) and err.cause.type == REQUEST_REJECTED:
                    raise ApplicationError(err.cause.message, type=CHANGE_NOT_ALLOWED) from None
                raise
            if self._status != RequestStatus.CHANGES_REQUESTED.value or self._withdrawn is not None:
                return ChoiceResult(False, "This request is no longer waiting for your changes.")
            before, self._request = self._request, request
            self._edited = self._carry_over(route, before)
            return ChoiceResult(True, "Thanks, the request goes back to the approvers.")
        finally:
            self._editing = False

    @edit.validator
    def _validate_edit(self, edit: EditInput) -> None:
        if edit.actor_slack_id != self._request.requester_slack_id:
            raise ApplicationError(
                f"Only <@{self._request.requester_slack_id}> can edit this request.", type=CHANGE_NOT_ALLOWED
            )
        if self._status != RequestStatus.CHANGES_REQUESTED.value or self._edited is not None or self._editing:
            raise ApplicationError("This request isn't waiting for your changes.", type=CHANGE_NOT_ALLOWED)
        if edit.seats is not None and edit.seats < 1:
            raise ApplicationError("Seats must be at least 1.", type=CHANGE_NOT_ALLOWED)

    def _carry_over(self, route: RoutePlan, before: RequestInput) -> RoutePlan:
        """An approval stands when the same person is asked for the same role again, approved
        it in the round just before (a "request changes" from them clears it), and the request
        costs no more than that round, on the same cost center and channel; everyone else is
        asked again (docs/decisions.md, 24)."""
        previous = self._route
        if previous is None or route.annual_cost_cents > previous.annual_cost_cents:
            return route
        if self._current or workflow.patched(CARRY_OVER_PATCH):
            if (before.cost_center, before.channel) != (self._request.cost_center, self._request.channel):
                return route
            last_round = {step.seq for step in previous.steps}
            candidates = [step for seq, step in self._steps.items() if seq in last_round]
        else:
            candidates = list(self._steps.values())
        approved = {(step.plan.role, step.plan.approver_email) for step in candidates if step.status == "approved"}
        steps = [
            replace(step, carried_over=True) if (step.role, step.approver_email) in approved else step
            for step in route.steps
        ]
        return replace(route, steps=steps)

    # An Update, not a Signal: the clicking user must hear at once whether their decision
    # counted, and the validator refuses unauthorised clicks before they enter history.
    @workflow.update
    def decide(self, decision: DecisionInput) -> DecisionResult:
        if self._route is not None:
            return self._chain_decide(decision)
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
        # Who may decide is the rule the bot asks first (workflows/request/step_authority.py).
        refusal = decision_refusal(self.state(), decision.actor_slack_id, decision.seq)
        if refusal is not None:
            raise ApplicationError(refusal.message, type=refusal.error_type)
        if self._route is not None:
            self._validate_chain_decision(decision)
            return
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
            approver_slack_id=self._current_approver(),
            decided_by_slack_id=self._decided_by(),
            reason=self._reason,
            reuse_kind=self._reuse_kind,
            choice_open=self._offer is not None and self._choice is None,
            steps=[
                StepState(
                    seq,
                    step.plan.stage,
                    step.plan.role,
                    step.plan.approver_slack_id,
                    step.status,
                    step.plan.delegate_slack_id,
                    step.decided_by,
                )
                for seq, step in sorted(self._steps.items())
            ]
            if self._route is not None
            else None,
            changes_comment=self._changes.reason if self._changes else None,
        )

    def _current_approver(self) -> str | None:
        if self._route is None:
            return self._plan.approver_slack_id if self._plan else None
        pending = [step for _, step in sorted(self._steps.items()) if step.status == "pending"]
        return pending[0].plan.approver_slack_id if pending else None

    def _decided_by(self) -> str | None:
        if self._status == RequestStatus.REJECTED.value:
            return None  # a business rule decided it, not the last person who clicked
        if self._route is None:
            return self._decision.actor_slack_id if self._decision else None
        if self._withdrawn is not None:
            return self._withdrawn.actor_slack_id
        if self._final is not None:
            return self._final.actor_slack_id
        last = self._last_approval() if self._status == RequestStatus.APPROVED.value else None
        return last.actor_slack_id if last else None


def _apply_edit(request: RequestInput, edit: EditInput) -> RequestInput:
    changes: dict[str, Any] = {}
    for name in ("seats", "estimate_cents", "justification", "cost_center", "channel", "data_classification"):
        value = getattr(edit, name)
        if value is not None:
            changes[name] = value
    return replace(request, **changes)
