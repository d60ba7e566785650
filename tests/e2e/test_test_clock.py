"""`procure dev --test-clock` as a person tries it: real processes (time-skipping Temporal
server, worker, bot, simulator), clicks in the simulator, and `procure clock advance` to move
time. A marketplace purchase over the finance threshold walks manager → finance → FinOps;
finance doesn't answer, so the clock shows the reminder and then the escalation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot import ids
from bot.payloads import parse_step_value
from catalog import repository
from catalog.db import transaction
from procure.testing import dev_stack
from tests.e2e.test_full_stack import Stack, bot_messages, find_button, open_request_modal
from tests.helpers import eventually

pytestmark = pytest.mark.e2e

EMPLOYEE, MANAGER, FINANCE, FINOPS, VP = "U0EMPLOYEE", "U0MANAGER", "U0FINANCE", "U0FINOPS", "U0VP"


@pytest.fixture(scope="module")
def clock_stack(tmp_path_factory: pytest.TempPathFactory, reference_dir: Path) -> Iterator[Stack]:
    with dev_stack(
        tmp_path_factory.mktemp("procure-clock"),
        extra_env={"SLACK_REFERENCE_DIR": str(reference_dir)},
        args=["--test-clock"],
    ) as dev:
        yield Stack(dev)


def procure(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TEMPORAL_ADDRESS=f"127.0.0.1:{stack.dev.temporal_port}", DATA_DIR=str(stack.dev.data_dir))
    return subprocess.run(
        [sys.executable, "-m", "procure.cli", *args], env=env, capture_output=True, text=True, timeout=60
    )


def clock_now(stack: Stack) -> datetime:
    shown = procure(stack, "clock", "show")
    assert shown.returncode == 0, shown.stderr
    return datetime.fromisoformat(shown.stdout.strip())


def advance_to(stack: Stack, when: datetime) -> None:
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    minutes = int((when - clock_now(stack)).total_seconds() // 60) + 2
    moved = procure(stack, "clock", "advance", f"{max(minutes, 1)}m")
    assert moved.returncode == 0, moved.stderr
    assert "→" in moved.stdout


async def message_with(stack: Stack, user: str, action_id: str, text: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def arrived() -> bool:
        for message in reversed(bot_messages(stack, user)):
            if find_button(message, action_id) and text in json.dumps(message["blocks"]):
                found.update(message)
                return True
        return False

    await eventually(arrived, 30, f"a message to {user} with {action_id} about {text}")
    return found


def click(stack: Stack, user: str, message: dict[str, Any], action_id: str) -> None:
    stack.control("/sim/action", user=user, message_ts=message["ts"], action_id=action_id)


async def test_reminder_and_escalation_on_the_test_clock(clock_stack: Stack) -> None:
    stack = clock_stack
    modal = await open_request_modal(stack, EMPLOYEE, "1password")
    values = modal["state"]["values"] if modal.get("state") else {}
    values.setdefault(ids.B_PRODUCT, {})[ids.A_PRODUCT] = {
        "type": "static_select",
        "selected_option": {"text": {"type": "plain_text", "text": "1Password"}, "value": "1password"},
    }
    values[ids.B_SEATS] = {ids.A_SEATS: {"type": "number_input", "value": "1"}}
    values[ids.B_CHANNEL] = {
        ids.A_CHANNEL: {
            "type": "static_select",
            "selected_option": {"text": {"type": "plain_text", "text": "AWS Marketplace"}, "value": "aws_marketplace"},
        }
    }
    values[ids.B_JUSTIFICATION] = {ids.A_JUSTIFICATION: {"type": "plain_text_input", "value": "Password manager"}}
    stack.control("/sim/submit", user=EMPLOYEE, view_id=modal["id"], values=values)

    manager_dm = await message_with(stack, MANAGER, ids.APPROVE, "1Password")
    request_id, _ = parse_step_value(find_button(manager_dm, ids.APPROVE)["value"])  # type: ignore[index]
    click(stack, MANAGER, manager_dm, ids.APPROVE)
    await message_with(stack, FINANCE, ids.APPROVE, request_id)

    engine = stack.database()
    with transaction(engine) as session:
        finance = next(s for s in repository.list_steps(session, request_id=request_id) if s.role == "finance")
    assert finance.remind_at is not None and finance.escalate_at is not None

    # Nothing happens while the clock stands still; past one SLA, Fiona is reminded.
    assert not any("Reminder" in (m["text"] or "") for m in bot_messages(stack, FINANCE))
    advance_to(stack, finance.remind_at)
    await eventually(
        lambda: any("Reminder" in (m["text"] or "") for m in bot_messages(stack, FINANCE)), 30, "the reminder"
    )
    # Past two SLAs the step escalates to her manager, who approves.
    advance_to(stack, finance.escalate_at)
    escalated = await message_with(stack, VP, ids.APPROVE, request_id)
    click(stack, VP, escalated, ids.APPROVE)
    finops_dm = await message_with(stack, FINOPS, ids.APPROVE, request_id)
    assert "AWS EDP" in json.dumps(finops_dm["blocks"])
    click(stack, FINOPS, finops_dm, ids.APPROVE)

    def approved() -> bool:
        with transaction(engine) as session:
            return any(e.action == "asset_created" for e in repository.list_audit(session, request_id=request_id))

    await eventually(approved, 30, "the approval")
    audit = procure(stack, "audit", "show", request_id)
    assert audit.returncode == 0, audit.stderr
    for action in ("step_reminder", "step_escalated", "budget_reserved", "commitment_drawn", "approved"):
        assert action in audit.stdout, (action, audit.stdout)
    engine.dispose()
