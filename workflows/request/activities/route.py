"""Activities that plan a request's approval route from policy.yaml (`plan_route`) and check it
again as a stage opens (`recheck_route`); the request row, priced, is built here too.

Idempotent: the plan's audit row is keyed by request and round (workflows/request/keys.py).

Over 400 lines: the route is planned for the request row as priced (`new_request_row`), so the
row's pricing and the plan that reads it stay in one place."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, datetime

from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from catalog import repository
from catalog.db import transaction
from catalog.models import Product, ProductStatus, PurchaseRequest, RequestStatus
from catalog.projection import copy_fields
from catalog.routing import (
    RoutePreview,
    RouteRejected,
    budget_json,
    drawdown_json,
    load_active_policy,
    preview_route,
    route_request_of,
)
from catalog.rules.policy import Policy
from catalog.rules.requests import CatalogPrice, Quote, RequestInputError, quote
from catalog.text import role_phrase
from workflows.request import keys
from workflows.request.activities.audit import audit_request, purchase_json
from workflows.request.activities.messaging import (
    ActivityConcern,
    _now,
)
from workflows.request.activities.purchase_terms import (
    CONTRACT_KEY,
    PRICE_KEY,
    PurchaseTerms,
    contract_json,
    fields_json,
    plan_contract,
    price_json,
)
from workflows.request.activities.renewal_requests import new_request_row, renewal_plan_detail, renewal_request_row
from workflows.request.types import (
    REQUEST_REJECTED,
    PlanInput,
    RecheckInput,
    RecheckResult,
    RequestInput,
    RoutePlan,
    RouteStepPlan,
)

DEFAULT_TERM_MONTHS = 12
# What a resubmission (the next round) writes again from the new plan's row: every editable
# field but the ones it sets itself (status, the cleared comment) and `needed_by`, left as it was.
_RESUBMITTED_FIELDS = tuple(sorted(repository.EDITABLE_REQUEST_FIELDS - {"needed_by", "changes_comment", "status"}))


class Rejected(Exception):
    """A business rule refuses the request; `reason` is told to the requester as it is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RouteActivities(ActivityConcern):
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
                await asyncio.to_thread(self.record_rejection, request, rejected.reason)
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
            audit_request(
                session,
                idem_key=keys.route_grew_audit_key(rid, check.round, check.first_seq),
                at=at,
                request_id=rid,
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
        policy = load_active_policy(self._messenger.conf())
        with transaction(self._engine, read_only=True) as session:
            row, preview, terms = self.preview_in(session, request, policy, at)
        return self._route_from(plan, row, preview, at), preview, policy, terms

    def preview_in(
        self, session: Session, request: RequestInput, policy: Policy, at: datetime
    ) -> tuple[PurchaseRequest, RoutePreview, PurchaseTerms]:
        """The request checked against the directory, the catalog, the budget and the policy as
        `session` sees them. Raises `Rejected`."""
        conf = self._messenger.conf()
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
        on = self._messenger.local_date(at)
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
        # The outcome and the escalation settings as the policy decided them.
        route = copy_fields(
            RoutePlan,
            decision,
            request_id=request.request_id,
            steps=steps if decision.outcome == "route" else [],
            reasons=list(decision.reasons),
            policy_version=decision.version,
            expires_at=self._messenger.add_business_days(at, decision.expiry_business_days).isoformat(),
            annual_cost_cents=row.annual_cost_cents,
            round=plan.round,
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
                        **fields_json(row, _RESUBMITTED_FIELDS),
                        "changes_comment": None,
                        "status": RequestStatus.PENDING_APPROVAL,
                    },
                    at=at,
                )
            for step in route.steps:
                if step.approver_slack_id:
                    repository.link_slack_id(session, email=step.approver_email, slack_id=step.approver_slack_id)
            audit_request(
                session,
                idem_key=keys.planned_audit_key(request.request_id, plan.round),
                at=at,
                request_id=request.request_id,
                action="submitted" if plan.round == 1 else "resubmitted",
                actor=request.requester_email,
                policy_version=route.policy_version,
                detail={
                    **purchase_json(row),
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

    def record_rejection(self, request: RequestInput, reason: str) -> None:
        with transaction(self._engine) as session:
            row = self.new_request_row(session, request, strict=False)
            row.status = RequestStatus.REJECTED
            row.decision_reason = reason
            row.data_classification = request.data_classification
            repository.create_request(session, request=row)
            audit_request(
                session,
                idem_key=keys.rejected_audit_key(request.request_id),
                at=_now(),
                request_id=request.request_id,
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
        return new_request_row(
            request,
            now,
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
        )

    def _renewal_request_row(self, session: Session, request: RequestInput, *, strict: bool) -> PurchaseRequest:
        """A renewal request's row, priced from its contract (`workflows.request.activities.renewal_requests`)."""
        now = _now()
        conf = self._messenger.conf()
        row, refusal = renewal_request_row(
            session, request, as_of=self._messenger.local_date(now), calendar=conf.holiday_calendar(), now=now
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


def _sentences(reasons: tuple[str, ...] | list[str]) -> str:
    """Policy reasons as sentences: "Blocked products are never bought. LastPass is blocked: …"."""
    parts = []
    for reason in reasons:
        text = reason.strip()
        if text:
            text = text[0].upper() + text[1:]
            parts.append(text if text[-1] in ".!?" else text + ".")
    return " ".join(parts)
