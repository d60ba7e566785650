"""ProcurementRequestWorkflow: one purchase request from submission to decision.

Orchestration only: every side effect (database, Slack) happens in activities, so the
workflow is deterministic and survives worker restarts mid-approval."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from catalog.models import RequestStatus
    from workflows.activities import ProcurementActivities
    from workflows.shared import (
        DECISION_INVALID,
        DECISION_NOT_ALLOWED,
        REQUEST_REJECTED,
        ApprovalPlan,
        DecisionInput,
        DecisionResult,
        OutcomeInput,
        OutcomeResult,
        RejectionInput,
        RequestInput,
        RequestResult,
        RequestState,
        StepInput,
    )

# Infrastructure failures (database down, Slack 5xx) are retried with backoff for as long
# as it takes; business rejections are raised as non-retryable ApplicationErrors.
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=30)
)
ACTIVITY_TIMEOUT = timedelta(seconds=30)


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
        return RequestResult(request.request_id, self._status, recorded.asset_id, self._reason)

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
        )
