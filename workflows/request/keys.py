"""Every key the request's activities write: the keys of its Slack messages (a message is
posted once per key, then updated in place) and the idempotency keys of its audit rows (a
retried activity writes each row once).

The strings are stored (`slack_message.key`, `audit_event.idem_key`) and recorded activity
results depend on them, so each function returns exactly the string the activities built
inline before this module existed, cuts included: a message key is cut at 160 characters and
an audit key at 200, the widths of their columns (only the keys that carry an email address
can reach them). Change none of them without migrating the rows."""

from __future__ import annotations

#: Widths of `SlackMessage.key` and `AuditEvent.idem_key`: the keys that carry free text are cut.
MESSAGE_KEY_WIDTH = 160
AUDIT_KEY_WIDTH = 200


# --- Slack messages ---------------------------------------------------------------------------


def requester_key(request_id: str) -> str:
    """The requester's message that follows the request."""
    return f"{request_id}:requester"


def outcome_key(request_id: str) -> str:
    """The notice that tells the requester how the request ended."""
    return f"{request_id}:outcome"


def approver_key(request_id: str, seq: int, slack_id: str) -> str:
    """The approval DM of one step to one person (a step reassigned by delegation or
    escalation gets a DM to its new approver; the old one is updated in place)."""
    return f"{request_id}:step{seq}:approver:{slack_id}"


def single_approver_key(request_id: str, seq: int) -> str:
    """The approval DM of a request from before the approval chain (one approver, step 1)."""
    return f"{request_id}:step{seq}:approver"


def step_of_key(key: str) -> int | None:
    """The step seq of an `approver_key`, or None for any other key."""
    parts = key.split(":")
    if len(parts) != 4 or not parts[1].startswith("step"):
        return None
    try:
        return int(parts[1][4:])
    except ValueError:
        return None


def is_approver_key(request_id: str, key: str) -> bool:
    return key.startswith(f"{request_id}:step") and ":approver:" in key


def is_changes_key(request_id: str, key: str) -> bool:
    """A "changes requested" message with an Edit button (as older versions posted them)."""
    return key.startswith(f"{request_id}:changes")


def reminder_key(request_id: str, seq: int) -> str:
    """The reminder DM to a step's approver."""
    return f"{request_id}:step{seq}:reminder"


def nudge_requester_key(request_id: str, seq: int, kind: str) -> str:
    """The notice to the requester that a step was reminded or escalated (`kind`)."""
    return f"{request_id}:step{seq}:{kind}:requester"


def changes_notice_key(request_id: str, seq: int) -> str:
    """The notice to the requester that step `seq` asks for changes."""
    return f"{request_id}:notice:changes{seq}"


def reuse_offer_key(request_id: str, round_: int) -> str:
    """The reuse offer of one round: its message, and the audit row of the assessment."""
    return f"{request_id}:reuse{round_}"


def _reclaim_key(request_id: str, round_: int, what: str) -> str:
    """A key of one reclaim round: the question to a holder and its answer are both keyed by
    the holder's email (each cut to its own column), the round's asking by "asked"."""
    return f"{request_id}:reclaim{round_}:{what}"


def reclaim_ask_key(request_id: str, round_: int, email: str) -> str:
    """The question to one idle seat holder."""
    return _reclaim_key(request_id, round_, email)[:MESSAGE_KEY_WIDTH]


def seat_granted_key(request_id: str) -> str:
    """The requester's notice that a seat from the pool is theirs."""
    return f"{request_id}:granted"


def seat_owner_key(request_id: str) -> str:
    """The product owner's notice of a seat granted from the pool."""
    return f"{request_id}:owner"


# --- audit rows -------------------------------------------------------------------------------


def step_entity_id(request_id: str, seq: int) -> str:
    """The `entity_id` of an approval step's audit rows."""
    return f"{request_id}:{seq}"


def submitted_audit_key(request_id: str) -> str:
    return f"{request_id}:submitted"


def planned_audit_key(request_id: str, round_: int) -> str:
    return f"{request_id}:planned:{round_}"


def rejected_audit_key(request_id: str) -> str:
    return f"{request_id}:rejected"


def route_grew_audit_key(request_id: str, round_: int, first_seq: int) -> str:
    return f"{request_id}:route_grew:{round_}:{first_seq}"


def step_audit_key(request_id: str, seq: int, event: str) -> str:
    """One event of a step: opened, reminder, escalation, or its decision (approved, denied,
    changes_requested, expired, withdrawn, superseded)."""
    return f"{request_id}:step{seq}:{event}"


def delegated_audit_key(request_id: str, seq: int, to_slack_id: str) -> str:
    return f"{request_id}:step{seq}:delegated:{to_slack_id}"


def delegation_refused_audit_key(request_id: str, seq: int, to_slack_id: str, at: str) -> str:
    return f"{request_id}:step{seq}:delegation_refused:{to_slack_id}:{at}"


def outcome_audit_key(request_id: str, status: str) -> str:
    return f"{request_id}:outcome:{status}"


def asset_audit_key(request_id: str) -> str:
    return f"{request_id}:asset"


def renewal_recorded_audit_key(request_id: str) -> str:
    return f"{request_id}:renewal_recorded"


def reuse_choice_audit_key(request_id: str, round_: int) -> str:
    """The requester's answer to the round's reuse offer: the offer's key, then "choice"."""
    return reuse_offer_key(request_id, round_) + ":choice"


def reclaim_asked_audit_key(request_id: str, round_: int) -> str:
    return _reclaim_key(request_id, round_, "asked")


def reclaim_settled_audit_key(request_id: str, round_: int, email: str) -> str:
    """One holder's answer (or silence) to a reclaim question."""
    return _reclaim_key(request_id, round_, email)[:AUDIT_KEY_WIDTH]


def pool_seat_audit_key(request_id: str) -> str:
    return f"{request_id}:pool_seat"


def undeliverable_audit_key(request_id: str, what: str, error: str) -> str:
    """A message Slack refused for good (`what`: which message, `error`: Slack's code)."""
    return f"{request_id}:undeliverable:{what}:{error}"[:AUDIT_KEY_WIDTH]
