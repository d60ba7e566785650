"""Activities of the approval chain: plan the route from policy.yaml, open each step (DM its
approver), nudge and escalate waiting steps, hand a step to a delegate, record decisions,
ask the requester for changes, and record the outcome (budget reserved exactly once).

Idempotent like every activity: steps are keyed by (request, seq), messages by a key stored
before the activity completes, reservations and drawdowns by request id, audit rows by an
idempotency key. Times come from the workflow clock (`at` fields), so SLA deadlines follow
the time-skipping test server as well as the real one."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from catalog import repository
from catalog.db import transaction
from catalog.models import Product, ProductStatus, PurchaseRequest, RequestStatus, SlackMessage, StepStatus
from catalog.ports import MessageKind, MessageRef, RequestSummary
from catalog.routing import (
    RoutePreview,
    RouteRejected,
    budget_json,
    drawdown_json,
    load_active_policy,
    preview_route,
    route_request_of,
    step_delegation_refusal,
)
from catalog.rules.budget import BudgetError, Commitment, Drawdown, available_cents, drawdown, fiscal_year_of
from catalog.rules.business_time import add_business_days, local_date
from catalog.rules.expansion import Expansion
from catalog.rules.policy import Policy, escalation_approver
from catalog.rules.renewals import add_months
from catalog.rules.requests import CatalogPrice, Quote, RequestInputError, quote
from catalog.settings import Settings, get_settings
from catalog.text import role_phrase, truncate
from workflows import faults
from workflows.request import keys
from workflows.request.activities.messaging import Noted, _now, note_or_ref, request_summary
from workflows.request.activities.outcomes import audit_outcome, refuse_approved, unconvertible_reason
from workflows.request.activities.purchase_terms import (
    CONTRACT_KEY,
    PRICE_KEY,
    PurchaseTerms,
    closing_contract,
    contract_json,
    expansion_json,
    plan_contract,
    price_json,
)
from workflows.request.activities.renewal_requests import record_renewal, renewal_plan_detail, renewal_request_row
from workflows.request.activities.reuse import ReuseActivities
from workflows.request.types import (
    ACTION_APPROVE,
    ACTION_DENY,
    ACTION_REQUEST_CHANGES,
    CHANGE_NOT_ALLOWED,
    REQUEST_REJECTED,
    ChainClosing,
    ChainOutcome,
    Delegated,
    DelegateRecord,
    Escalated,
    OutcomeResult,
    PlanInput,
    RecheckInput,
    RecheckResult,
    RequestInput,
    RoutePlan,
    RouteStepPlan,
    StageOpen,
    StageTimes,
    StepDecisionRecord,
    StepNudge,
    StepOpen,
    StepTimes,
)

DEFAULT_TERM_MONTHS = 12
#: What every message about a request shows, and (key, where) of the approvers' and the
#: changes-requested messages to update in place.
Progress = tuple[RequestSummary, list[tuple[str, MessageRef]]]

#: What a step decision / closing action leaves the step as.
_STEP_STATUS = {
    ACTION_APPROVE: StepStatus.APPROVED,
    ACTION_DENY: StepStatus.DENIED,
    ACTION_REQUEST_CHANGES: StepStatus.CHANGES_REQUESTED,
    "superseded": StepStatus.SUPERSEDED,
    "expired": StepStatus.EXPIRED,
    "withdrawn": StepStatus.WITHDRAWN,
}


class Rejected(Exception):
    """A business rule refuses the request; `reason` is told to the requester as it is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def audit_step(
    session: Session,
    *,
    request_id: str,
    seq: int,
    key: str,
    action: str,
    actor: str,
    at: datetime,
    detail: dict[str, Any],
    policy_version: str | None = None,
) -> None:
    """An audit row about one approval step (idempotent on `key`)."""
    repository.audit(
        session,
        idem_key=key,
        at=at,
        request_id=request_id,
        entity="approval_step",
        entity_id=keys.step_entity_id(request_id, seq),
        action=action,
        actor=actor,
        step_seq=seq,
        policy_version=policy_version,
        detail=detail,
    )


class ChainActivities(ReuseActivities):
    """The approval chain's activities (mixed into ProcurementActivities)."""

    settings: Settings | None = None  # tests inject one; else the process settings

    def _conf(self) -> Settings:
        return self.settings or get_settings()

    def _local_date(self, at: datetime) -> date:
        return local_date(at, self._conf().company_timezone)

    def _add_business_days(self, at: datetime, days: int) -> datetime:
        conf = self._conf()
        return add_business_days(at, days, tz=conf.company_timezone, calendar=conf.holiday_calendar())

    # --- plan -------------------------------------------------------------------------

    @activity.defn
    async def plan_route(self, plan: PlanInput) -> RoutePlan:
        """Check the request against the directory, the catalog, the budget and the policy, and
        plan its approval route. The first round records the request; a later round (after the
        requester edited it) updates it. A refusal raises a non-retryable RequestRejected error,
        recorded on the first round (a refused edit is only told to the requester)."""
        request = plan.request
        at = datetime.fromisoformat(plan.at)
        try:
            route, preview, policy, terms = await asyncio.to_thread(self._plan_in_db, plan, at)
            route.steps[:] = await self._on_slack(route.steps, request)
        except Rejected as rejected:
            if plan.round == 1:
                await asyncio.to_thread(self._record_rejection, request, rejected.reason)
            raise ApplicationError(rejected.reason, type=REQUEST_REJECTED, non_retryable=True) from None
        await asyncio.to_thread(self._record_plan, plan, route, preview, policy, terms, at)
        return route

    async def _on_slack(self, steps: list[RouteStepPlan], request: RequestInput) -> list[RouteStepPlan]:
        """`steps` with every approver's Slack id (looked up by email where the directory has
        none). Raises `Rejected` for an approver not on Slack, or the requester as an approver."""
        found_steps = []
        for step in steps:
            if not step.approver_slack_id:
                found = await self._notifier.lookup_user_id(step.approver_email)
                if not found:
                    role = role_phrase(step.role)
                    raise Rejected(
                        f"{step.approver_name} ({step.approver_email}), who must approve as {role}, "
                        "isn't on Slack yet; ask ITAM to fix the directory."
                    )
                step = dataclasses.replace(step, approver_slack_id=found)
            if step.approver_slack_id == request.requester_slack_id:
                raise Rejected("You are listed as an approver of your own request; ask ITAM to fix the directory.")
            found_steps.append(step)
        return found_steps

    @activity.defn
    async def recheck_route(self, check: RecheckInput) -> RecheckResult:
        """The route checked again as a stage opens or as the request closes: the steps the
        policy asks for now (the budget may have been used up since the route was planned, or
        the policy changed) that this round does not have, placed in `check.stage`. They are
        audited with why (`route_grew`); the stage's opening tells the approvers and the
        requester. A request the policy would now refuse outright keeps its route: only steps
        are ever added here, never taken away (docs/decisions.md, "The route is checked again")."""
        at = datetime.fromisoformat(check.at)
        plan = PlanInput(check.request, check.at, check.round, check.first_seq)
        try:
            route, preview, _, _ = await asyncio.to_thread(self._plan_in_db, plan, at)
        except Rejected as rejected:
            activity.logger.warning("re-checking %s: %s", check.request.request_id, rejected.reason)
            return RecheckResult([], [])
        added = added_steps(route, roles=check.roles, first_seq=check.first_seq, stage=check.stage)
        if not added:
            return RecheckResult([], [])
        try:
            added = await self._on_slack(added, check.request)
        except Rejected as rejected:
            raise ApplicationError(rejected.reason, type=REQUEST_REJECTED, non_retryable=True) from None
        reasons = [reason for step in added for reason in step.reasons]
        await asyncio.to_thread(self._record_growth, check, added, preview, at)
        return RecheckResult(added, reasons)

    def _record_growth(
        self, check: RecheckInput, added: list[RouteStepPlan], preview: RoutePreview, at: datetime
    ) -> None:
        rid = check.request.request_id
        with transaction(self._engine) as session:
            for step in added:
                if step.approver_slack_id:
                    repository.link_slack_id(session, email=step.approver_email, slack_id=step.approver_slack_id)
            repository.audit(
                session,
                idem_key=keys.route_grew_audit_key(rid, check.round, check.first_seq),
                at=at,
                request_id=rid,
                entity="request",
                entity_id=rid,
                action="route_grew",
                actor="policy",
                policy_version=preview.decision.version,
                detail={
                    "round": check.round,
                    "stage": check.stage,
                    "added": [
                        {
                            "seq": s.seq,
                            "stage": s.stage,
                            "role": s.role,
                            "approver": s.approver_email,
                            "slack_id": s.approver_slack_id,
                            "reasons": s.reasons,
                        }
                        for s in added
                    ],
                    "budget": budget_json(preview.budget),
                },
            )

    def _plan_in_db(self, plan: PlanInput, at: datetime) -> tuple[RoutePlan, RoutePreview, Policy, PurchaseTerms]:
        request = plan.request
        policy = load_active_policy(self._conf())
        with transaction(self._engine, read_only=True) as session:
            row, preview, terms = self._preview_in(session, request, policy, at)
        return self._route_from(plan, row, preview, at), preview, policy, terms

    def _preview_in(
        self, session: Session, request: RequestInput, policy: Policy, at: datetime
    ) -> tuple[PurchaseRequest, RoutePreview, PurchaseTerms]:
        """The request checked against the directory, the catalog, the budget and the policy as
        `session` sees them. Raises `Rejected`."""
        conf = self._conf()
        requester = repository.get_person(session, email=request.requester_email)
        if requester is None:
            raise Rejected(
                f"{request.requester_email} isn't in the company directory yet, so there is no one to "
                "approve your request. Ask the ITAM team to add you."
            )
        product = None
        if request.product_id:
            product = repository.get_product(session, product_id=request.product_id)
            if product is None:
                raise Rejected(f"“{request.product_name}” is no longer in the catalog.")
        # A blocked product may have no price: the policy refuses it, with its reason.
        blocked = product is not None and product.status == ProductStatus.BLOCKED
        row = self.new_request_row(session, request, strict=not blocked)
        on = self._local_date(at)
        terms = PurchaseTerms(
            self._quote_or_none(product, request),
            plan_contract(
                session,
                product=None if blocked or request.is_renewal else product,
                seats=row.seats,
                annual_cents=row.annual_cost_cents,
                channel=row.channel,
                currency=row.currency,
                cost_center=row.cost_center,
                requester_cost_center=requester.cost_center,
                separate=request.separate_contract,
                as_of=on,
            ),
        )
        try:
            preview = preview_route(
                session,
                policy=policy,
                request=route_request_of(
                    row,
                    requester_email=requester.email,
                    data_classification=request.data_classification,
                    # A renewal charges its contract's cost center, whatever an edit says.
                    cost_center=row.cost_center if request.is_renewal else request.cost_center,
                    reserve_cents=terms.reserve_cents,
                ),
                on=on,
                fiscal_year_start_month=conf.fiscal_year_start_month,
                budget_on=row.renewal_date,
            )
        except RouteRejected as exc:
            raise Rejected(exc.reason) from None
        return row, preview, terms

    def _route_from(self, plan: PlanInput, row: PurchaseRequest, preview: RoutePreview, at: datetime) -> RoutePlan:
        request = plan.request
        decision = preview.decision
        if decision.outcome == "reject":
            raise Rejected(_sentences(decision.reasons) or "The purchase policy doesn't allow this request.")
        if decision.outcome != "auto_approve" and preview.route.problems:
            raise Rejected("No one can approve this yet: " + "; ".join(preview.route.problems))
        steps = [
            RouteStepPlan(
                seq=plan.first_seq + index,
                stage=assigned.step.stage,
                role=assigned.step.role,
                approver_email=assigned.approver.email,
                approver_slack_id=assigned.approver.slack_id or "",
                approver_name=assigned.approver.name,
                reasons=list(assigned.step.reasons),
                sla_business_days=assigned.step.sla_business_days,
                delegate_email=assigned.delegate.email if assigned.delegate else None,
                delegate_slack_id=assigned.delegate.slack_id if assigned.delegate else None,
                assigned_because=assigned.assigned_because,
            )
            for index, assigned in enumerate(preview.route.steps)
        ]
        route = RoutePlan(
            request_id=request.request_id,
            outcome=decision.outcome,
            steps=steps if decision.outcome == "route" else [],
            reasons=list(decision.reasons),
            policy_version=decision.version,
            expires_at=self._add_business_days(at, decision.expiry_business_days).isoformat(),
            escalate_after_slas=decision.escalate_after_slas,
            escalation_target=decision.escalation_target,
            annual_cost_cents=row.annual_cost_cents,
            round=plan.round,
            remind_after_slas=decision.remind_after_slas,
        )
        return route

    def _record_plan(
        self,
        plan: PlanInput,
        route: RoutePlan,
        preview: RoutePreview,
        policy: Policy,
        terms: PurchaseTerms,
        at: datetime,
    ) -> None:
        request = plan.request
        with transaction(self._engine) as session:
            repository.keep_policy_version(session, version=policy.version, text=policy.text, at=at)
            # A renewal's term may have changed since `_plan_in_db` checked it: the closing
            # checks it again, so recording the plan never fails (and retries) over it.
            row = self.new_request_row(session, request, strict=not request.is_renewal)
            row.cost_center = preview.cost_center
            row.data_classification = request.data_classification
            row.policy_version = route.policy_version
            row.round = plan.round
            row.expands_asset_id = terms.expands_asset_id
            if plan.round == 1:
                row.status = RequestStatus.SUBMITTED
                repository.create_request(session, request=row)
            else:
                repository.update_request(
                    session,
                    request_id=request.request_id,
                    values={
                        "seats": row.seats,
                        "unit_price_cents": row.unit_price_cents,
                        "annual_cost_cents": row.annual_cost_cents,
                        "currency": row.currency,
                        "cost_center": row.cost_center,
                        "channel": row.channel,
                        "justification": row.justification,
                        "data_classification": row.data_classification,
                        "policy_version": route.policy_version,
                        "round": plan.round,
                        "expands_asset_id": row.expands_asset_id,
                        "changes_comment": None,
                        "status": RequestStatus.PENDING_APPROVAL,
                    },
                    at=at,
                )
            for step in route.steps:
                if step.approver_slack_id:
                    repository.link_slack_id(session, email=step.approver_email, slack_id=step.approver_slack_id)
            repository.audit(
                session,
                idem_key=keys.planned_audit_key(request.request_id, plan.round),
                at=at,
                request_id=request.request_id,
                entity="request",
                entity_id=request.request_id,
                action="submitted" if plan.round == 1 else "resubmitted",
                actor=request.requester_email,
                policy_version=route.policy_version,
                detail={
                    "product": row.product_name,
                    "seats": row.seats,
                    "annual_cost_cents": row.annual_cost_cents,
                    "currency": row.currency,
                    "cost_center": row.cost_center,
                    "channel": row.channel,
                    "data_classification": row.data_classification,
                    "outcome": route.outcome,
                    "route": [
                        {
                            "seq": s.seq,
                            "stage": s.stage,
                            "role": s.role,
                            "approver": s.approver_email,
                            "slack_id": s.approver_slack_id,
                        }
                        for s in route.steps
                    ],
                    "reasons": route.reasons,
                    "budget": budget_json(preview.budget),
                    "drawdown": drawdown_json(preview.drawdown),
                    "expires_at": route.expires_at,
                    "round": plan.round,
                    **renewal_plan_detail(session, request),
                    PRICE_KEY: price_json(terms.quote),
                    CONTRACT_KEY: contract_json(terms.contract),
                },
            )

    def _record_rejection(self, request: RequestInput, reason: str) -> None:
        with transaction(self._engine) as session:
            row = self.new_request_row(session, request, strict=False)
            row.status = RequestStatus.REJECTED
            row.decision_reason = reason
            row.data_classification = request.data_classification
            repository.create_request(session, request=row)
            repository.audit(
                session,
                idem_key=keys.rejected_audit_key(request.request_id),
                at=_now(),
                request_id=request.request_id,
                entity="request",
                entity_id=request.request_id,
                action="rejected",
                actor="policy",
                detail={"reason": reason},
            )

    def new_request_row(self, session: Session, request: RequestInput, *, strict: bool = True) -> PurchaseRequest:
        """The request's row, priced from the catalog or the requester's estimate. With `strict`,
        an unusable amount or seat count is refused (Rejected) instead of recorded as zero."""
        if request.is_renewal:
            return self._renewal_request_row(session, request, strict=strict)
        product = repository.get_product(session, product_id=request.product_id) if request.product_id else None
        requester = repository.get_person(session, email=request.requester_email)
        try:
            priced: Quote | None = self._quote(product, request)
        except RequestInputError as exc:
            if strict:
                raise Rejected(exc.message) from exc
            priced = None
        now = _now()
        return PurchaseRequest(
            id=request.request_id,
            workflow_id=f"request-{request.request_id}",
            requester_email=request.requester_email.strip().lower(),
            requester_slack_id=request.requester_slack_id,
            product_id=product.id if product else None,
            product_name=product.name if product else request.product_name,
            vendor=product.vendor if product else None,
            seats=request.seats,
            unit_price_cents=priced.unit_price_cents if priced else 0,
            annual_cost_cents=priced.annual_cost_cents if priced else 0,
            currency=priced.currency if priced else "USD",
            cost_center=(request.cost_center or (requester.cost_center if requester else None) or "unassigned"),
            channel=request.channel,
            justification=request.justification,
            needed_by=date.fromisoformat(request.needed_by) if request.needed_by else None,
            created_at=now,
            updated_at=now,
        )

    def _renewal_request_row(self, session: Session, request: RequestInput, *, strict: bool) -> PurchaseRequest:
        """A renewal request's row, priced from its contract (`workflows.request.activities.renewal_requests`)."""
        now = _now()
        conf = self._conf()
        row, refusal = renewal_request_row(
            session, request, as_of=self._local_date(now), calendar=conf.holiday_calendar(), now=now
        )
        if strict and refusal:
            raise Rejected(refusal)
        return row

    @staticmethod
    def _quote(product: Product | None, request: RequestInput) -> Quote:
        """The request's price: the catalog price, or a higher estimate (price precedence)."""
        price = (
            CatalogPrice(product.price_cents, product.currency, per_seat=product.seats_total is not None)
            if product is not None
            else None
        )
        return quote(price=price, seats=request.seats, estimate_cents=request.estimate_cents)

    @classmethod
    def _quote_or_none(cls, product: Product | None, request: RequestInput) -> Quote | None:
        try:
            return cls._quote(product, request)
        except RequestInputError:
            return None  # only a blocked product gets this far unpriced; the policy refuses it

    # --- steps ------------------------------------------------------------------------

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
        _, sent = await self._post_once(key, step.approver_slack_id, MessageKind.APPROVAL_REQUEST, shown, notes[key])
        if sent:
            posted[key] = shown

    def _step_times(self, at: datetime, step: RouteStepPlan, remind_slas: int, escalate_slas: int) -> StepTimes:
        remind_at = self._add_business_days(at, step.sla_business_days * max(remind_slas, 1))
        escalate_at = self._add_business_days(at, step.sla_business_days * max(escalate_slas, 1))
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
        await self._announce(opening.request_id, posted=posted, requester=notes[keys.requester_key(opening.request_id)])
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
        await self._announce(opening.request_id, posted=posted, requester=notes[keys.requester_key(opening.request_id)])
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
            seq=step.seq,
            role=step.role,
            approver_email=step.approver_email,
            approver_slack_id=step.approver_slack_id,
            stage=step.stage,
            round=round_,
            reasons=list(step.reasons),
            opened_at=at,
            sla_business_days=step.sla_business_days,
            remind_at=remind_at,
            escalate_at=escalate_at,
            assigned_because=(
                f"approved in an earlier round by {step.approver_name}" if step.carried_over else step.assigned_because
            ),
            delegate_email=step.delegate_email,
            delegate_slack_id=step.delegate_slack_id,
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
            key=keys.step_audit_key(rid, step.seq, "opened"),
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
    async def nudge_step(self, nudge: StepNudge) -> Escalated:
        """A reminder to the approver of a step waiting past its SLA, or its escalation to the
        approver's manager (or the policy's target); the requester is told either way."""
        at = datetime.fromisoformat(nudge.at)
        if nudge.kind == "reminder":
            summary = await asyncio.to_thread(self._mark_nudged, nudge, at)
            step = next(s for s in summary.steps if s.seq == nudge.seq)
            waiting = f"waiting since {step.opened_at:%a %d %b}" if step.opened_at else "waiting"
            await self._send_once(
                keys.reminder_key(nudge.request_id, nudge.seq),
                step.approver_slack_id,
                MessageKind.APPROVAL_REMINDER,
                dataclasses.replace(
                    summary, viewer_seq=nudge.seq, event=f"Reminder: this request is {waiting} for your decision."
                ),
            )
            await self._send_once(
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
            await self._send_once(key, escalated.approver_slack_id, MessageKind.APPROVAL_REQUEST, posted[key])
            event = f"{old_name} hasn't decided in time, so we escalated to {escalated.approver_name}."
        else:
            event = f"{old_name} hasn't decided in time and there is no one to escalate to; we reminded them again."
        await self._send_once(
            keys.nudge_requester_key(nudge.request_id, nudge.seq, "escalation"),
            summary.requester_slack_id,
            MessageKind.REQUESTER_NOTICE,
            dataclasses.replace(summary, event=event),
        )
        await self._announce(nudge.request_id, posted=posted)
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
                    key=keys.step_audit_key(nudge.request_id, nudge.seq, nudge.kind),
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
            policy = load_active_policy(self._conf())
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
                    on=self._local_date(at),
                    fallback_approvers=policy.fallback_approvers,
                )
                if approver is not None and requester is not None
                else None
            )
            if target is None or target.email == step.approver_email:
                audit_step(
                    session,
                    request_id=rid,
                    seq=nudge.seq,
                    key=keys.step_audit_key(rid, nudge.seq, "escalation"),
                    action="step_escalation_failed",
                    actor="workflow",
                    at=at,
                    detail={"approver": step.approver_email, "reason": "no one to escalate to"},
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
            audit_step(
                session,
                request_id=rid,
                seq=nudge.seq,
                key=keys.step_audit_key(rid, nudge.seq, "escalation"),
                action="step_escalated",
                actor="workflow",
                at=at,
                policy_version=request.policy_version,
                detail={"from": step.approver_email, "to": target.email, "target": nudge.escalation_target},
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
        await self._send_once(key, delegated.approver_slack_id, MessageKind.APPROVAL_REQUEST, shown)
        # The refresh that follows keeps the notice on the message just posted.
        await self._announce(record.request_id, posted={key: shown})
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
                key=keys.delegated_audit_key(rid, record.seq, record.to_slack_id),
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
                key=keys.delegation_refused_audit_key(rid, record.seq, record.to_slack_id, record.at),
                action="step_delegation_refused",
                actor=actor.email if actor else record.from_slack_id,
                at=at,
                detail={"to": target.email, "role": step.role, "approver": step.approver_email, "reason": refusal},
            )
            return refusal

    @activity.defn
    async def record_step(self, record: StepDecisionRecord) -> None:
        """Close a step with a decision (or as superseded / expired / withdrawn), audited with
        the policy version and the budget line as they are now, and update every message about
        the request in place."""
        await asyncio.to_thread(self._record_step, record)
        if record.announce:
            await self._announce(record.request_id)

    def _record_step(self, record: StepDecisionRecord) -> None:
        with transaction(self._engine) as session:
            self._record_step_in(session, record)

    def _record_step_in(self, session: Session, record: StepDecisionRecord) -> None:
        at = datetime.fromisoformat(record.at)
        rid = record.request_id
        actor = self._actor(session, record.actor_slack_id)
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
            key=keys.step_audit_key(rid, record.seq, record.action),
            action=f"step_{_STEP_STATUS[record.action].value}",
            actor=actor,
            at=at,
            policy_version=record.policy_version or (request.policy_version if request else None),
            detail={
                "reason": record.reason,
                "budget": self._budget_now(session, request) if request else None,
            },
        )

    def _actor(self, session: Session, slack_id: str | None) -> str:
        if not slack_id:
            return "system"
        person = repository.person_row_by_slack_id(session, slack_id=slack_id)
        return str(person.email) if person else slack_id

    def _budget_now(self, session: Session, request: PurchaseRequest) -> dict[str, Any]:
        fiscal_year = fiscal_year_of(self._local_date(request.created_at), self._conf().fiscal_year_start_month)
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
            summary = await self._announce(record.request_id)
        step = next((s for s in summary.steps if s.seq == record.seq), None)
        who = step.approver_name if step else "An approver"
        comment = truncate(" ".join((record.reason or "").split()), 500)
        event = (
            f"{who} asks you to change your request before deciding: “{comment}”. "
            "Use Edit request on your request's message: it goes back to approval from there."
        )
        await self._send_once(
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

    # --- progress and outcome ---------------------------------------------------------

    async def _announce(
        self,
        request_id: str,
        *,
        posted: Mapping[str, RequestSummary] | None = None,
        progress: Progress | None = None,
        requester: Noted | None = None,
    ) -> RequestSummary:
        """Update every message about the request in place, read fresh (or `progress`, read by
        the transaction that just closed the request); returns what was read. A message this
        activity has just posted (`posted`: key → what it showed) keeps its notice (`event`:
        "… delegated this approval to you") and is left alone when it already shows what it
        would be updated to. `requester`: the requester's message as noted by the activity's
        own transaction (see `note_or_ref`)."""
        if progress is None:
            progress = await asyncio.to_thread(self._progress, request_id)
        summary, refs = progress
        for key, ref in refs:
            seq = keys.step_of_key(key)
            if seq is not None:
                viewer = self._for_viewer(summary, key, seq)
                if posted and key in posted:
                    viewer = dataclasses.replace(viewer, event=posted[key].event)
                    if posted[key] == viewer:
                        continue
                await self._update(ref, MessageKind.APPROVAL_REQUEST, viewer)
            elif keys.is_changes_key(request_id, key):
                # The Edit button goes away once the request has moved on.
                await self._update(ref, MessageKind.CHANGES_REQUESTED, summary)
        await self._send_or_update(
            keys.requester_key(request_id), summary.requester_slack_id, MessageKind.REQUESTER_STATUS, summary, requester
        )
        return summary

    @staticmethod
    def _for_viewer(summary: RequestSummary, key: str, seq: int) -> RequestSummary:
        """An approver's message shows the buttons only while it is still theirs to decide."""
        slack_id = key.rsplit(":", 1)[-1]
        step = next((s for s in summary.steps if s.seq == seq), None)
        mine = step is not None and slack_id in (step.approver_slack_id, step.delegate_slack_id)
        return dataclasses.replace(summary, viewer_seq=seq if mine else None)

    def _progress(self, request_id: str) -> Progress:
        with transaction(self._engine, read_only=True) as session:
            return self._progress_in(session, request_id)

    @staticmethod
    def _progress_in(session: Session, request_id: str) -> Progress:
        """What every message about the request shows, and where the messages to update are."""
        summary = request_summary(session, request_id=request_id)
        refs = [
            (row.key, _ref(row))
            for row in repository.list_messages(session, request_id=request_id)
            if keys.is_approver_key(request_id, row.key) or keys.is_changes_key(request_id, row.key)
        ]
        return summary, refs

    @activity.defn
    async def record_chain_outcome(self, outcome: ChainOutcome) -> OutcomeResult:
        """Close the request. An approval reserves the budget and draws the cloud commitment
        exactly once and records the asset and its contract."""
        recorded = await asyncio.to_thread(self._record_chain_outcome, outcome)
        faults.crash_point("after_record_outcome")
        return recorded

    def _record_chain_outcome(self, outcome: ChainOutcome) -> OutcomeResult:
        with transaction(self._engine) as session:
            return self._record_outcome_in(session, outcome)

    def _record_outcome_in(self, session: Session, outcome: ChainOutcome) -> OutcomeResult:
        at = datetime.fromisoformat(outcome.decided_at)
        rid = outcome.request_id
        actor = self._actor(session, outcome.actor_slack_id) if outcome.actor_slack_id else "system"
        request = repository.set_request_status(
            session, request_id=rid, status=outcome.status, at=at, decided_by=actor, reason=outcome.reason
        )
        if request.renewal_contract_id is not None and outcome.status == RequestStatus.APPROVED:
            return self._record_renewal(session, outcome, request, at, actor)
        budget_before = self._budget_now(session, request)
        detail: dict[str, Any] = {"reason": outcome.reason, "budget": budget_before}
        result = OutcomeResult()
        # The company's day, not UTC's: 20:30 on Dec 31 in New York is still that year.
        today = self._local_date(at)
        expansion: Expansion | None = None
        if outcome.status == RequestStatus.APPROVED:
            contract = closing_contract(session, request=request, as_of=today)
            expansion = contract.expansion
            detail["contract"] = contract_json(contract)
            # Added seats co-termed with a running contract cost their prorated part.
            amount = expansion.proration.cents if expansion else request.annual_cost_cents
            fiscal_year = fiscal_year_of(today, self._conf().fiscal_year_start_month)
            policy = load_active_policy(self._conf())
            try:
                # Both conversions are checked before anything is written: the drawdown is
                # planned first, and the reservation refuses a missing rate before it writes.
                planned = self._planned_drawdown(session, request, at, policy, amount)
                reservation, _ = repository.reserve_budget(
                    session,
                    request_id=rid,
                    cost_center=request.cost_center,
                    fiscal_year=fiscal_year,
                    amount_cents=amount,
                    currency=request.currency,
                    at=at,
                    rates=policy.rates,
                    line_currency=policy.currency,
                )
            except BudgetError as error:
                return self._refuse_unconvertible(session, outcome, request, error, fiscal_year, at, detail)
            detail["reserved_cents"] = reservation.budget_cents
            detail["reserved_currency"] = reservation.budget_currency
            detail["budget_after"] = self._budget_now(session, request)
            drawn = self._draw_commitment(session, request, at, planned)
            if drawn is not None:
                detail["drawdown"] = drawn
        audit_outcome(session, outcome, request, action=outcome.status, actor=actor, at=at, detail=detail)
        if expansion is not None:
            result = self._expand_asset(session, request, expansion, at)
        elif outcome.status == RequestStatus.APPROVED:
            result = self._record_asset(session, request, at)
        return result

    def _record_renewal(
        self, session: Session, outcome: ChainOutcome, request: PurchaseRequest, at: datetime, actor: str
    ) -> OutcomeResult:
        """An approved renewal request records the renewal and reserves the increase over the
        current term, instead of an asset and a contract (`workflows.request.activities.renewal_requests`)."""
        conf = self._conf()
        return record_renewal(
            session,
            outcome=outcome,
            request=request,
            actor=actor,
            at=at,
            as_of=self._local_date(at),
            calendar=conf.holiday_calendar(),
            policy=load_active_policy(conf),
            fiscal_year_start_month=conf.fiscal_year_start_month,
        )

    def _refuse_unconvertible(
        self,
        session: Session,
        outcome: ChainOutcome,
        request: PurchaseRequest,
        error: BudgetError,
        fiscal_year: int,
        at: datetime,
        detail: dict[str, Any],
    ) -> OutcomeResult:
        """The approvers said yes, but the request's cost can't be put in its budget's (or its
        commitment's) currency: the policy has no rate for it any more. Nothing is reserved or
        bought; the request closes as rejected, and the reason tells the requester and ITAM
        what to fix. Retrying would not help until someone edits policy.yaml."""
        reason = unconvertible_reason(
            error,
            cost_center=request.cost_center,
            fiscal_year=fiscal_year,
            done="bought",
            again="submit the request again",
        )
        activity.logger.warning("request %s approved but not reserved: %s", outcome.request_id, error.message)
        return refuse_approved(
            session, outcome, request, reason=reason, action="budget_reservation_refused", at=at, detail=detail
        )

    def _planned_drawdown(
        self, session: Session, request: PurchaseRequest, at: datetime, policy: Policy, amount_cents: int
    ) -> Drawdown | None:
        """What the request would draw from its cloud's commitment, in the commitment's currency
        (None off the marketplaces); raises `BudgetError` when the conversion has no rate."""
        if not request.channel.endswith("_marketplace"):
            return None
        rows = repository.list_commitments(session)
        commitments = [
            Commitment(
                name=row.name,
                provider=row.provider,
                kind=row.kind,
                currency=row.currency,
                remaining_cents=row.remaining_cents,
                end_date=row.end_date,
                start_date=row.start_date,
            )
            for row in rows
        ]
        return drawdown(
            commitments,
            channel=request.channel,
            amount_cents=amount_cents,
            currency=request.currency,
            as_of=self._local_date(at),
            rates=policy.rates,
        )

    def _draw_commitment(
        self, session: Session, request: PurchaseRequest, at: datetime, planned: Drawdown | None
    ) -> dict[str, Any] | None:
        if planned is None or planned.commitment is None:
            return None
        drawn = repository.draw_commitment(
            session,
            request_id=request.id,
            commitment_name=planned.commitment.name,
            amount_cents=planned.amount_cents,
            at=at,
        )
        return {
            "commitment": planned.commitment.name,
            "amount_cents": drawn.amount_cents,
            "overflow_cents": drawn.overflow_cents,
        }

    def _record_asset(self, session: Session, request: PurchaseRequest, at: datetime) -> OutcomeResult:
        product = repository.get_product(session, product_id=request.product_id) if request.product_id else None
        term = (product.term_months if product and product.term_months else None) or DEFAULT_TERM_MONTHS
        start = self._local_date(at)
        asset, contract = repository.create_asset_for_request(
            session,
            request=request,
            start_date=start,
            term_months=term,
            auto_renew=product.auto_renew if product else True,
            notice_days=product.notice_days if product else 30,
            renewal_date=add_months(start, term),
            at=at,
        )
        repository.audit(
            session,
            idem_key=keys.asset_audit_key(request.id),
            at=at,
            request_id=request.id,
            entity="asset",
            entity_id=str(asset.id),
            action="asset_created",
            actor="workflow",
            detail={
                "product": asset.product_name,
                "seats": asset.seats,
                "renewal_date": contract.renewal_date.isoformat(),
            },
        )
        return OutcomeResult(asset.id, contract.renewal_date.isoformat())

    def _expand_asset(
        self, session: Session, request: PurchaseRequest, expansion: Expansion, at: datetime
    ) -> OutcomeResult:
        """The approved seats join the running contract: one contract, renewing on its date."""
        asset, _, _ = repository.expand_asset(
            session,
            asset_id=expansion.asset_id,
            request_id=request.id,
            seats=request.seats,
            annual_cents=expansion.annual_cents,
            holder_email=request.requester_email,
            at=at,
            detail=expansion_json(expansion),
        )
        return OutcomeResult(asset.id, expansion.proration.renewal_date.isoformat())

    @activity.defn
    async def announce_chain_outcome(self, request_id: str) -> None:
        """Update every message in place and tell the requester how it ended (once)."""
        await self._announce_outcome(request_id)

    async def _announce_outcome(
        self, request_id: str, progress: Progress | None = None, notes: Mapping[str, Noted] | None = None
    ) -> None:
        notes = notes or {}
        summary = await self._announce(
            request_id, progress=progress, requester=notes.get(keys.requester_key(request_id))
        )
        outcome = keys.outcome_key(request_id)
        await self._send_once(
            outcome, summary.requester_slack_id, MessageKind.OUTCOME_NOTICE, summary, notes.get(outcome)
        )

    @activity.defn
    async def close_chain(self, closing: ChainClosing) -> OutcomeResult:
        """Close the request in one activity: what `record_step` (for each record, without
        announcing), `record_chain_outcome` and `announce_chain_outcome` do one after another,
        with the records and the outcome in one transaction. It runs on the task queue, so a
        retry knows it is one and the notice goes out once; a retry after a crash between the
        transaction and the notice finds every row already there (keyed) and only announces.

        The messages show what that transaction read as it ended: the request is closed, so
        nothing can change it between the commit and the announcement (one read the fewer)."""
        recorded, progress, notes = await asyncio.to_thread(self._close_chain, closing)
        if recorded.route_grew:
            return recorded  # nothing closed: the workflow walks the steps the policy now asks for
        faults.crash_point("after_record_outcome")
        await self._announce_outcome(closing.outcome.request_id, progress, notes)
        return recorded

    def _close_chain(self, closing: ChainClosing) -> tuple[OutcomeResult, Progress | None, dict[str, Noted]]:
        """The records and the outcome in one transaction, which also notes the messages the
        announcement posts unless they were posted already (the requester's, the notice)."""
        rid = closing.outcome.request_id
        with transaction(self._engine) as session:
            for record in closing.records:
                self._record_step_in(session, record)
            if self._grew_at_close(session, closing):
                return OutcomeResult(route_grew=True), None, {}
            recorded = self._record_outcome_in(session, closing.outcome)
            noted = (keys.requester_key(rid), keys.outcome_key(rid))
            notes = {key: note_or_ref(session, key=key, request_id=rid) for key in noted}
            return recorded, self._progress_in(session, rid), notes

    def _grew_at_close(self, session: Session, closing: ChainClosing) -> bool:
        """Whether the policy, on the budget line as it is now, asks for a role this round has
        not approved. The line is locked first, so of two approvals closing at the same moment
        the second is checked against the first one's reservation: both cannot fit into the
        last of a budget. Asked only by workflows that re-check (`ChainClosing.recheck`), for an
        approval not recorded yet (a retry after the commit must not count itself twice)."""
        outcome = closing.outcome
        if not closing.recheck or closing.request is None or outcome.status != RequestStatus.APPROVED:
            return False
        row = repository.get_request(session, request_id=outcome.request_id)
        if row is None or row.status == RequestStatus.APPROVED:
            return False
        at = datetime.fromisoformat(outcome.decided_at)
        conf = self._conf()
        # A renewal request is charged to the year its term renews in (`budget_on`).
        day = row.renewal_date or self._local_date(at)
        fiscal_year = fiscal_year_of(day, conf.fiscal_year_start_month)
        repository.lock_budget_line(session, cost_center=row.cost_center, fiscal_year=fiscal_year)
        try:
            _, preview, _ = self._preview_in(session, closing.request, load_active_policy(conf), at)
        except Rejected:
            return False
        return any(s.step.role not in closing.roles for s in preview.route.steps)


def added_steps(route: RoutePlan, *, roles: list[str], first_seq: int, stage: int) -> list[RouteStepPlan]:
    """The steps of `route` (the policy's answer now) whose role is not among `roles` (the
    round's route so far), numbered from `first_seq` and placed in `stage`."""
    if route.outcome != "route":
        return []
    missing = [step for step in route.steps if step.role not in roles]
    return [
        dataclasses.replace(step, seq=first_seq + index, stage=stage, carried_over=False)
        for index, step in enumerate(missing)
    ]


def _ref(row: SlackMessage) -> MessageRef:
    return MessageRef(row.channel, row.ts)


def _nudge_kind(kind: str) -> Literal["reminder", "escalation"]:
    return "escalation" if kind == "escalation" else "reminder"


def _sentences(reasons: tuple[str, ...] | list[str]) -> str:
    """Policy reasons as sentences: "Blocked products are never bought. LastPass is blocked: …"."""
    parts = []
    for reason in reasons:
        text = reason.strip()
        if text:
            text = text[0].upper() + text[1:]
            parts.append(text if text[-1] in ".!?" else text + ".")
    return " ".join(parts)
