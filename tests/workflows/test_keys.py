"""The message and audit keys are stored in rows that exist today (`slack_message.key`,
`audit_event.idem_key`): each function must return exactly the string the activities built
before `workflows.request.keys` existed, cuts included."""

from __future__ import annotations

from workflows.request import keys

LONG = "x" * 300 + "@example.com"


def test_message_keys_are_the_stored_strings() -> None:
    assert keys.requester_key("R1") == "R1:requester"
    assert keys.outcome_key("R1") == "R1:outcome"
    assert keys.approver_key("R1", 2, "U0FIN") == "R1:step2:approver:U0FIN"
    assert keys.single_approver_key("R1", 1) == "R1:step1:approver"
    assert keys.reminder_key("R1", 2) == "R1:step2:reminder"
    assert keys.nudge_requester_key("R1", 2, "escalation") == "R1:step2:escalation:requester"
    assert keys.changes_notice_key("R1", 3) == "R1:notice:changes3"
    assert keys.reuse_offer_key("R1", 2) == "R1:reuse2"
    assert keys.reclaim_ask_key("R1", 1, "a@b.c") == "R1:reclaim1:a@b.c"
    assert keys.seat_granted_key("R1") == "R1:granted"
    assert keys.seat_owner_key("R1") == "R1:owner"


def test_audit_keys_are_the_stored_strings() -> None:
    assert keys.step_entity_id("R1", 2) == "R1:2"
    assert keys.submitted_audit_key("R1") == "R1:submitted"
    assert keys.planned_audit_key("R1", 2) == "R1:planned:2"
    assert keys.rejected_audit_key("R1") == "R1:rejected"
    assert keys.route_grew_audit_key("R1", 1, 4) == "R1:route_grew:1:4"
    assert keys.step_audit_key("R1", 2, "opened") == "R1:step2:opened"
    assert keys.delegated_audit_key("R1", 2, "U0VP") == "R1:step2:delegated:U0VP"
    at = "2026-12-04T09:00:00+00:00"
    assert keys.delegation_refused_audit_key("R1", 2, "U0VP", at) == f"R1:step2:delegation_refused:U0VP:{at}"
    assert keys.outcome_audit_key("R1", "approved") == "R1:outcome:approved"
    assert keys.asset_audit_key("R1") == "R1:asset"
    assert keys.renewal_recorded_audit_key("R1") == "R1:renewal_recorded"
    assert keys.reuse_choice_audit_key("R1", 1) == "R1:reuse1:choice"
    assert keys.reclaim_asked_audit_key("R1", 1) == "R1:reclaim1:asked"
    assert keys.reclaim_settled_audit_key("R1", 1, "a@b.c") == "R1:reclaim1:a@b.c"
    assert keys.pool_seat_audit_key("R1") == "R1:pool_seat"
    assert keys.undeliverable_audit_key("R1", "outcome", "channel_not_found") == (
        "R1:undeliverable:outcome:channel_not_found"
    )


def test_keys_carrying_free_text_are_cut_to_their_columns() -> None:
    assert keys.reclaim_ask_key("R1", 1, LONG) == f"R1:reclaim1:{LONG}"[:160]
    assert keys.reclaim_settled_audit_key("R1", 1, LONG) == f"R1:reclaim1:{LONG}"[:200]
    assert len(keys.undeliverable_audit_key("R1", LONG, "e")) == 200


def test_the_step_of_an_approver_key() -> None:
    assert keys.step_of_key(keys.approver_key("R1", 12, "U0FIN")) == 12
    assert keys.step_of_key(keys.requester_key("R1")) is None
    assert keys.step_of_key("R1:stepx:approver:U0FIN") is None
    assert keys.is_approver_key("R1", "R1:step2:approver:U0FIN")
    assert not keys.is_approver_key("R1", "R1:step2:reminder")
