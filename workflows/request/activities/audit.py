"""Audit rows about a request, by what they are about: the request as a whole (entity
"request", the request's id as its entity id), one of its approval steps, or a seat."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from catalog import repository
from catalog.models import PurchaseRequest
from workflows.request import keys


def audit_request(session: Session, *, request_id: str, **event: Any) -> bool:
    """`repository.audit` of one event of request `request_id` (its `idem_key`, `at`, `action`,
    `actor`, `detail` …: once per `idem_key`)."""
    return repository.audit(session, request_id=request_id, entity="request", entity_id=request_id, **event)


def audit_step(session: Session, *, request_id: str, seq: int, **event: Any) -> bool:
    """`repository.audit` of one event of approval step `seq` of request `request_id` (its
    `idem_key`, `at`, `action`, `actor`, `detail`, `policy_version` …: once per `idem_key`)."""
    entity_id = keys.step_entity_id(request_id, seq)
    return repository.audit(
        session, request_id=request_id, entity="approval_step", entity_id=entity_id, step_seq=seq, **event
    )


def audit_seat(session: Session, *, request_id: str, seat: str, **event: Any) -> bool:
    """`repository.audit` of one event about a seat for request `request_id` (`seat`: the
    product's id, or the asset the seat is on; `idem_key`, `at`, `action`, `actor`, `detail` …)."""
    return repository.audit(session, request_id=request_id, entity="seat", entity_id=seat, **event)


def purchase_json(row: PurchaseRequest, **more: Any) -> dict[str, Any]:
    """What a request's submission rows say it buys (the product, the seats and the annual
    cost), then `more`."""
    return {
        "product": row.product_name,
        "seats": row.seats,
        "annual_cost_cents": row.annual_cost_cents,
        "currency": row.currency,
        **more,
    }
