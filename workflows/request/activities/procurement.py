"""Activities of the procurement workflow: every database write and every Slack message.

`ProcurementActivities` composes one object per concern (route.py, steps.py, reassign.py,
closing.py, reuse.py, and `SingleApproverActivities` here, the replay-only single manager
step) over the dependencies they share (`messaging.Messenger`); the worker registers their
methods from one list (`workflows.worker.activity_methods`). Activity names are the method
names, so moving a method between classes renames nothing recorded in a history.

Each activity may run more than once (retries, worker crashes), so each is idempotent:
rows are keyed by request id and step, Slack messages by a message key stored before the
activity completes, and audit rows by an idempotency key."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from catalog import repository
from catalog.db import transaction
from catalog.models import ProductStatus, RequestStatus, StepStatus
from catalog.ports import MessageKind, Notifier, RequestSummary
from workflows import faults
from workflows.request import keys
from workflows.request.activities.audit import audit_request, purchase_json
from workflows.request.activities.closing import ClosingActivities
from workflows.request.activities.messaging import ActivityConcern, Messenger, request_summary
from workflows.request.activities.reassign import ReassignActivities
from workflows.request.activities.reuse import ReuseActivities
from workflows.request.activities.route import Rejected, RouteActivities
from workflows.request.activities.steps import StepActivities
from workflows.request.types import (
    REQUEST_REJECTED,
    ApprovalPlan,
    OutcomeInput,
    OutcomeResult,
    RejectionInput,
    RequestInput,
    StepInput,
)
from workflows.seat_release.activities import SeatReleaseActivities


def _now() -> datetime:
    return datetime.now(UTC)


__all__ = ["ProcurementActivities", "SingleApproverActivities", "request_summary"]


class ProcurementActivities:
    """Every activity of the request workflow: one object per concern, over the dependencies
    they share (`Messenger`: the database, Slack, the settings). The worker registers their
    methods from one list (`workflows.worker.activity_methods`)."""

    def __init__(self, engine: Engine, notifier: Notifier) -> None:
        self.messenger = Messenger(engine, notifier)
        self.route = RouteActivities(self.messenger)
        self.steps = StepActivities(self.messenger)
        self.reassign = ReassignActivities(self.messenger)
        self.closing = ClosingActivities(self.messenger, self.route, self.steps)
        self.reuse = ReuseActivities(self.messenger)
        self.seat_release = SeatReleaseActivities(self.messenger)  # the console's Ask to release
        self.single_approver = SingleApproverActivities(self.messenger, self.route, self.steps, self.closing)


class SingleApproverActivities(ActivityConcern):
    """Replay-only: the single manager step of workflows started before the approval chain
    existed (workflows/request/replay_only.py)."""

    def __init__(
        self, messenger: Messenger, route: RouteActivities, steps: StepActivities, closing: ClosingActivities
    ) -> None:
        super().__init__(messenger)
        self._route = route
        self._steps = steps
        self._closing = closing

    @activity.defn
    async def check_request(self, request: RequestInput) -> ApprovalPlan:
        """Check the request against the directory and the catalog, price it, find the
        approver, and record it. A business rule that refuses it raises a non-retryable
        RequestRejected error (after recording the refusal)."""
        try:
            plan, approver_email = await asyncio.to_thread(self._check_in_db, request)
            approver_slack_id = plan.approver_slack_id or await self._notifier.lookup_user_id(approver_email)
            if not approver_slack_id:
                raise Rejected(f"Your approver ({approver_email}) isn't on Slack yet; ask ITAM to fix the directory.")
            if approver_slack_id == request.requester_slack_id:
                raise Rejected("You are listed as your own approver; ask ITAM to fix the directory.")
        except Rejected as rejected:
            await asyncio.to_thread(self._route.record_rejection, request, rejected.reason)
            raise ApplicationError(rejected.reason, type=REQUEST_REJECTED, non_retryable=True) from None
        plan.approver_slack_id = approver_slack_id
        await asyncio.to_thread(self._record_request, request, plan)
        return plan

    def _check_in_db(self, request: RequestInput) -> tuple[ApprovalPlan, str]:
        with transaction(self._engine) as session:
            requester = repository.get_person(session, email=request.requester_email)
            if requester is None:
                raise Rejected(
                    f"{request.requester_email} isn't in the company directory yet, so there is no one to "
                    "approve your request. Ask the ITAM team to add you."
                )
            if request.product_id:
                product = repository.get_product(session, product_id=request.product_id)
                if product is None:
                    raise Rejected(f"“{request.product_name}” is no longer in the catalog.")
                if product.status == ProductStatus.BLOCKED:
                    raise Rejected(f"{product.name} is blocked: {product.block_reason or 'no reason given'}")
            if not requester.manager_email:
                raise Rejected("You have no manager in the directory, so no one can approve this. Ask ITAM to fix it.")
            manager = repository.get_person(session, email=requester.manager_email)
            if manager is None:
                raise Rejected(
                    f"Your manager ({requester.manager_email}) isn't in the directory. Ask ITAM to add them."
                )
            self._route.new_request_row(session, request)  # prices it: an unusable amount is refused here
            plan = ApprovalPlan(request.request_id, manager.slack_id or "", manager.email, manager.name)
            return plan, manager.email

    def _record_request(self, request: RequestInput, plan: ApprovalPlan) -> None:
        with transaction(self._engine) as session:
            row = self._route.new_request_row(session, request)
            row.status = RequestStatus.SUBMITTED
            repository.create_request(session, request=row)
            repository.link_slack_id(session, email=plan.approver_email, slack_id=plan.approver_slack_id)
            audit_request(
                session,
                idem_key=keys.submitted_audit_key(request.request_id),
                at=_now(),
                request_id=request.request_id,
                action="submitted",
                actor=request.requester_email,
                detail=purchase_json(row, approver=plan.approver_email),
            )

    @activity.defn
    async def announce_step(self, step: StepInput) -> None:
        """Open the step, DM the approver (once) and show the requester where it stands."""
        summary = await asyncio.to_thread(self._open_step, step)
        await self._messenger.send_once(
            keys.single_approver_key(step.request_id, step.seq),
            step.approver_slack_id,
            MessageKind.APPROVAL_REQUEST,
            summary,
        )
        await self._messenger.send_or_update(
            keys.requester_key(step.request_id), summary.requester_slack_id, MessageKind.REQUESTER_STATUS, summary
        )

    def _open_step(self, step: StepInput) -> RequestSummary:
        with transaction(self._engine) as session:
            # The step's input names exactly what opening a step requires.
            repository.open_step(session, **dataclasses.asdict(step))
            request = repository.get_request(session, request_id=step.request_id)
            if request is not None and request.status == RequestStatus.SUBMITTED:
                repository.set_request_status(
                    session, request_id=step.request_id, status=RequestStatus.PENDING_APPROVAL, at=_now()
                )
            repository.audit(
                session,
                idem_key=keys.step_audit_key(step.request_id, step.seq, "opened"),
                at=_now(),
                request_id=step.request_id,
                entity="approval_step",
                entity_id=keys.step_entity_id(step.request_id, step.seq),
                action="step_opened",
                actor="workflow",
                detail={"role": step.role, "approver": step.approver_email},
            )
            return request_summary(session, request_id=step.request_id)

    @activity.defn
    async def record_outcome(self, outcome: OutcomeInput) -> OutcomeResult:
        """Close the step and the request; an approval records the asset and its contract."""
        recorded = await asyncio.to_thread(self._record_outcome, outcome)
        faults.crash_point("after_record_outcome")
        return recorded

    def _record_outcome(self, outcome: OutcomeInput) -> OutcomeResult:
        at = datetime.fromisoformat(outcome.decided_at)
        with transaction(self._engine) as session:
            actor = self._steps.actor(session, outcome.actor_slack_id)
            repository.close_step(
                session,
                request_id=outcome.request_id,
                seq=outcome.seq,
                status=StepStatus(outcome.status),
                actor=actor,
                reason=outcome.reason,
                at=at,
            )
            request = repository.set_request_status(
                session,
                request_id=outcome.request_id,
                status=outcome.status,
                at=at,
                decided_by=actor,
                reason=outcome.reason,
            )
            repository.audit(
                session,
                idem_key=keys.step_audit_key(outcome.request_id, outcome.seq, outcome.status),
                at=at,
                request_id=outcome.request_id,
                entity="approval_step",
                entity_id=keys.step_entity_id(outcome.request_id, outcome.seq),
                action=outcome.status,
                actor=actor,
                detail={"reason": outcome.reason} if outcome.reason else {},
            )
            if outcome.status != RequestStatus.APPROVED:
                return OutcomeResult()
            return self._closing.record_asset(session, request, at)

    @activity.defn
    async def announce_outcome(self, request_id: str) -> None:
        """Update every message about the request in place and tell the requester."""
        summary = await asyncio.to_thread(self._messenger.summary, request_id)
        approver_ref = await asyncio.to_thread(self._messenger.message_ref, keys.single_approver_key(request_id, 1))
        if approver_ref is not None:
            await self._messenger.update(approver_ref, MessageKind.APPROVAL_REQUEST, summary)
        await self._messenger.send_or_update(
            keys.requester_key(request_id), summary.requester_slack_id, MessageKind.REQUESTER_STATUS, summary
        )
        await self._messenger.send_once(
            keys.outcome_key(request_id), summary.requester_slack_id, MessageKind.OUTCOME_NOTICE, summary
        )

    @activity.defn
    async def announce_rejection(self, rejection: RejectionInput) -> None:
        summary = await asyncio.to_thread(self._messenger.summary, rejection.request_id)
        await self._messenger.send_once(
            keys.outcome_key(rejection.request_id), rejection.requester_slack_id, MessageKind.OUTCOME_NOTICE, summary
        )
