"""Renewal authority end to end (issue 19 #7): the real Bolt app, the Slack simulator (signed
payloads both ways), a worker with the renewal activities and the shipped policy.yaml. Emma's
reminder arrives in her DM; she renews at 8 seats where she has 5; the bot starts a renewal
request and tells her privately; her manager and security approve in their DMs; the contract's
next term is 8 seats, the term is renewed by Emma, and only the increase is reserved, on the
budget of the renewal date's fiscal year."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from bot import ids
from bot.notifier import SlackNotifier, web_client
from bot.simulator.serve import bind_socket, socket_url
from catalog import repository
from catalog.db import transaction
from catalog.models import Contract, RenewalStatus
from catalog.repository import reminders as reminders_repo
from catalog.rules.budget import fiscal_year_of
from catalog.rules.renewals import add_months
from catalog.settings import Settings
from tests.helpers import eventually
from tests.security.stack import Stack, find_button, seeded_sqlite, serve_stack
from tests.workflows.contracts import add_contract
from workflows.renewals.activities import RenewalActivities
from workflows.renewals.client import RenewalClient
from workflows.request.activities.procurement import ProcurementActivities
from workflows.worker import build_worker

EMPLOYEE, MANAGER = "U0EMPLOYEE", "U0MANAGER"


@pytest.fixture
async def renewal_stack(
    dev_server_env: WorkflowEnvironment, tmp_path: Path, reference_dir: Path
) -> AsyncIterator[tuple[Stack, RenewalClient]]:
    engine = seeded_sqlite(tmp_path / "procure.db")
    sockets = (bind_socket(), bind_socket())
    queue = f"renewal-e2e-{uuid.uuid4().hex}"
    settings = Settings(slack_api_url=socket_url(sockets[1]) + "/api/", temporal_task_queue=queue)
    notifier = SlackNotifier(web_client(settings.bot_token, settings.api_url()))
    worker = build_worker(
        dev_server_env.client,
        task_queue=queue,
        activities=ProcurementActivities(engine, notifier),
        renewal_activities=RenewalActivities(
            engine, notifier, itam_channel=settings.itam_channel, calendar=settings.holiday_calendar()
        ),
    )
    async with (
        worker,
        serve_stack(
            dev_server_env.client, engine, reference_dir, with_worker=False, task_queue=queue, sockets=sockets
        ) as stack,
    ):
        yield stack, RenewalClient(dev_server_env.client, task_queue=queue)
    engine.dispose()


async def _bot_message(stack: Stack, user: str, text: str, action_id: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def arrived() -> bool:
        for message in reversed(await stack.bot_messages(user)):
            shown = json.dumps(message["blocks"], ensure_ascii=False)
            if text in shown and (action_id is None or find_button(message, action_id)):
                found.clear()
                found.update(message)
                return True
        return False

    await eventually(arrived, 30, f"a message to {user} with {text!r}")
    return found


async def test_a_renew_with_more_seats_is_approved_in_slack_and_reserves_only_the_increase(
    renewal_stack: tuple[Stack, RenewalClient],
) -> None:
    stack, renewals = renewal_stack
    today = datetime.now(UTC).date()
    start = add_months(today, -12) + timedelta(days=40)
    contract_id = add_contract(stack.engine, start=start, product="Notion", last_active=(today,))
    renewal_date = add_months(start, 12)
    fiscal_year = fiscal_year_of(renewal_date, 1)
    with transaction(stack.engine) as session:
        line = repository.get_budget(session, cost_center="CC-DESIGN", fiscal_year=fiscal_year)
        committed_before = line.committed_cents if line else 0
    assert (await renewals.scan(today.isoformat())).claimed >= 1

    # 1. Emma renews from her reminder at 8 seats where she has 5 ($540 more a year).
    reminder = await _bot_message(stack, EMPLOYEE, f"Contract #{contract_id} ·", ids.RENEW)
    await stack.do("/sim/action", user=EMPLOYEE, message_ts=reminder["ts"], action_id=ids.RENEW)

    async def modal_open() -> bool:
        return any(m["callback_id"] == ids.RENEW_MODAL for m in (await stack.state(EMPLOYEE))["modals"])

    await eventually(modal_open, 30, "the renew modal")
    modal = next(m for m in (await stack.state(EMPLOYEE))["modals"] if m["callback_id"] == ids.RENEW_MODAL)
    values = {
        ids.B_RENEW_SEATS: {ids.A_RENEW_SEATS: {"type": "number_input", "value": "8"}},
        ids.B_RENEW_PRICE: {ids.A_RENEW_PRICE: {"type": "plain_text_input", "value": "180.00"}},
    }
    await stack.do("/sim/submit", user=EMPLOYEE, view_id=modal["id"], values=values)

    # 2. She is told privately that it needs approval, and by whom; nothing is renewed yet.
    told: list[str] = []

    async def answered() -> bool:
        calls = await stack.calls("chat.postEphemeral") + await stack.calls("chat.postMessage")
        told[:] = [
            str(c["args"].get("text"))
            for c in calls
            if EMPLOYEE in (c["args"].get("user"), c["args"].get("channel"))
            and "needs approval: REQ-" in str(c["args"].get("text"))
        ]
        return bool(told)

    await eventually(answered, 30, "the private answer")
    assert told[0].startswith("Renewal at 8 seats × $180.00 needs approval: REQ-"), told[0]
    found = re.search(r"REQ-[A-Z0-9]+", told[0])
    assert found is not None
    request_id = found.group(0)
    with transaction(stack.engine) as session:
        contract = session.get(Contract, contract_id)
        assert contract is not None and contract.next_term_seats is None

    # 3. Every approver the policy asks approves in their DM, which says it is a renewal.
    approvers: list[str] = []
    # A stage's steps are written when the workflow opens it: wait until one is open, or the
    # request is closed, before reading them (under load the first stage may not be open yet).

    async def moved_on() -> bool:
        with transaction(stack.engine) as session:
            request = repository.get_request(session, request_id=request_id)
            steps = repository.list_steps(session, request_id=request_id)
        return request is not None and (
            request.status != "pending_approval" or any(s.status == "pending" for s in steps)
        )

    for _ in range(4):
        await eventually(moved_on, 30, "an open stage or the outcome")
        with transaction(stack.engine) as session:
            pending = [s for s in repository.list_steps(session, request_id=request_id) if s.status == "pending"]
        if not pending:
            break
        for step in pending:
            message = await _bot_message(stack, step.approver_slack_id, request_id, ids.APPROVE)
            shown = json.dumps(message["blocks"], ensure_ascii=False)
            assert f"(contract #{contract_id})" in shown and "*$540.00 more a year*" in shown
            await stack.do("/sim/action", user=step.approver_slack_id, message_ts=message["ts"], action_id=ids.APPROVE)
            approvers.append(step.approver_slack_id)

            async def decided(seq: int = step.seq) -> bool:
                with transaction(stack.engine) as session:
                    found_step = repository.get_step(session, request_id=request_id, seq=seq)
                    return found_step is not None and found_step.status != "pending"

            await eventually(decided, 30, f"step {step.seq} decided")
    assert approvers[0] == MANAGER

    # 4. Renewed as Renew records it, by Emma; only the increase reserved, on the renewal's year.
    await _bot_message(stack, EMPLOYEE, f"your renewal {request_id}")
    with transaction(stack.engine) as session:
        request = repository.get_request(session, request_id=request_id)
        assert request is not None and request.status == "approved"
        contract = session.get(Contract, contract_id)
        assert contract is not None
        assert (contract.next_term_from, contract.next_term_seats, contract.next_term_unit_price_cents) == (
            renewal_date,
            8,
            18_000,
        )
        term = reminders_repo.get_term(session, contract_id=contract_id, renewal_date=renewal_date)
        assert term is not None and (term.status, term.decided_by) == (RenewalStatus.RENEWED, "employee@example.com")
        reservation = repository.get_reservation(session, request_id=request_id)
        assert reservation is not None and (reservation.amount_cents, reservation.fiscal_year) == (54_000, fiscal_year)
        line = repository.get_budget(session, cost_center="CC-DESIGN", fiscal_year=fiscal_year)
        assert line is not None and line.committed_cents - committed_before == 54_000
        assert repository.get_asset_for_request(session, request_id=request_id) is None

    # The reminder's Renew is now refused: the term was renewed.
    await stack.do("/sim/action", user=EMPLOYEE, message_ts=reminder["ts"], action_id=ids.RENEW)

    async def refused() -> bool:
        return any("already renewed" in t for t in await stack.ephemerals_to(EMPLOYEE)) or any(
            "already renewed" in str(c["args"].get("text")) for c in await stack.calls("chat.postMessage")
        )

    await eventually(refused, 30, "the refusal of a second Renew")
