"""Replay-only: the paths of the request workflow that only workflows started before a patch
take, kept so that their histories replay (tests/workflows/test_replay.py).

Every workflow started since `ALL_PATCHES_PATCH` (workflows/request/patches.py) takes none of
them. Each may be retired with `workflow.deprecate_patch` once no running workflow can need it:
README, "Retiring old workflow code paths", says how an operator checks that. Until then they
stay here, unchanged in the commands they emit."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from catalog.models import RequestStatus
    from workflows.request.activities.closing import ClosingActivities
    from workflows.request.activities.procurement import SingleApproverActivities
    from workflows.request.activities.steps import StepActivities
    from workflows.request.types import (
        DECISION_INVALID,
        ApprovalPlan,
        DecisionInput,
        DecisionResult,
        OutcomeInput,
        OutcomeResult,
        RequestInput,
        RequestResult,
        RoutePlan,
        RouteStepPlan,
        StepInput,
        StepOpen,
        StepTimes,
    )
    from workflows.request.workflow_base import ACTIVITY_RETRY, ACTIVITY_TIMEOUT, RequestWorkflowBase, Step


class ReplayOnlyPaths(RequestWorkflowBase):
    # --- before APPROVAL_CHAIN_PATCH: one approver, the requester's manager ----------------

    async def _check_single_approver(self, request: RequestInput) -> ApprovalPlan:
        plan: ApprovalPlan = await workflow.execute_activity_method(
            SingleApproverActivities.check_request,
            request,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        return plan

    async def _run_single_approver(self, request: RequestInput) -> RequestResult:
        # Open for decisions before the DM goes out: the approver may click as soon as it arrives.
        self._status = RequestStatus.PENDING_APPROVAL.value
        assert self._plan is not None
        step = StepInput(
            request.request_id, 1, self._plan.role, self._plan.approver_email, self._plan.approver_slack_id
        )
        await workflow.execute_activity_method(
            SingleApproverActivities.announce_step,
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
            SingleApproverActivities.record_outcome,
            outcome,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        await workflow.execute_activity_method(
            SingleApproverActivities.announce_outcome,
            request.request_id,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        decided_by = self._decision.actor_slack_id if self._decision else None
        return RequestResult(request.request_id, self._status, recorded.asset_id, self._reason, decided_by)

    def _single_approver_decide(self, decision: DecisionInput) -> DecisionResult:
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

    def _validate_single_approver(self, decision: DecisionInput) -> None:
        if self._decision is None and not decision.approve and not decision.reason.strip():
            raise ApplicationError("Give a reason to deny the request.", type=DECISION_INVALID)

    def _already_decided(self) -> DecisionResult:
        by = self._decision.actor_slack_id if self._decision else None
        who = f"<@{by}>" if by else "the system"
        return DecisionResult(False, self._status, by, f"This request was already {self._status} by {who}.")

    # --- before ALL_PATCHES_V7: one activity per step of a stage ---------------------------

    async def _open_steps_one_by_one(self, route: RoutePlan, opened: list[RouteStepPlan], at: str) -> list[StepTimes]:
        return list(
            await asyncio.gather(
                *[
                    self._activity(
                        StepActivities.open_chain_step,
                        StepOpen(
                            route.request_id, route.round, plan, at, route.escalate_after_slas, route.remind_after_slas
                        ),
                    )
                    for plan in opened
                ]
            )
        )

    # --- before CLOSING_PATCH: three activities close a request ----------------------------

    async def _finish_chain_in_three_activities(self, ended: str) -> RequestResult:
        """The deciding steps' records, the outcome (locally, with LOCAL_ACTIVITIES_PATCH) and
        the announcement, one activity each."""
        # announce_chain_outcome, last, updates every message: recording the steps need not.
        await self._drain_events(announce=False)
        final = self._settle_status(ended)
        await self._close_open_steps(self._closed_as(), announce=False)
        outcome = self._chain_outcome(final)
        recorded: OutcomeResult = await self._database_activity(ClosingActivities.record_chain_outcome, outcome)
        await self._activity(ClosingActivities.announce_chain_outcome, self._request.request_id)
        return self._chain_result(outcome, recorded)

    # --- before CARRY_OVER_PATCH: an approval of any earlier round carries over -------------

    def _carry_over_from_every_round(self) -> list[Step]:
        return list(self._steps.values())
