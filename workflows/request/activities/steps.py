"""Activities that open the steps of a stage (each approver's DM posted once), record each
decision on a step, and send a request back to its requester for changes.

Idempotent: steps are keyed by (request, seq), messages and audit rows by the keys in
workflows/request/keys.py."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session
from temporalio import activity

from catalog import repository
from catalog.db import transaction
from catalog.models import PurchaseRequest, RequestStatus, StepStatus
from catalog.ports import (
    MessageKind,
    RequestSummary,
)
from catalog.rules.budget import available_cents, fiscal_year_of
from catalog.text import truncate
from workflows.request import keys
from workflows.request.activities.audit import audit_step
from workflows.request.activities.messaging import (
    ActivityConcern,
    Noted,
    note_or_ref,
    request_summary,
)
from workflows.request.types import (
    ACTION_APPROVE,
    ACTION_DENY,
    ACTION_REQUEST_CHANGES,
    RouteStepPlan,
    StageOpen,
    StageTimes,
    StepDecisionRecord,
    StepOpen,
    StepTimes,
)

# What an opened step takes from its plan as it is.
_PLANNED_FIELDS = (
    "seq",
    "stage",
    "role",
    "approver_email",
    "approver_slack_id",
    "sla_business_days",
    "delegate_email",
    "delegate_slack_id",
)

#: What a step decision / closing action leaves the step as.
_STEP_STATUS = {
    ACTION_APPROVE: StepStatus.APPROVED,
    ACTION_DENY: StepStatus.DENIED,
    ACTION_REQUEST_CHANGES: StepStatus.CHANGES_REQUESTED,
    "superseded": StepStatus.SUPERSEDED,
    "expired": StepStatus.EXPIRED,
    "withdrawn": StepStatus.WITHDRAWN,
}


class StepActivities(ActivityConcern):
    async def _ask_approver(
        self,
        request_id: str,
        step: RouteStepPlan,
        summary: RequestSummary,
        notes: Mapping[str, Noted],
        posted: dict[str, RequestSummary],
    ) -> None:
        """Post the approver's DM of an opened step once (not for a step carried over from the
        round before); what was posted goes into `posted`, which the announcement leaves alone."""
        if step.carried_over:
            return
        key = keys.approver_key(request_id, step.seq, step.approver_slack_id)
        shown = dataclasses.replace(summary, viewer_seq=step.seq)
        _, sent = await self._messenger.post_once(
            key, step.approver_slack_id, MessageKind.APPROVAL_REQUEST, shown, notes[key]
        )
        if sent:
            posted[key] = shown

    def _step_times(self, at: datetime, step: RouteStepPlan, remind_slas: int, escalate_slas: int) -> StepTimes:
        remind_at = self._messenger.add_business_days(at, step.sla_business_days * max(remind_slas, 1))
        escalate_at = self._messenger.add_business_days(at, step.sla_business_days * max(escalate_slas, 1))
        return StepTimes(remind_at.isoformat(), escalate_at.isoformat())

    @activity.defn
    async def open_chain_stage(self, opening: StageOpen) -> StageTimes:
        """Open every step of a stage in one transaction, then DM each approver once (each DM
        shows the whole stage) and update every other message once. Opening the steps one
        activity each posted a parallel approver's DM before the stage was complete and updated
        the other messages once per step."""
        at = datetime.fromisoformat(opening.at)
        times = [
            self._step_times(at, step, opening.remind_after_slas, opening.escalate_after_slas) for step in opening.steps
        ]
        summary, notes = await asyncio.to_thread(self._open_chain_stage, opening, at, times)
        posted: dict[str, RequestSummary] = {}
        for step in opening.steps:
            await self._ask_approver(opening.request_id, step, summary, notes, posted)
        await self._messenger.announce(
            opening.request_id, posted=posted, requester=notes[keys.requester_key(opening.request_id)]
        )
        return StageTimes(times)

    def _open_chain_stage(
        self, opening: StageOpen, at: datetime, times: list[StepTimes]
    ) -> tuple[RequestSummary, dict[str, Noted]]:
        rid = opening.request_id
        with transaction(self._engine) as session:
            request = repository.get_request(session, request_id=rid)
            for step, when in zip(opening.steps, times, strict=True):
                self._open_step_in(
                    session,
                    request,
                    rid,
                    opening.round,
                    step,
                    at,
                    datetime.fromisoformat(when.remind_at),
                    datetime.fromisoformat(when.escalate_at),
                )
            noted = [keys.requester_key(rid)]
            noted += [keys.approver_key(rid, s.seq, s.approver_slack_id) for s in opening.steps if not s.carried_over]
            notes = {key: note_or_ref(session, key=key, request_id=rid) for key in noted}
            return request_summary(session, request_id=rid), notes

    @activity.defn
    async def open_chain_step(self, opening: StepOpen) -> StepTimes:
        """Open a step and DM its approver (once). A step approved in an earlier round by the
        same person is recorded as approved and nobody is asked again. Workflows started since
        `all-patches-v7` open a stage with `open_chain_stage` instead."""
        at = datetime.fromisoformat(opening.at)
        step = opening.step
        when = self._step_times(at, step, opening.remind_after_slas, opening.escalate_after_slas)
        remind_at, escalate_at = datetime.fromisoformat(when.remind_at), datetime.fromisoformat(when.escalate_at)
        summary, notes = await asyncio.to_thread(self._open_chain_step, opening, at, remind_at, escalate_at)
        posted: dict[str, RequestSummary] = {}
        await self._ask_approver(opening.request_id, step, summary, notes, posted)
        # Everyone's message shows the stage that just opened (one activity, not two).
        await self._messenger.announce(
            opening.request_id, posted=posted, requester=notes[keys.requester_key(opening.request_id)]
        )
        return when

    def _open_chain_step(
        self, opening: StepOpen, at: datetime, remind_at: datetime, escalate_at: datetime
    ) -> tuple[RequestSummary, dict[str, Noted]]:
        """Open the step; and note, in the same transaction, the messages the activity posts
        next unless they were posted already: the approver's DM and the requester's."""
        step = opening.step
        rid = opening.request_id
        with transaction(self._engine) as session:
            request = repository.get_request(session, request_id=rid)
            self._open_step_in(session, request, rid, opening.round, step, at, remind_at, escalate_at)
            noted = [keys.requester_key(rid)]
            if not step.carried_over:
                noted.append(keys.approver_key(rid, step.seq, step.approver_slack_id))
            notes = {key: note_or_ref(session, key=key, request_id=rid) for key in noted}
            return request_summary(session, request_id=rid), notes

    @staticmethod
    def _open_step_in(
        session: Session,
        request: PurchaseRequest | None,
        rid: str,
        round_: int,
        step: RouteStepPlan,
        at: datetime,
        remind_at: datetime,
        escalate_at: datetime,
    ) -> None:
        """Open one step (a carried-over one as approved at once), audited."""
        repository.open_step(
            session,
            request_id=rid,
            round=round_,
            reasons=list(step.reasons),
            opened_at=at,
            remind_at=remind_at,
            escalate_at=escalate_at,
            assigned_because=(
                f"approved in an earlier round by {step.approver_name}" if step.carried_over else step.assigned_because
            ),
            **{name: getattr(step, name) for name in _PLANNED_FIELDS},
        )
        if step.carried_over:
            repository.close_step(
                session,
                request_id=rid,
                seq=step.seq,
                status=StepStatus.APPROVED,
                actor=step.approver_email,
                reason="Approved in an earlier round; the request costs no more than then.",
                at=at,
            )
        if request is not None and request.status in (RequestStatus.SUBMITTED, RequestStatus.CHANGES_REQUESTED):
            repository.set_request_status(session, request_id=rid, status=RequestStatus.PENDING_APPROVAL, at=at)
        audit_step(
            session,
            request_id=rid,
            seq=step.seq,
            idem_key=keys.step_audit_key(rid, step.seq, "opened"),
            action="step_carried_over" if step.carried_over else "step_opened",
            actor="workflow",
            at=at,
            policy_version=request.policy_version if request else None,
            detail={
                "role": step.role,
                "stage": step.stage,
                "round": round_,
                "approver": step.approver_email,
                "delegate": step.delegate_email,
                "reasons": list(step.reasons),
                "assigned_because": step.assigned_because,
                "remind_at": remind_at.isoformat(),
                "escalate_at": escalate_at.isoformat(),
            },
        )

    @activity.defn
    async def record_step(self, record: StepDecisionRecord) -> None:
        """Close a step with a decision (or as superseded / expired / withdrawn), audited with
        the policy version and the budget line as they are now, and update every message about
        the request in place."""
        await asyncio.to_thread(self._record_step, record)
        if record.announce:
            await self._messenger.announce(record.request_id)

    def _record_step(self, record: StepDecisionRecord) -> None:
        with transaction(self._engine) as session:
            self.record_step_in(session, record)

    def record_step_in(self, session: Session, record: StepDecisionRecord) -> None:
        at = datetime.fromisoformat(record.at)
        rid = record.request_id
        actor = self.actor(session, record.actor_slack_id)
        request = repository.get_request(session, request_id=rid)
        repository.close_step(
            session,
            request_id=rid,
            seq=record.seq,
            status=_STEP_STATUS[record.action],
            actor=actor,
            reason=record.reason,
            at=at,
        )
        if record.action == ACTION_REQUEST_CHANGES:
            # With the step, so the messages this record updates say the request now waits
            # for the requester's edit (not for the approver who asked).
            self._set_changes_requested(session, record, at)
        audit_step(
            session,
            request_id=rid,
            seq=record.seq,
            idem_key=keys.step_audit_key(rid, record.seq, record.action),
            action=f"step_{_STEP_STATUS[record.action].value}",
            actor=actor,
            at=at,
            policy_version=record.policy_version or (request.policy_version if request else None),
            detail={
                "reason": record.reason,
                "budget": self.budget_now(session, request) if request else None,
            },
        )

    def actor(self, session: Session, slack_id: str | None) -> str:
        if not slack_id:
            return "system"
        person = repository.person_row_by_slack_id(session, slack_id=slack_id)
        return str(person.email) if person else slack_id

    def budget_now(self, session: Session, request: PurchaseRequest) -> dict[str, Any]:
        fiscal_year = fiscal_year_of(
            self._messenger.local_date(request.created_at), self._messenger.conf().fiscal_year_start_month
        )
        line = repository.budget_row(session, cost_center=request.cost_center, fiscal_year=fiscal_year)
        if line is None:
            return {"cost_center": request.cost_center, "fiscal_year": fiscal_year, "line": None}
        return {
            "cost_center": line.cost_center,
            "fiscal_year": line.fiscal_year,
            "currency": line.currency,
            "annual_cents": line.annual_cents,
            "committed_cents": line.committed_cents,
            "actual_cents": line.actual_cents,
            "available_cents": available_cents(
                annual_cents=line.annual_cents, committed_cents=line.committed_cents, actual_cents=line.actual_cents
            ),
        }

    @activity.defn
    async def ask_for_changes(self, record: StepDecisionRecord) -> None:
        """Send the request back to the requester. Their status message (updated in place, once
        the step is recorded) shows the approver's comment and an Edit button; a notice without
        buttons tells them, since an update in place notifies nobody."""
        summary, changed = await asyncio.to_thread(self._changes_requested, record)
        if changed:  # recorded by a step record from before the status moved with it
            summary = await self._messenger.announce(record.request_id)
        step = next((s for s in summary.steps if s.seq == record.seq), None)
        who = step.approver_name if step else "An approver"
        comment = truncate(" ".join((record.reason or "").split()), 500)
        event = (
            f"{who} asks you to change your request before deciding: “{comment}”. "
            "Use Edit request on your request's message: it goes back to approval from there."
        )
        await self._messenger.send_once(
            keys.changes_notice_key(record.request_id, record.seq),
            summary.requester_slack_id,
            MessageKind.REQUESTER_NOTICE,
            dataclasses.replace(summary, event=event),
        )

    def _changes_requested(self, record: StepDecisionRecord) -> tuple[RequestSummary, bool]:
        at = datetime.fromisoformat(record.at)
        with transaction(self._engine) as session:
            changed = self._set_changes_requested(session, record, at)
            return request_summary(session, request_id=record.request_id), changed

    @staticmethod
    def _set_changes_requested(session: Session, record: StepDecisionRecord, at: datetime) -> bool:
        """The request waits for the requester's edit, with the approver's comment; whether
        this changed its status."""
        request = repository.get_request(session, request_id=record.request_id)
        changed = request is not None and request.status != RequestStatus.CHANGES_REQUESTED
        repository.update_request(
            session,
            request_id=record.request_id,
            values={"status": RequestStatus.CHANGES_REQUESTED, "changes_comment": record.reason},
            at=at,
        )
        return changed
