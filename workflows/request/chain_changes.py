"""Changes to a request waiting in the approval chain: an approver hands their step to someone
else (`delegate`), the requester withdraws it (`withdraw`) or answers "request changes" with
an edit (`edit`), which re-plans the route and carries approvals over. Each update's handler
sits with its validator; the chain's loop (approval_chain.py) acts on what they set."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from catalog.models import RequestStatus
    from workflows.request.activities.reassign import ReassignActivities
    from workflows.request.activities.route import RouteActivities
    from workflows.request.patches import CARRY_OVER_PATCH
    from workflows.request.replay_only import ReplayOnlyPaths
    from workflows.request.types import (
        CHANGE_NOT_ALLOWED,
        REQUEST_REJECTED,
        ChoiceResult,
        Delegated,
        DelegateInput,
        DelegateRecord,
        EditInput,
        PlanInput,
        RequestInput,
        RoutePlan,
        StepDecisionRecord,
        WithdrawInput,
    )
    from workflows.request.workflow_base import OPEN_STATUSES


class ChainChanges(ReplayOnlyPaths):
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
            delegated: Delegated = await self._activity(ReassignActivities.delegate_step, record)
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
        if self._route is None or self._status not in OPEN_STATUSES or self._withdrawn is not None:
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
                    RouteActivities.plan_route,
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
            candidates = self._carry_over_from_every_round()
        approved = {(step.plan.role, step.plan.approver_email) for step in candidates if step.status == "approved"}
        steps = [
            replace(step, carried_over=True) if (step.role, step.approver_email) in approved else step
            for step in route.steps
        ]
        return replace(route, steps=steps)


def _apply_edit(request: RequestInput, edit: EditInput) -> RequestInput:
    changes: dict[str, Any] = {}
    for name in ("seats", "estimate_cents", "justification", "cost_center", "channel", "data_classification"):
        value = getattr(edit, name)
        if value is not None:
            changes[name] = value
    return replace(request, **changes)
