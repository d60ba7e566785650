"""Activities that close a request: record how the approval chain ended, reserve the budget and
record the asset and its contract exactly once, and tell everyone (`close_chain`; before
CLOSING_PATCH, `record_chain_outcome` and `announce_chain_outcome`).

Idempotent: reservations and drawdowns by request id, audit rows by the keys in
workflows/request/keys.py."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session
from temporalio import activity

from catalog import repository
from catalog.db import transaction
from catalog.models import PurchaseRequest, RequestStatus
from catalog.ports import (
    MessageKind,
)
from catalog.projection import copy_fields
from catalog.routing import (
    load_active_policy,
)
from catalog.rules.budget import BudgetError, Commitment, Drawdown, drawdown, fiscal_year_of
from catalog.rules.expansion import Expansion
from catalog.rules.policy import Policy
from catalog.rules.renewals import add_months
from workflows import faults
from workflows.request import keys
from workflows.request.activities.messaging import (
    ActivityConcern,
    Messenger,
    Noted,
    Progress,
    note_or_ref,
)
from workflows.request.activities.outcomes import audit_outcome, refuse_approved, unconvertible_reason
from workflows.request.activities.purchase_terms import (
    closing_contract,
    contract_json,
    expansion_json,
)
from workflows.request.activities.renewal_requests import record_renewal
from workflows.request.activities.route import DEFAULT_TERM_MONTHS, Rejected, RouteActivities
from workflows.request.activities.steps import StepActivities
from workflows.request.types import (
    ChainClosing,
    ChainOutcome,
    OutcomeResult,
)


class ClosingActivities(ActivityConcern):
    def __init__(self, messenger: Messenger, route: RouteActivities, steps: StepActivities) -> None:
        super().__init__(messenger)
        self._route = route
        self._steps = steps

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
        actor = self._steps.actor(session, outcome.actor_slack_id) if outcome.actor_slack_id else "system"
        request = repository.set_request_status(
            session, request_id=rid, status=outcome.status, at=at, decided_by=actor, reason=outcome.reason
        )
        if request.renewal_contract_id is not None and outcome.status == RequestStatus.APPROVED:
            return self._record_renewal(session, outcome, request, at, actor)
        budget_before = self._steps.budget_now(session, request)
        detail: dict[str, Any] = {"reason": outcome.reason, "budget": budget_before}
        result = OutcomeResult()
        # The company's day, not UTC's: 20:30 on Dec 31 in New York is still that year.
        today = self._messenger.local_date(at)
        expansion: Expansion | None = None
        if outcome.status == RequestStatus.APPROVED:
            contract = closing_contract(session, request=request, as_of=today)
            expansion = contract.expansion
            detail["contract"] = contract_json(contract)
            # Added seats co-termed with a running contract cost their prorated part.
            amount = expansion.proration.cents if expansion else request.annual_cost_cents
            fiscal_year = fiscal_year_of(today, self._messenger.conf().fiscal_year_start_month)
            policy = load_active_policy(self._messenger.conf())
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
            detail["budget_after"] = self._steps.budget_now(session, request)
            drawn = self._draw_commitment(session, request, at, planned)
            if drawn is not None:
                detail["drawdown"] = drawn
        audit_outcome(session, outcome, request, action=outcome.status, actor=actor, at=at, detail=detail)
        if expansion is not None:
            result = self._expand_asset(session, request, expansion, at)
        elif outcome.status == RequestStatus.APPROVED:
            result = self.record_asset(session, request, at)
        return result

    def _record_renewal(
        self, session: Session, outcome: ChainOutcome, request: PurchaseRequest, at: datetime, actor: str
    ) -> OutcomeResult:
        """An approved renewal request records the renewal and reserves the increase over the
        current term, instead of an asset and a contract (`workflows.request.activities.renewal_requests`)."""
        conf = self._messenger.conf()
        return record_renewal(
            session,
            outcome=outcome,
            request=request,
            actor=actor,
            at=at,
            as_of=self._messenger.local_date(at),
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
        commitments = [copy_fields(Commitment, row) for row in rows]
        return drawdown(
            commitments,
            channel=request.channel,
            amount_cents=amount_cents,
            currency=request.currency,
            as_of=self._messenger.local_date(at),
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

    def record_asset(self, session: Session, request: PurchaseRequest, at: datetime) -> OutcomeResult:
        product = repository.get_product(session, product_id=request.product_id) if request.product_id else None
        term = (product.term_months if product and product.term_months else None) or DEFAULT_TERM_MONTHS
        start = self._messenger.local_date(at)
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
        summary = await self._messenger.announce(
            request_id, progress=progress, requester=notes.get(keys.requester_key(request_id))
        )
        outcome = keys.outcome_key(request_id)
        await self._messenger.send_once(
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
                self._steps.record_step_in(session, record)
            if self._grew_at_close(session, closing):
                return OutcomeResult(route_grew=True), None, {}
            recorded = self._record_outcome_in(session, closing.outcome)
            noted = (keys.requester_key(rid), keys.outcome_key(rid))
            notes = {key: note_or_ref(session, key=key, request_id=rid) for key in noted}
            return recorded, self._messenger.progress_in(session, rid), notes

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
        conf = self._messenger.conf()
        # A renewal request is charged to the year its term renews in (`budget_on`).
        day = row.renewal_date or self._messenger.local_date(at)
        fiscal_year = fiscal_year_of(day, conf.fiscal_year_start_month)
        repository.lock_budget_line(session, cost_center=row.cost_center, fiscal_year=fiscal_year)
        try:
            _, preview, _ = self._route.preview_in(session, closing.request, load_active_policy(conf), at)
        except Rejected:
            return False
        return any(s.step.role not in closing.roles for s in preview.route.steps)
