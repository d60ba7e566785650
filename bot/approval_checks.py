"""The bot's early answers about the approval chain that need the database: may this person
hand this step to that one, may this person edit this request, and what the edit modal shows.
The workflow's updates check again and have the last word."""

from __future__ import annotations

from bot.blocks.approvals import EditPrefill
from bot.deps import BotDeps
from catalog import repository
from catalog.db import transaction
from catalog.models import PurchaseRequest, RequestStatus
from catalog.projection import copy_fields
from catalog.routing import step_delegation_refusal


def delegation_problem(deps: BotDeps, *, request_id: str, seq: int | None, user_id: str, to: str) -> str | None:
    """The early answer to a delegation (`catalog.routing.step_delegation_refusal`): None when
    the step or the people are not known here; the workflow's delegation has the last word."""
    if seq is None:
        return None
    with transaction(deps.engine, read_only=True) as session:
        step = repository.get_step(session, request_id=request_id, seq=seq)
        target = repository.get_person_by_slack_id(session, slack_id=to)
        if step is None or target is None or step.approver_email == target.email:
            return None
        actor = repository.get_person_by_slack_id(session, slack_id=user_id)
        return step_delegation_refusal(
            session,
            role=step.role,
            approver_email=step.approver_email,
            actor_email=actor.email if actor else None,
            candidate_email=target.email,
        )


def edit_prefill(row: PurchaseRequest) -> EditPrefill:
    estimate = None
    if row.product_id is None and row.annual_cost_cents > 0:
        estimate = f"{row.annual_cost_cents // 100}.{row.annual_cost_cents % 100:02d}"
    return copy_fields(
        EditPrefill,
        row,
        request_id=row.id,
        # A renewal request is priced from its contract: its edit changes the seats, not a cost.
        in_catalog=row.product_id is not None or row.renewal_contract_id is not None,
        estimate=estimate,
    )


def edit_refusal(row: PurchaseRequest | None, user_id: str) -> str | None:
    if row is None:
        return "There is no such request."
    if row.requester_slack_id != user_id:
        return "Only the requester can edit this request."
    if row.status != RequestStatus.CHANGES_REQUESTED:
        return f"This request can't be edited now: it is {row.status.replace('_', ' ')}."
    return None


def read_request(deps: BotDeps, request_id: str) -> PurchaseRequest | None:
    with transaction(deps.engine, read_only=True) as session:
        return repository.get_request(session, request_id=request_id)
