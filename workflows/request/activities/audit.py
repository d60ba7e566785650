"""Audit rows about a request as a whole: entity "request", the request's id as its entity id."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from catalog import repository


def audit_request(session: Session, *, request_id: str, **event: Any) -> bool:
    """`repository.audit` of one event of request `request_id` (its `idem_key`, `at`, `action`,
    `actor`, `detail` …: once per `idem_key`)."""
    return repository.audit(session, request_id=request_id, entity="request", entity_id=request_id, **event)
