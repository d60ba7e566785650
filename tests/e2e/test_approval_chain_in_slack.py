"""The whole approval chain through the real Bolt app and the Slack simulator (signed
payloads both ways), on Temporal's time-skipping server as the test clock: a 24,000 USD
marketplace purchase needs the manager, then finance, then FinOps. Finance doesn't answer:
the clock moves two business days and Fiona is reminded, two more and the step escalates to
her manager, who approves; FinOps sees the AWS commitment drawdown and approves. One asset,
one budget reservation, one commitment drawdown, everything audited."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from bot import ids
from bot.payloads import parse_step_value
from catalog import repository
from catalog.db import transaction
from tests.helpers import eventually
from tests.security.stack import Stack, find_button, request_values, seeded_sqlite, serve_stack

EMPLOYEE, MANAGER, FINANCE, FINOPS, VP = "U0EMPLOYEE", "U0MANAGER", "U0FINANCE", "U0FINOPS", "U0VP"
SECURITY = "U0SECURITY"


@pytest.fixture
async def chain_stack(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path, reference_dir: Path
) -> AsyncIterator[tuple[Stack, WorkflowEnvironment]]:
    engine = seeded_sqlite(tmp_path / "procure.db")
    async with serve_stack(time_skipping_env.client, engine, reference_dir) as stack:
        yield stack, time_skipping_env
    engine.dispose()


async def _message_with(stack: Stack, user: str, action_id: str, text: str) -> dict[str, Any]:
    """The newest bot message to `user` that has the button and mentions `text`."""
    found: dict[str, Any] = {}

    async def arrived() -> bool:
        for message in reversed(await stack.bot_messages(user)):
            if find_button(message, action_id) and text in json.dumps(message["blocks"]):
                found.clear()
                found.update(message)
                return True
        return False

    await eventually(arrived, 30, f"a message to {user} with {action_id}")
    return found


async def _click(stack: Stack, user: str, message: dict[str, Any], action_id: str) -> None:
    await stack.do("/sim/action", user=user, message_ts=message["ts"], action_id=action_id)


async def _skip_to(env: WorkflowEnvironment, when: datetime) -> None:
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    now = await env.get_current_time()
    if when > now:
        await env.sleep(when - now + timedelta(minutes=1))


def _step(engine: Engine, request_id: str, role: str) -> Any:
    with transaction(engine) as session:
        return next(s for s in repository.list_steps(session, request_id=request_id) if s.role == role)


async def test_manager_finance_finops_with_reminder_and_escalation_on_a_test_clock(
    chain_stack: tuple[Stack, WorkflowEnvironment],
) -> None:
    stack, env = chain_stack
    modal = await stack.open_modal(EMPLOYEE, f"1password {uuid.uuid4().hex[:4]}")
    values = request_values("1password", justification="Company-wide password manager")
    values[ids.B_CHANNEL][ids.A_CHANNEL]["selected_option"] = {
        "text": {"type": "plain_text", "text": "AWS Marketplace"},
        "value": "aws_marketplace",
    }
    await stack.do("/sim/submit", user=EMPLOYEE, view_id=modal["id"], values=values)

    # 1. The manager approves in his DM.
    manager_dm = await _message_with(stack, MANAGER, ids.APPROVE, "1Password")
    request_id, seq = parse_step_value(find_button(manager_dm, ids.APPROVE)["value"])  # type: ignore[index]
    assert seq is not None
    blocks = json.dumps(manager_dm["blocks"])
    assert "CC-DESIGN" in blocks and "AWS" in blocks  # the budget line and the drawdown are shown
    for action in (ids.DENY, ids.REQUEST_CHANGES, ids.DELEGATE):
        assert find_button(manager_dm, action) is not None
    # The requester can't approve their own request, even by replaying the manager's button.
    forged = await stack.click(EMPLOYEE, manager_dm, ids.APPROVE, f"{request_id}|{seq}")
    assert forged.status_code == 200
    await _click(stack, MANAGER, manager_dm, ids.APPROVE)

    # 2. Finance is asked and doesn't answer: reminded after one SLA, escalated after two.
    finance_dm = await _message_with(stack, FINANCE, ids.APPROVE, request_id)
    finance = _step(stack.engine, request_id, "finance")
    await _skip_to(env, finance.remind_at)

    async def reminded() -> bool:
        texts = [m["text"] for m in await stack.bot_messages(FINANCE)]
        return any("Reminder" in t or "reminder" in t for t in texts) and len(texts) >= 2

    await eventually(reminded, 30, "the reminder to finance")
    await _skip_to(env, finance.escalate_at)
    escalated = await _message_with(stack, VP, ids.APPROVE, request_id)
    assert "escalated" in json.dumps(escalated["blocks"]).lower()  # why Vera is asked

    async def requester_told() -> bool:
        return any("escalated" in json.dumps(m).lower() for m in await stack.bot_messages(EMPLOYEE))

    await eventually(requester_told, 30, "the requester hearing of the escalation")
    await _click(stack, VP, escalated, ids.APPROVE)

    # Fiona's original DM updates in place: no buttons left to click.
    async def finance_updated() -> bool:
        message = next(m for m in await stack.bot_messages(FINANCE) if m["ts"] == finance_dm["ts"])
        return find_button(message, ids.APPROVE) is None

    await eventually(finance_updated, 30, "finance's DM updated in place")

    # 3. FinOps sees the commitment drawdown and approves.
    finops_dm = await _message_with(stack, FINOPS, ids.APPROVE, request_id)
    assert "AWS EDP" in json.dumps(finops_dm["blocks"])
    await _click(stack, FINOPS, finops_dm, ids.APPROVE)

    async def approved() -> bool:
        return "asset_created" in stack.audit_actions(request_id)

    await eventually(approved, 30, "the approval")
    actions = stack.audit_actions(request_id)
    for action in ("step_reminder", "step_escalated", "budget_reserved", "commitment_drawn", "approved"):
        assert actions.count(action) == 1, (action, actions)
    assert stack.assets(request_id) == 1
    with transaction(stack.engine) as session:
        steps = [(s.role, s.status, s.decided_by) for s in repository.list_steps(session, request_id=request_id)]
        refused = [e for e in repository.list_audit(session, request_id=request_id) if e.action == "decision_refused"]
    assert steps == [
        ("manager", "approved", "manager@example.com"),
        ("finance", "approved", "vp@example.com"),
        ("finops", "approved", "finops@example.com"),
    ]
    assert refused and refused[0].actor == EMPLOYEE  # the forged click, audited


async def test_a_parallel_stage_posts_and_updates_each_message_once(
    chain_stack: tuple[Stack, WorkflowEnvironment],
) -> None:
    """Confidential data: after the manager, finance and security are asked together. Opening
    that stage posts each of their DMs once, showing the whole stage, and updates every other
    message (the manager's DM, the requester's status) once: counted in the simulator's
    chat.update calls per message."""
    stack, _ = chain_stack
    modal = await stack.open_modal(EMPLOYEE, f"1password {uuid.uuid4().hex[:4]}")
    values = request_values("1password", justification="Company-wide password manager")
    values[ids.B_CLASSIFICATION] = {
        ids.A_CLASSIFICATION: {
            "type": "static_select",
            "selected_option": {"text": {"type": "plain_text", "text": "Confidential"}, "value": "confidential"},
        }
    }
    await stack.do("/sim/submit", user=EMPLOYEE, view_id=modal["id"], values=values)
    manager_dm = await _message_with(stack, MANAGER, ids.APPROVE, "1Password")
    request_id, _ = parse_step_value(find_button(manager_dm, ids.APPROVE)["value"])  # type: ignore[index]

    async def requester_status() -> dict[str, Any] | None:
        return next((m for m in await stack.bot_messages(EMPLOYEE) if request_id in json.dumps(m["blocks"])), None)

    await eventually(lambda: _is_set(requester_status()), 30, "the requester's status")
    status = await requester_status()
    assert status is not None
    updates_before = len(await stack.calls("chat.update"))
    await _click(stack, MANAGER, manager_dm, ids.APPROVE)
    finance_dm = await _message_with(stack, FINANCE, ids.APPROVE, request_id)
    security_dm = await _message_with(stack, SECURITY, ids.APPROVE, request_id)

    async def stage_announced() -> bool:
        updated = [c for c in (await stack.calls("chat.update"))[updates_before:] if c["ok"]]
        return {c["args"]["ts"] for c in updated} >= {manager_dm["ts"], status["ts"]}

    await eventually(stage_announced, 30, "the stage's opening in every message")
    # Anything still in flight would be a second update: wait for the workflow to go quiet.
    await _workflow_waits(chain_stack[1], request_id)
    per_message: dict[str, int] = {}
    for call in (await stack.calls("chat.update"))[updates_before:]:
        if call["ok"] and request_id in json.dumps(call["args"]):
            per_message[call["args"]["ts"]] = per_message.get(call["args"]["ts"], 0) + 1
    assert per_message == {manager_dm["ts"]: 1, status["ts"]: 1}, per_message
    # Each parallel approver's DM was posted showing the whole stage: both steps waiting.
    for dm in (finance_dm, security_dm):
        route = json.dumps(dm["blocks"])
        assert "Finance + :hourglass_flowing_sand: Security" in route, route


async def _is_set(found: Any) -> bool:
    return (await found) is not None


async def _workflow_waits(env: WorkflowEnvironment, request_id: str) -> None:
    """The request's workflow has no activity in flight (it waits for the stage's decisions)."""
    handle = env.client.get_workflow_handle(f"request-{request_id}")

    async def quiet() -> bool:
        return not (await handle.describe()).raw_description.pending_activities

    await eventually(quiet, 30, "the workflow waiting for the stage")
