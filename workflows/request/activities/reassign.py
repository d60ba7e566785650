"""Activities on a step that waits: a reminder to its approver, an escalation to the approver's
manager (or the policy's target) when the SLA has passed twice, and a hand-over to a delegate.

Idempotent: audit rows and messages by the keys in workflows/request/keys.py."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from typing import Any, Literal

from temporalio import activity
from temporalio.exceptions import ApplicationError

from catalog import repository
from catalog.db import transaction
from catalog.models import StepStatus
from catalog.ports import (
    MessageKind,
    RequestSummary,
)
from catalog.routing import (
    load_active_policy,
    step_delegation_refusal,
)
from catalog.rules.policy import escalation_approver
from workflows.request import keys
from workflows.request.activities.audit import audit_step
from workflows.request.activities.messaging import (
    ActivityConcern,
    request_summary,
)
from workflows.request.activities.route import Rejected
from workflows.request.types import (
    CHANGE_NOT_ALLOWED,
    Delegated,
    DelegateRecord,
    Escalated,
    StepNudge,
)


class ReassignActivities(ActivityConcern):
    @activity.defn
    async def nudge_step(self, nudge: StepNudge) -> Escalated:
        """A reminder to the approver of a step waiting past its SLA, or its escalation to the
        approver's manager (or the policy's target); the requester is told either way."""
        at = datetime.fromisoformat(nudge.at)
        if nudge.kind == "reminder":
            summary = await asyncio.to_thread(self._mark_nudged, nudge, at)
            step = next(s for s in summary.steps if s.seq == nudge.seq)
            waiting = f"waiting since {step.opened_at:%a %d %b}" if step.opened_at else "waiting"
            await self._messenger.send_once(
                keys.reminder_key(nudge.request_id, nudge.seq),
                step.approver_slack_id,
                MessageKind.APPROVAL_REMINDER,
                dataclasses.replace(
                    summary, viewer_seq=nudge.seq, event=f"Reminder: this request is {waiting} for your decision."
                ),
            )
            await self._messenger.send_once(
                keys.nudge_requester_key(nudge.request_id, nudge.seq, "reminder"),
                summary.requester_slack_id,
                MessageKind.REQUESTER_NOTICE,
                dataclasses.replace(
                    summary, event=f"It is past the approval SLA, so we reminded {step.approver_name} ({waiting})."
                ),
            )
            return Escalated()
        escalated, summary, old_name = await asyncio.to_thread(self._escalate, nudge, at)
        if escalated.approver_slack_id is None and escalated.approver_email:
            found = await self._notifier.lookup_user_id(escalated.approver_email)
            if found:
                escalated = dataclasses.replace(escalated, approver_slack_id=found)
                summary = await asyncio.to_thread(self._reassign_slack, nudge, found)
        posted: dict[str, RequestSummary] = {}
        if escalated.approver_slack_id:
            key = keys.approver_key(nudge.request_id, nudge.seq, escalated.approver_slack_id)
            posted[key] = dataclasses.replace(
                summary, viewer_seq=nudge.seq, event=f"Escalated to you: {old_name} hasn't decided within the SLA."
            )
            await self._messenger.send_once(key, escalated.approver_slack_id, MessageKind.APPROVAL_REQUEST, posted[key])
            event = f"{old_name} hasn't decided in time, so we escalated to {escalated.approver_name}."
        else:
            event = f"{old_name} hasn't decided in time and there is no one to escalate to; we reminded them again."
        await self._messenger.send_once(
            keys.nudge_requester_key(nudge.request_id, nudge.seq, "escalation"),
            summary.requester_slack_id,
            MessageKind.REQUESTER_NOTICE,
            dataclasses.replace(summary, event=event),
        )
        await self._messenger.announce(nudge.request_id, posted=posted)
        return escalated

    def _mark_nudged(self, nudge: StepNudge, at: datetime) -> RequestSummary:
        with transaction(self._engine) as session:
            if repository.mark_step_nudged(
                session, request_id=nudge.request_id, seq=nudge.seq, kind=_nudge_kind(nudge.kind), at=at
            ):
                step = repository.get_step(session, request_id=nudge.request_id, seq=nudge.seq)
                audit_step(
                    session,
                    request_id=nudge.request_id,
                    seq=nudge.seq,
                    idem_key=keys.step_audit_key(nudge.request_id, nudge.seq, nudge.kind),
                    action=f"step_{nudge.kind}",
                    actor="workflow",
                    at=at,
                    detail={"approver": step.approver_email if step else None},
                )
            return request_summary(session, request_id=nudge.request_id)

    def _escalate(self, nudge: StepNudge, at: datetime) -> tuple[Escalated, RequestSummary, str]:
        rid = nudge.request_id
        with transaction(self._engine) as session:
            step = repository.get_step(session, request_id=rid, seq=nudge.seq)
            request = repository.get_request(session, request_id=rid)
            if step is None or request is None:
                raise LookupError(f"step {nudge.seq} of {rid} does not exist")
            policy = load_active_policy(self._messenger.conf())
            target_email = None if nudge.escalation_target == "manager" else nudge.escalation_target
            named = [request.requester_email, step.delegate_email, target_email, *policy.fallback_approvers.values()]
            directory = repository.directory_around(session, emails=named, managers_of=[step.approver_email])
            approver = directory.get(step.approver_email)
            requester = directory.get(request.requester_email)
            old_name = approver.name if approver else step.approver_email
            first = repository.mark_step_nudged(session, request_id=rid, seq=nudge.seq, kind="escalation", at=at)
            if not first:
                # A retry after the step was reassigned: the current approver is the target.
                if step.assigned_because and step.assigned_because.startswith("escalated"):
                    person = directory.get(step.approver_email)
                    previous = directory.get(step.delegate_email) if step.delegate_email else None
                    return (
                        Escalated(step.approver_email, step.approver_slack_id or None, person.name if person else None),
                        request_summary(session, request_id=rid),
                        previous.name if previous else old_name,
                    )
                return Escalated(), request_summary(session, request_id=rid), old_name
            target = (
                escalation_approver(
                    nudge.escalation_target,
                    approver=approver,
                    requester=requester,
                    directory=directory,
                    on=self._messenger.local_date(at),
                    fallback_approvers=policy.fallback_approvers,
                )
                if approver is not None and requester is not None
                else None
            )

            def audit_escalation(action: str, detail: dict[str, Any], policy_version: str | None = None) -> None:
                """The step's one escalation row: escalated, or failed to."""
                audit_step(
                    session,
                    request_id=rid,
                    seq=nudge.seq,
                    idem_key=keys.step_audit_key(rid, nudge.seq, "escalation"),
                    action=action,
                    actor="workflow",
                    at=at,
                    policy_version=policy_version,
                    detail=detail,
                )

            if target is None or target.email == step.approver_email:
                audit_escalation(
                    "step_escalation_failed", {"approver": step.approver_email, "reason": "no one to escalate to"}
                )
                return Escalated(), request_summary(session, request_id=rid), old_name
            repository.reassign_step(
                session,
                request_id=rid,
                seq=nudge.seq,
                approver_email=target.email,
                approver_slack_id=target.slack_id or "",
                assigned_because=f"escalated: {old_name} didn't decide within the SLA",
                delegate_email=step.approver_email,
                delegate_slack_id=step.approver_slack_id,
            )
            audit_escalation(
                "step_escalated",
                {"from": step.approver_email, "to": target.email, "target": nudge.escalation_target},
                request.policy_version,
            )
            return (
                Escalated(target.email, target.slack_id or None, target.name),
                request_summary(session, request_id=rid),
                old_name,
            )

    def _reassign_slack(self, nudge: StepNudge, slack_id: str) -> RequestSummary:
        with transaction(self._engine) as session:
            step = repository.get_step(session, request_id=nudge.request_id, seq=nudge.seq)
            if step is not None:
                repository.link_slack_id(session, email=step.approver_email, slack_id=slack_id)
                step.approver_slack_id = slack_id
                session.add(step)
            return request_summary(session, request_id=nudge.request_id)

    @activity.defn
    async def delegate_step(self, record: DelegateRecord) -> Delegated:
        """Hand a step to another person in the directory; they get the approval DM."""
        at = datetime.fromisoformat(record.at)
        try:
            delegated, summary, from_name = await asyncio.to_thread(self._delegate, record, at)
        except Rejected as refused:
            raise ApplicationError(refused.reason, type=CHANGE_NOT_ALLOWED, non_retryable=True) from None
        key = keys.approver_key(record.request_id, record.seq, delegated.approver_slack_id)
        event = f"{from_name} delegated this approval to you."
        shown = dataclasses.replace(summary, viewer_seq=record.seq, event=event)
        await self._messenger.send_once(key, delegated.approver_slack_id, MessageKind.APPROVAL_REQUEST, shown)
        # The refresh that follows keeps the notice on the message just posted.
        await self._messenger.announce(record.request_id, posted={key: shown})
        return delegated

    def _delegate(self, record: DelegateRecord, at: datetime) -> tuple[Delegated, RequestSummary, str]:
        refused = self._delegation_refused(record, at)
        if refused is not None:
            raise Rejected(refused)
        rid = record.request_id
        with transaction(self._engine) as session:
            request = repository.get_request(session, request_id=rid)
            step = repository.get_step(session, request_id=rid, seq=record.seq)
            if request is None or step is None:
                raise Rejected("This approval step doesn't exist.")
            target = repository.get_person_by_slack_id(session, slack_id=record.to_slack_id)
            if target is None:
                raise Rejected(
                    f"<@{record.to_slack_id}> isn't in the company directory, so they can't approve; "
                    "ask ITAM to add them, or pick someone else."
                )
            if target.email == request.requester_email:
                raise Rejected("The requester can't approve their own request.")
            actor = repository.get_person_by_slack_id(session, slack_id=record.from_slack_id)
            from_name = actor.name if actor else record.from_slack_id
            if step.approver_email != target.email:
                if step.status != StepStatus.PENDING:
                    raise Rejected("This step was decided in the meantime.")
                note = f": {record.note.strip()}" if record.note.strip() else ""
                repository.reassign_step(
                    session,
                    request_id=rid,
                    seq=record.seq,
                    approver_email=target.email,
                    approver_slack_id=record.to_slack_id,
                    assigned_because=f"delegated by {from_name}{note}"[:500],
                )
            audit_step(
                session,
                request_id=rid,
                seq=record.seq,
                idem_key=keys.delegated_audit_key(rid, record.seq, record.to_slack_id),
                action="step_delegated",
                actor=actor.email if actor else record.from_slack_id,
                at=at,
                policy_version=request.policy_version,
                detail={"to": target.email, "note": record.note[:500]},
            )
            summary = request_summary(session, request_id=rid)
            return Delegated(target.email, record.to_slack_id, target.name), summary, from_name

    def _delegation_refused(self, record: DelegateRecord, at: datetime) -> str | None:
        """Why the step may not go to that person (`catalog.routing.step_delegation_refusal`),
        audited in a transaction of its own; None when it may."""
        rid = record.request_id
        with transaction(self._engine) as session:
            step = repository.get_step(session, request_id=rid, seq=record.seq)
            target = repository.get_person_by_slack_id(session, slack_id=record.to_slack_id)
            if step is None or target is None or step.approver_email == target.email:
                return None  # `_delegate` says what is wrong, or there is nothing to hand over
            actor = repository.get_person_by_slack_id(session, slack_id=record.from_slack_id)
            refusal = step_delegation_refusal(
                session,
                role=step.role,
                approver_email=step.approver_email,
                actor_email=actor.email if actor else None,
                candidate_email=target.email,
            )
            if refusal is None:
                return None
            audit_step(
                session,
                request_id=rid,
                seq=record.seq,
                idem_key=keys.delegation_refused_audit_key(rid, record.seq, record.to_slack_id, record.at),
                action="step_delegation_refused",
                actor=actor.email if actor else record.from_slack_id,
                at=at,
                detail={"to": target.email, "role": step.role, "approver": step.approver_email, "reason": refusal},
            )
            return refusal


def _nudge_kind(kind: str) -> Literal["reminder", "escalation"]:
    return "escalation" if kind == "escalation" else "reminder"
