"""The approval chain: the policy's route walked stage by stage, with the SLA's reminders,
escalations and expiry, and the `decide` update beside the loop that records its decisions.

A denial ends the chain; "request changes" sends it back to the requester (chain_changes.py
holds the requester's edit and withdrawal, and the approver's delegation). Paths that only
workflows started before a patch take are in replay_only.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from catalog.models import RequestStatus
    from workflows.request.activities.closing import ClosingActivities
    from workflows.request.activities.reassign import ReassignActivities
    from workflows.request.activities.route import RouteActivities
    from workflows.request.activities.steps import StepActivities
    from workflows.request.patches import CLOSING_PATCH
    from workflows.request.replay_only import ReplayOnlyPaths
    from workflows.request.step_authority import decision_refusal
    from workflows.request.types import (
        ACTION_APPROVE,
        ACTION_DENY,
        ACTION_REQUEST_CHANGES,
        DECISION_INVALID,
        ChainClosing,
        DecisionInput,
        DecisionResult,
        Escalated,
        OutcomeResult,
        RecheckInput,
        RecheckResult,
        RequestResult,
        RoutePlan,
        RouteStepPlan,
        StageOpen,
        StageTimes,
        StepDecisionRecord,
        StepNudge,
    )
    from workflows.request.workflow_base import Step


class ApprovalChain(ReplayOnlyPaths):
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
            await self._open_stage(route, opened)
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
        result: RecheckResult = await self._database_activity(RouteActivities.recheck_route, check)
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
            await self._open_stage(route, added)
            ended = await self._wait_stage([plan.seq for plan in added], expires_at, last=True)
        return ended

    async def _open_stage(self, route: RoutePlan, opened: list[RouteStepPlan]) -> None:
        """Track the steps of a stage (a carried-over one as approved), then open them: one
        activity for them all (`ALL_PATCHES_V7`; before it, one per step:
        `_open_steps_one_by_one`), which answers when each is reminded and escalated."""
        for plan in opened:
            self._steps[plan.seq] = Step(plan, status="approved" if plan.carried_over else "pending")
        # Open for decisions before the DMs go out: an approver may click as soon as one arrives.
        at = workflow.now().isoformat()
        if self._since_v7:
            stage = StageOpen(
                route.request_id, route.round, opened, at, route.escalate_after_slas, route.remind_after_slas
            )
            opened_times: StageTimes = await self._activity(StepActivities.open_chain_stage, stage)
            times = opened_times.steps
        else:
            times = await self._open_steps_one_by_one(route, opened, at)
        for plan, when in zip(opened, times, strict=True):
            step = self._steps[plan.seq]
            step.remind_at = datetime.fromisoformat(when.remind_at)
            step.escalate_at = datetime.fromisoformat(when.escalate_at)

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
                    ReassignActivities.nudge_step,
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
                    ReassignActivities.nudge_step,
                    StepNudge(route.request_id, seq, "reminder", now.isoformat(), route.escalation_target),
                )

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

    def _close_pending(self, status: str) -> list[StepDecisionRecord]:
        """Close every open step at once; returns the records for the closing activity."""
        return [
            self._close_step(seq, step, status, False)
            for seq, step in sorted(self._steps.items())
            if step.status == "pending"
        ]

    async def _finish_chain(self, ended: str) -> RequestResult | None:
        """Record how the request ended, and tell everyone, in one activity (`close_chain`).
        None: the closing transaction found that the policy now asks for a step this round has
        not approved (`ChainClosing.recheck`); nothing closed, and the request waits for
        approval again."""
        if not self._patched(CLOSING_PATCH):
            return await self._finish_chain_in_three_activities(ended)
        records: list[StepDecisionRecord] = []
        if not self._changes_pending():
            records = [replace(event, announce=False) for event in self._events]
            self._events.clear()
        else:
            # close_chain, last, updates every message: recording the steps need not.
            await self._drain_events(announce=False)
        final = self._settle_status(ended)
        records += self._close_pending(self._closed_as())
        outcome = self._chain_outcome(final)
        route = self._route
        assert route is not None
        recheck = self._current and ended == "approved" and route.outcome == "route"
        roles = [s.role for s in route.steps]
        close = ChainClosing(records, outcome, recheck, self._request if recheck else None, roles)
        recorded: OutcomeResult = await self._activity(ClosingActivities.close_chain, close)
        if recorded.route_grew:
            self._status = RequestStatus.PENDING_APPROVAL.value
            self._decided_at = None
            return None
        return self._chain_result(outcome, recorded)

    # An Update, not a Signal: the clicking user must hear at once whether their decision
    # counted, and the validator refuses unauthorised clicks before they enter history.
    @workflow.update
    def decide(self, decision: DecisionInput) -> DecisionResult:
        if self._route is None:
            return self._single_approver_decide(decision)
        return self._chain_decide(decision)

    @decide.validator
    def _validate_decide(self, decision: DecisionInput) -> None:
        # Who may decide is the rule the bot asks first (workflows/request/step_authority.py).
        refusal = decision_refusal(self.state(), decision.actor_slack_id, decision.seq)
        if refusal is not None:
            raise ApplicationError(refusal.message, type=refusal.error_type)
        if self._route is None:
            self._validate_single_approver(decision)
            return
        kind = decision.kind
        if kind not in (ACTION_APPROVE, ACTION_DENY, ACTION_REQUEST_CHANGES):
            raise ApplicationError("Unknown decision.", type=DECISION_INVALID)
        if kind == ACTION_DENY and not decision.reason.strip():
            raise ApplicationError("Give a reason to deny the request.", type=DECISION_INVALID)
        if kind == ACTION_REQUEST_CHANGES and not decision.reason.strip():
            raise ApplicationError("Say what should change.", type=DECISION_INVALID)

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
