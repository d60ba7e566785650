"""What every part of the request workflow shares: the state it tracks, declared once, and the
few helpers each part calls (run an activity, check a patch, record a step).

`ProcurementRequestWorkflow` (workflows/request/workflow.py) is assembled from the parts,
each a class over this base: reuse first (`reuse_first.py`), the approval chain and its
`decide` update (`approval_chain.py`), the requester's and approvers' changes to a waiting
request (`chain_changes.py`) and the paths kept only to replay old histories
(`replay_only.py`). Temporal reads a workflow's updates and queries from the class and its
bases alike (`inspect.getmembers`, temporalio `workflow._Definition._apply_to_class`), so
the parts add their updates where the loop that acts on them lives."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from catalog.models import RequestStatus
    from workflows.request.activities.procurement import SingleApproverActivities
    from workflows.request.activities.steps import StepActivities
    from workflows.request.step_authority import may_decide
    from workflows.request.types import (
        ACTION_APPROVE,
        ACTION_DENY,
        ACTION_REQUEST_CHANGES,
        ApprovalPlan,
        ChainOutcome,
        ChoiceInput,
        DecisionInput,
        OutcomeResult,
        RejectionInput,
        RequestInput,
        RequestResult,
        RequestState,
        ReuseOffer,
        RoutePlan,
        RouteStepPlan,
        StepDecisionRecord,
        StepState,
    )

# Infrastructure failures (database down, Slack 5xx) are retried with backoff for as long
# as it takes; business rejections are raised as non-retryable ApplicationErrors.
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=30)
)
ACTIVITY_TIMEOUT = timedelta(seconds=30)

#: Request statuses in which the approval chain is still open (withdraw is allowed).
OPEN_STATUSES = (
    RequestStatus.SUBMITTED.value,
    RequestStatus.PENDING_APPROVAL.value,
    RequestStatus.CHANGES_REQUESTED.value,
)


@dataclass
class Step:
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


@dataclass
class ReuseState:
    """What reuse first (reuse_first.py) tracks: the open offer (None when no choice is open),
    the requester's answer, the kind of the last offer, and the idle seat holders asked to
    release their seats (slack id → email; None when no one is being asked) with their answers."""

    offer: ReuseOffer | None = None
    choice: ChoiceInput | None = None
    kind: str | None = None
    reclaim_holders: dict[str, str] | None = None
    reclaim_answers: dict[str, bool] = field(default_factory=dict)

    def choice_open(self) -> bool:
        return self.offer is not None and self.choice is None


class RequestWorkflowBase:
    """The request workflow's state and the helpers its parts share.

    Each attribute's starting value is given here when it is immutable (None, False, the
    SUBMITTED status); `ProcurementRequestWorkflow.__init__` sets the rest: the request and
    what is mutable (reuse first's state, the chain's steps and events), one per instance."""

    _request: RequestInput
    _status: str = RequestStatus.SUBMITTED.value
    _plan: ApprovalPlan | None = None
    _decision: DecisionInput | None = None
    _decided_at: str | None = None
    _reason: str | None = None
    _reuse: ReuseState
    # The approval chain: the route of the current round, its steps by seq, the decisions
    # the update handlers accepted and the main loop has yet to record, and what the
    # requester did (withdrew, was asked for changes, edited).
    _route: RoutePlan | None = None
    _steps: dict[int, Step]
    _events: list[StepDecisionRecord]
    _withdrawn: StepDecisionRecord | None = None
    _changes: StepDecisionRecord | None = None
    _edited: RoutePlan | None = None
    _editing: bool = False
    _dirty: bool = False
    _final: StepDecisionRecord | None = None
    # Which patches the run takes, set at the start of `run()`: see LOCAL_ACTIVITIES_PATCH,
    # ALL_PATCHES_PATCH, ALL_PATCHES_V7 and ALL_PATCHES_V6 in patches.py.
    _local: bool = False
    _current: bool = False
    _since_v7: bool = False
    _since_v6: bool = False

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

    def _patched(self, patch_id: str) -> bool:
        """`workflow.patched(patch_id)`, answered without a marker of its own by a workflow
        started since `ALL_PATCHES_V6` (or its successor, `ALL_PATCHES_PATCH`)."""
        return self._since_v6 or workflow.patched(patch_id)

    async def _reject(self, reason: str) -> RequestResult:
        self._status = RequestStatus.REJECTED.value
        self._reason = reason
        await workflow.execute_activity_method(
            SingleApproverActivities.announce_rejection,
            RejectionInput(self._request.request_id, self._request.requester_slack_id, reason),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        return RequestResult(self._request.request_id, self._status, None, reason)

    def _open_step_for(self, actor: str, seq: int | None) -> Step | None:
        candidates = [
            step for s, step in sorted(self._steps.items()) if step.status == "pending" and (seq is None or s == seq)
        ]
        for step in candidates:
            if step.may_decide(actor):
                return step
        return None

    def _last_approval(self) -> StepDecisionRecord | None:
        for seq in sorted(self._steps, reverse=True):
            step = self._steps[seq]
            if step.status == "approved" and step.decided_by:
                return StepDecisionRecord(
                    self._request.request_id, seq, ACTION_APPROVE, step.decided_by, step.reason, ""
                )
        return None

    async def _drain_events(self, *, announce: bool = True) -> None:
        """Record the decisions the update handlers accepted, in order (each record updates
        every message about the request, unless `announce` is False)."""
        if not self._events:
            return
        while self._events:
            event = self._events.pop(0)
            await self._activity(StepActivities.record_step, replace(event, announce=announce))
            if event.action == ACTION_REQUEST_CHANGES:
                await self._activity(StepActivities.ask_for_changes, event)

    async def _close_open_steps(self, status: str, *, announce: bool = True) -> None:
        """Steps still open when the round ends (a parallel step, after a denial or a change
        request; every open step at expiry or withdrawal) are closed, so no one can decide them.
        One at a time: a step is still open while the one before it is recorded."""
        for seq, step in sorted(self._steps.items()):
            if step.status == "pending":
                await self._activity(StepActivities.record_step, self._close_step(seq, step, status, announce))

    def _close_step(self, seq: int, step: Step, status: str, announce: bool) -> StepDecisionRecord:
        step.status = status
        now = workflow.now().isoformat()
        return StepDecisionRecord(self._request.request_id, seq, status, None, None, now, announce=announce)

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

    # The `state` query: the bot's view of the request, and the view the `decide` validator
    # reads (workflows/request/step_authority.py).
    @workflow.query
    def state(self) -> RequestState:
        return RequestState(
            request_id=self._request.request_id,
            status=self._status,
            requester_slack_id=self._request.requester_slack_id,
            approver_slack_id=self._current_approver(),
            decided_by_slack_id=self._decided_by(),
            reason=self._reason,
            reuse_kind=self._reuse.kind,
            choice_open=self._reuse.choice_open(),
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

    # --- closing the chain: what both closings (replay_only.py's and approval_chain.py's) share

    def _settle_status(self, ended: str) -> StepDecisionRecord | None:
        """Set the request's final status and reason from how the chain ended; returns the
        decision that closed it (None: expired, or approved by policy with no step)."""
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
        return final

    def _closed_as(self) -> str:
        """How the steps still open are closed, given the request's final status."""
        closed_as = {RequestStatus.EXPIRED.value: "expired", RequestStatus.WITHDRAWN.value: "withdrawn"}
        return closed_as.get(self._status, "superseded")

    def _chain_outcome(self, final: StepDecisionRecord | None) -> ChainOutcome:
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
        return outcome

    def _chain_result(self, outcome: ChainOutcome, recorded: OutcomeResult) -> RequestResult:
        if recorded.status:
            # Closing refused what the steps approved (no rate to convert the cost to its
            # budget's currency). Only the result changes, no command: histories still replay.
            self._status = recorded.status
            self._reason = recorded.reason
        decided_by = None if recorded.status else outcome.actor_slack_id
        return RequestResult(self._request.request_id, self._status, recorded.asset_id, self._reason, decided_by)
