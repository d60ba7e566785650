"""The audit trail: one row per state change, keyed so a retry writes nothing new; refused
decisions; and the exact text of each policy a decision was made under."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from catalog.models import AuditEvent, PolicyVersion
from catalog.repository.keyed import insert_unless_present
from catalog.repository.statements import AUDIT_OF, AUDIT_OF_ACTIONS, AUDIT_ROW


def audit(
    session: Session,
    *,
    idem_key: str,
    at: datetime,
    entity: str,
    entity_id: str,
    action: str,
    actor: str,
    request_id: str | None = None,
    detail: dict[str, Any] | None = None,
    step_seq: int | None = None,
    policy_version: str | None = None,
) -> bool:
    """Append an audit row once per `idem_key` (a retried activity writes nothing new);
    returns whether this call wrote it.

    `step_seq` names the approval step a transition concerns and `policy_version` the policy
    it was decided under; a budget snapshot goes in `detail["budget"]`.

    One `INSERT … ON CONFLICT (idem_key) DO NOTHING`, on SQLite and PostgreSQL alike: every
    activity writes audit rows (seven per request), and the look-up, savepoint and ORM flush
    this used to take were 6.6 % of the worker's profile samples under load."""
    values: dict[str, Any] = {
        "idem_key": idem_key,
        "at": at,
        "request_id": request_id,
        "entity": entity,
        "entity_id": entity_id,
        "action": action,
        "actor": actor,
        "detail": detail or {},
        "step_seq": step_seq,
        "policy_version": policy_version,
    }
    return insert_unless_present(session, AuditEvent, "idem_key", values, lambda: get_audit(session, idem_key=idem_key))


def get_audit(session: Session, *, idem_key: str) -> AuditEvent | None:
    """The audit row written under `idem_key`, if any."""
    return session.exec(AUDIT_ROW, params={"idem_key": idem_key}).first()


def list_audit(session: Session, *, request_id: str, actions: Sequence[str] = ()) -> Sequence[AuditEvent]:
    """The request's audit rows in order; only those of `actions`, when given."""
    if actions:
        return session.exec(AUDIT_OF_ACTIONS, params={"request_id": request_id, "actions": list(actions)}).all()
    return session.exec(AUDIT_OF, params={"request_id": request_id}).all()


def audit_refusal(
    session: Session,
    *,
    at: datetime,
    request_id: str,
    actor_slack_id: str,
    action: str,
    reason: str,
    event_key: str,
) -> bool:
    """Record a decision the system refused (wrong person, the requester, a closed step, a
    tampered button). `event_key` identifies the click, so a redelivered payload audits once.
    Values come from a Slack payload: they are cut to the column sizes, never trusted."""
    safe_request_id = request_id[:32]
    return audit(
        session,
        idem_key=f"refused:{event_key}"[:200],
        at=at,
        request_id=safe_request_id or None,
        entity="decision",
        entity_id=safe_request_id or "-",
        action="decision_refused",
        actor=actor_slack_id[:320],
        detail={"attempted": action[:32], "reason": reason[:500]},
    )


def keep_policy_version(session: Session, *, version: str, text: str, at: datetime) -> bool:
    """Keep the exact text of a policy the first time a decision uses it; returns whether this
    call stored it. One statement, whether or not it is there already (every request asks)."""
    values = {"version": version, "text": text, "first_seen": at}
    return insert_unless_present(session, PolicyVersion, "version", values, lambda: session.get(PolicyVersion, version))


def record_policy_version(session: Session, *, version: str, text: str, at: datetime) -> PolicyVersion:
    """`keep_policy_version`, returning the stored row."""
    keep_policy_version(session, version=version, text=text, at=at)
    stored = session.get(PolicyVersion, version)
    assert stored is not None
    return stored


def get_policy_version(session: Session, *, version: str) -> PolicyVersion | None:
    return session.get(PolicyVersion, version)


# --- what an audit row's detail holds -----------------------------------------------------


def jsonable(value: Any) -> Any:
    """A column value as an audit row's JSON detail holds it (dates as ISO text)."""
    return value.isoformat() if isinstance(value, date) else value


def changes_of(row: Any, wanted: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The fields of `wanted` whose value differs from `row`'s: name → (before, after)."""
    return {name: (getattr(row, name), value) for name, value in wanted.items() if getattr(row, name) != value}


def change_detail(changes: Mapping[str, tuple[Any, Any]]) -> dict[str, Any]:
    """An audit detail of `changes`: the values before and after, by field name."""
    return {
        "before": {name: jsonable(old) for name, (old, _) in sorted(changes.items())},
        "after": {name: jsonable(new) for name, (_, new) in sorted(changes.items())},
    }


def detail_key(detail: Mapping[str, Any]) -> str:
    """A short digest of an audit detail, for the idempotency key of an import or an edit: the
    same change at the same time audits once."""
    return hashlib.sha256(json.dumps(detail, sort_keys=True).encode()).hexdigest()[:16]


def change_key(changes: Mapping[str, tuple[Any, Any]]) -> str:
    return detail_key(change_detail(changes))


def audit_import(
    session: Session, *, entity: str, name: str, created: bool, detail: dict[str, Any], actor: str, at: datetime
) -> bool:
    """Audit a row an import created (`<entity>_imported`) or changed (`<entity>_updated`),
    keyed by a digest of `detail` so the same import at the same time audits once."""
    return audit(
        session,
        idem_key=f"{entity}:{name}:import:{at.isoformat()}:{detail_key(detail)}"[:200],
        at=at,
        entity=entity,
        entity_id=name[:64],
        action=f"{entity}_imported" if created else f"{entity}_updated",
        actor=actor,
        detail=detail,
    )


#: The actor of the rows the renewal scheduler writes about its own work.
RENEWALS = "renewals"


def audit_renewals(
    session: Session, key: str, entity: str, entity_id: str, action: str, at: datetime, detail: dict[str, Any]
) -> None:
    """The renewal scheduler's own audit row about `entity` `entity_id`, once per `key`."""
    audit(
        session, idem_key=key, at=at, entity=entity, entity_id=entity_id, action=action, actor=RENEWALS, detail=detail
    )
