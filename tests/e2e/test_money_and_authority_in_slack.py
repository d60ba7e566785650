"""Issue 19's High items end to end: the real Bolt app and the Slack simulator (signed payloads
both ways), the worker and Temporal's time-skipping server, driven only by what people do in
Slack: slash commands, modal submissions and button clicks. The workflow tests pin each rule;
these show that what an approver sees and clicks is what is approved and charged.

1. An approval is carried over only from the round just before (decision 24).
3. A request in another currency reserves its converted cost on the budget line (decisions 30, 31).
4. The route is checked again as each stage opens and as the request closes (decision 35)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
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
from tests.security.stack import Stack, find_button, request_values, serve_stack

EMPLOYEE, MANAGER, FINANCE, SECURITY = "U0EMPLOYEE", "U0MANAGER", "U0FINANCE", "U0SECURITY"


@pytest.fixture
async def stack(
    time_skipping_env: WorkflowEnvironment, seeded_engine: Engine, reference_dir: Path
) -> AsyncIterator[Stack]:
    """The stack on SQLite and on PostgreSQL: reservations and the closing re-check lock and
    write the budget line."""
    async with serve_stack(time_skipping_env.client, seeded_engine, reference_dir) as served:
        yield served


# --- what people do in Slack ------------------------------------------------------------------


def _new_product(name: str, estimate: str, *, classification: str = "internal") -> dict[str, Any]:
    """The request modal for a product not in the catalog, with an estimate in USD."""
    values = request_values(ids.OTHER_PRODUCT_VALUE, justification="Notes for the design team", other=name)
    values[ids.B_PRODUCT][ids.A_PRODUCT]["selected_option"]["text"]["text"] = "Something else (type it below)"
    values[ids.B_ESTIMATE] = {ids.A_ESTIMATE: {"type": "plain_text_input", "value": estimate}}
    values[ids.B_CLASSIFICATION] = {
        ids.A_CLASSIFICATION: {
            "type": "static_select",
            "selected_option": {
                "text": {"type": "plain_text", "text": classification.title()},
                "value": classification,
            },
        }
    }
    return values


async def _submit(stack: Stack, text: str, values: dict[str, Any]) -> None:
    modal = await stack.open_modal(EMPLOYEE, text)
    answer = await stack.do("/sim/submit", user=EMPLOYEE, view_id=modal["id"], values=values)
    assert answer["outcome"] == "closed", answer


async def _modal_ids(stack: Stack, user: str) -> set[str]:
    return {m["id"] for m in (await stack.state(user))["modals"]}


async def _new_modal(stack: Stack, user: str, before: set[str]) -> dict[str, Any]:
    opened: dict[str, Any] = {}

    async def modal_open() -> bool:
        for modal in (await stack.state(user))["modals"]:
            if modal["id"] not in before:
                opened.update(modal)
                return True
        return False

    await eventually(modal_open, 30, f"a modal for {user}")
    return opened


class Approvals:
    """The Approve buttons each approver has been sent, by step: a DM for a step not seen
    before is a fresh ask."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.seen: set[tuple[str, int | None]] = set()

    async def next(self, *users: str, request_id: str | None = None, text: str = "") -> dict[str, Any]:
        """The first bot DM to one of `users` with an Approve button for a step not seen yet
        (of `request_id`, mentioning `text`); its `user` and `step` are added to it."""
        found: dict[str, Any] = {}

        async def arrived() -> bool:
            for user in users:
                for message in await self.stack.bot_messages(user):
                    button = find_button(message, ids.APPROVE)
                    if button is None:
                        continue
                    step = parse_step_value(button["value"])
                    if step in self.seen or (request_id is not None and step[0] != request_id):
                        continue
                    if text in json.dumps(message["blocks"]):
                        self.seen.add(step)
                        found.update(message, user=user, step=step)
                        return True
            return False

        await eventually(arrived, 30, f"a new approval DM to {' or '.join(users)}")
        return found


async def _click(stack: Stack, user: str, message: dict[str, Any], action_id: str) -> None:
    await stack.do("/sim/action", user=user, message_ts=message["ts"], action_id=action_id)


async def _until(stack: Stack, request_id: str, check: Callable[[], bool], what: str) -> None:
    """Poll `check`; fail at once, with its error, when an activity of the request's workflow
    is being retried (rather than waiting out the timeout)."""
    handle = stack.temporal.get_workflow_handle(f"request-{request_id}")

    async def reached() -> bool:
        if check():
            return True
        for activity in (await handle.describe()).raw_description.pending_activities:
            if activity.attempt > 1 and activity.HasField("last_failure"):
                failure = activity.last_failure.message
                raise AssertionError(f"{what}: {activity.activity_type.name} keeps failing: {failure}")
        return False

    await eventually(reached, 30, what)


async def _ask_changes(stack: Stack, user: str, message: dict[str, Any], comment: str) -> None:
    request_id = message["step"][0]
    before = await _modal_ids(stack, user)
    await _click(stack, user, message, ids.REQUEST_CHANGES)
    modal = await _new_modal(stack, user, before)
    assert modal["callback_id"] == ids.CHANGES_MODAL
    values = {ids.B_CHANGES_COMMENT: {ids.A_CHANGES_COMMENT: {"type": "plain_text_input", "value": comment}}}
    answer = await stack.do("/sim/submit", user=user, view_id=modal["id"], values=values)
    assert answer["outcome"] == "closed", answer
    await _until(
        stack,
        request_id,
        lambda: _status(stack.engine, request_id) == "changes_requested",
        f"{user}'s request for changes recorded",
    )


async def _edit_estimate(stack: Stack, request_id: str, estimate: str) -> None:
    """The requester opens "Edit request" on the changes-requested DM and types a new estimate."""
    message: dict[str, Any] = {}

    async def editable() -> bool:
        for candidate in reversed(await stack.bot_messages(EMPLOYEE)):
            button = find_button(candidate, ids.EDIT_REQUEST)
            if button is not None and button["value"] == request_id:
                message.update(candidate)
                return True
        return False

    await eventually(editable, 30, "the requester's Edit request button")
    before = await _modal_ids(stack, EMPLOYEE)
    await _click(stack, EMPLOYEE, message, ids.EDIT_REQUEST)
    modal = await _new_modal(stack, EMPLOYEE, before)
    assert modal["callback_id"] == ids.EDIT_MODAL
    values = {
        ids.B_SEATS: {ids.A_SEATS: {"type": "number_input", "value": "1"}},
        ids.B_ESTIMATE: {ids.A_ESTIMATE: {"type": "plain_text_input", "value": estimate}},
        ids.B_JUSTIFICATION: {ids.A_JUSTIFICATION: {"type": "plain_text_input", "value": "Notes for the design team"}},
        ids.B_COST_CENTER: {ids.A_COST_CENTER: {"type": "plain_text_input", "value": "CC-DESIGN"}},
        ids.B_CLASSIFICATION: {
            ids.A_CLASSIFICATION: {"type": "static_select", "selected_option": {"value": "internal"}}
        },
        ids.B_CHANNEL: {ids.A_CHANNEL: {"type": "static_select", "selected_option": {"value": "direct"}}},
    }
    answer = await stack.do("/sim/submit", user=EMPLOYEE, view_id=modal["id"], values=values)
    assert answer["outcome"] == "closed", answer


# --- what was recorded ------------------------------------------------------------------------


def _steps(engine: Engine, request_id: str) -> list[tuple[int, str, str, str | None]]:
    """(round, role, status, why assigned) of every step, in order."""
    with transaction(engine) as session:
        return [
            (s.round, s.role, s.status, s.assigned_because)
            for s in repository.list_steps(session, request_id=request_id)
        ]


def _status(engine: Engine, request_id: str) -> str:
    with transaction(engine) as session:
        row = repository.get_request(session, request_id=request_id)
        assert row is not None
        return row.status


async def _closed(stack: Stack, request_id: str) -> str:
    def closed() -> bool:
        return _status(stack.engine, request_id) not in ("pending_approval", "changes_requested", "submitted")

    await _until(stack, request_id, closed, "the request closing")
    return _status(stack.engine, request_id)


async def _quiet(stack: Stack, request_id: str) -> None:
    """The request's workflow has nothing in flight: it waits for a person."""
    handle = stack.temporal.get_workflow_handle(f"request-{request_id}")

    async def quiet() -> bool:
        return not (await handle.describe()).raw_description.pending_activities

    await eventually(quiet, 30, "the workflow waiting for an approver")


def _committed(engine: Engine, cost_center: str, fiscal_year: int) -> int:
    with transaction(engine) as session:
        line = repository.get_budget(session, cost_center=cost_center, fiscal_year=fiscal_year)
        assert line is not None
        return line.committed_cents


def _use_up_budget(engine: Engine, cost_center: str, fiscal_year: int) -> None:
    """Another request, approved meanwhile, takes the rest of the line (and more)."""
    with transaction(engine) as session:
        repository.reserve_budget(
            session,
            request_id=f"REQ-OTHER{uuid.uuid4().hex[:6].upper()}",
            cost_center=cost_center,
            fiscal_year=fiscal_year,
            amount_cents=15_000_000_00,
            currency="USD",
            at=datetime.now(UTC),
        )


# --- 1. carry-over ----------------------------------------------------------------------------


async def test_a_manager_who_asked_for_changes_is_asked_again_not_carried_over(stack: Stack) -> None:
    """The manager approves at 100 USD; security asks for changes; the requester raises the
    estimate to 900; the manager asks for changes ("900 is too much"); the requester edits to
    800. The manager gets a fresh DM with Approve: his round-1 approval at 100 is not his
    answer to 800, and security is not asked before he decides."""
    approvals = Approvals(stack)
    product = f"Sketchy Notes {uuid.uuid4().hex[:4]}"
    await _submit(stack, product, _new_product(product, "100"))

    round1 = await approvals.next(MANAGER, text=product)
    request_id = round1["step"][0]
    await _click(stack, MANAGER, round1, ids.APPROVE)
    security = await approvals.next(SECURITY, request_id=request_id)
    await _ask_changes(stack, SECURITY, security, "Which data does it hold?")
    await _edit_estimate(stack, request_id, "900")

    round2 = await approvals.next(MANAGER, request_id=request_id)  # 900 > 100: asked again
    await _ask_changes(stack, MANAGER, round2, "900 is too much")
    await _edit_estimate(stack, request_id, "800")

    # Whoever is asked next: the manager (asked again), not security (as if he had approved 800).
    round3 = await approvals.next(MANAGER, SECURITY, request_id=request_id)
    assert round3["user"] == MANAGER, "the manager's approval at 100 was carried over to 800"
    blocks = json.dumps(round3["blocks"])
    assert "$800.00" in blocks and "earlier round" not in blocks
    steps = _steps(stack.engine, request_id)
    assert [(role, status) for round_, role, status, _ in steps if round_ == 3] == [("manager", "pending")], steps
    assert not any("earlier round" in (why or "") for *_, why in steps), steps

    # He approves 800; security is asked, approves, and 800 USD is reserved.
    await _click(stack, MANAGER, round3, ids.APPROVE)
    security3 = await approvals.next(SECURITY, request_id=request_id)
    await _click(stack, SECURITY, security3, ids.APPROVE)
    assert await _closed(stack, request_id) == "approved"
    with transaction(stack.engine) as session:
        reservation = repository.get_reservation(session, request_id=request_id)
        assert reservation is not None and (reservation.amount_cents, reservation.currency) == (800_00, "USD")


# --- 3. currency ------------------------------------------------------------------------------


def _price(engine: Engine, product_id: str, cents: int, currency: str) -> None:
    """The catalog prices the product in another currency (as `procure catalog import` can)."""
    with transaction(engine) as session:
        product = repository.get_product(session, product_id=product_id)
        assert product is not None
        product.price_cents, product.currency = cents, currency
        session.add(product)


def _cents(shown: str) -> int:
    """`$1,234.56` or `-$1,234.56` → cents."""
    sign = -1 if shown.startswith("-") else 1
    return sign * int(shown.lstrip("-$").replace(",", "").replace(".", ""))


def _budget_shown(message: dict[str, Any]) -> tuple[str, int, int, int]:
    """(cost center, fiscal year, available, after this request) as an approval DM shows them."""
    block = next((b for b in message["blocks"] if b.get("block_id") == "budget"), None)
    assert block is not None, message["blocks"]
    text = block["text"]["text"]
    found = re.search(r"Budget (\S+) FY(\d{4}):\* (-?\$[\d,.]+) available → (-?\$[\d,.]+) after this request", text)
    assert found is not None, text
    return found.group(1), int(found.group(2)), _cents(found.group(3)), _cents(found.group(4))


async def test_a_eur_request_reserves_its_dollars_on_the_usd_line_and_approvers_see_them(stack: Stack) -> None:
    """1Password at 10,000 EUR a year, approved through the Slack buttons: the policy sees it
    as 10,800 USD (finance is asked, over 5,000 USD), every approver's DM shows the budget line
    going down by 10,800 USD, and the USD line's committed grows by 10,800 USD, not by
    1,000,000 EUR cents counted as dollars. The reservation records both amounts and the rate."""
    _price(stack.engine, "1password", 10_000_00, "EUR")
    approvals = Approvals(stack)
    values = request_values("1password", justification="Company-wide password manager")
    await _submit(stack, f"1password {uuid.uuid4().hex[:4]}", values)

    manager = await approvals.next(MANAGER, text="1Password")
    request_id = manager["step"][0]
    assert "€10,000.00" in json.dumps(manager["blocks"], ensure_ascii=False)  # the price as the catalog has it
    cost_center, fiscal_year, available, after = _budget_shown(manager)
    assert available - after == 10_800_00, (available, after)  # the line's dollars, converted
    committed_before = _committed(stack.engine, cost_center, fiscal_year)
    await _click(stack, MANAGER, manager, ids.APPROVE)

    finance = await approvals.next(FINANCE, request_id=request_id)  # 10,800 USD > 5,000 USD
    assert _budget_shown(finance)[2:] == (available, after)
    await _click(stack, FINANCE, finance, ids.APPROVE)
    assert await _closed(stack, request_id) == "approved"

    assert _committed(stack.engine, cost_center, fiscal_year) - committed_before == 10_800_00
    with transaction(stack.engine) as session:
        reservation = repository.get_reservation(session, request_id=request_id)
        assert reservation is not None
        assert (reservation.cost_center, reservation.fiscal_year) == (cost_center, fiscal_year)
        assert (reservation.amount_cents, reservation.currency) == (10_000_00, "EUR")
        assert (reservation.budget_cents, reservation.budget_currency, reservation.rate) == (10_800_00, "USD", "1.08")
    assert [s[1:3] for s in _steps(stack.engine, request_id)] == [("manager", "approved"), ("finance", "approved")]


# --- 4. the budget checked again --------------------------------------------------------------


async def test_security_opens_with_finance_beside_it_once_the_budget_is_spent(stack: Stack) -> None:
    """A 1,500 USD request with confidential data is planned for manager + security while
    CC-DESIGN has room. Another request then spends the line. When the manager approves,
    security's stage opens with finance beside it: finance gets a DM showing the line as it is
    now, and security's approval alone does not approve the request."""
    approvals = Approvals(stack)
    product = f"Sketchy Notes {uuid.uuid4().hex[:4]}"
    await _submit(stack, product, _new_product(product, "1500", classification="confidential"))

    manager = await approvals.next(MANAGER, text=product)
    request_id = manager["step"][0]
    cost_center, fiscal_year, _, after = _budget_shown(manager)
    assert after >= 0  # within budget when planned: finance is not on the route
    assert "Finance" not in json.dumps(manager["blocks"])
    _use_up_budget(stack.engine, cost_center, fiscal_year)
    await _click(stack, MANAGER, manager, ids.APPROVE)

    security = await approvals.next(SECURITY, request_id=request_id)
    waiting = sorted(role for _, role, status, _ in _steps(stack.engine, request_id) if status == "pending")
    assert waiting == ["finance", "security"], "security's stage opened without finance"
    finance = await approvals.next(FINANCE, request_id=request_id)
    # Both DMs show the line as it is now, and the requester's status shows the grown route.
    for dm in (security, finance):
        assert _budget_shown(dm)[3] < 0 and "Over budget by" in json.dumps(dm["blocks"])
    status = next(m for m in await stack.bot_messages(EMPLOYEE) if request_id in m["text"])
    route = next(b for b in status["blocks"] if b.get("block_id") == "route")["text"]["text"]
    assert "Finance" in route, route
    with transaction(stack.engine) as session:
        grew = repository.list_audit(session, request_id=request_id, actions=["route_grew"])
    assert len(grew) == 1 and [a["role"] for a in grew[0].detail["added"]] == ["finance"]

    await _click(stack, SECURITY, security, ids.APPROVE)

    def security_approved() -> bool:
        return ("security", "approved") in [s[1:3] for s in _steps(stack.engine, request_id)]

    await _until(stack, request_id, security_approved, "security's approval recorded")
    await _quiet(stack, request_id)
    assert _status(stack.engine, request_id) == "pending_approval", "approved without finance"
    assert stack.assets(request_id) == 0
    await _click(stack, FINANCE, finance, ids.APPROVE)
    assert await _closed(stack, request_id) == "approved"
    assert [s[1:3] for s in _steps(stack.engine, request_id)] == [
        ("manager", "approved"),
        ("security", "approved"),
        ("finance", "approved"),
    ]


async def test_a_manager_only_request_asks_finance_before_closing_once_the_budget_is_spent(stack: Stack) -> None:
    """One Zoom seat needs only the manager while CC-DESIGN has room. The line is spent before
    he clicks Approve: finance is asked before anything is reserved, and the request is
    approved once finance agrees."""
    approvals = Approvals(stack)
    await _submit(stack, f"zoom {uuid.uuid4().hex[:4]}", request_values("zoom"))
    manager = await approvals.next(MANAGER, text="Zoom")
    request_id = manager["step"][0]
    cost_center, fiscal_year, _, after = _budget_shown(manager)
    assert after >= 0
    _use_up_budget(stack.engine, cost_center, fiscal_year)
    await _click(stack, MANAGER, manager, ids.APPROVE)

    def finance_asked_or_closed() -> bool:
        asked = any(role == "finance" for _, role, _, _ in _steps(stack.engine, request_id))
        return asked or _status(stack.engine, request_id) != "pending_approval"

    await _until(stack, request_id, finance_asked_or_closed, "finance asked or the request closed")
    assert _status(stack.engine, request_id) == "pending_approval", "approved past the finance step the policy requires"
    finance = await approvals.next(FINANCE, request_id=request_id)
    assert _budget_shown(finance)[3] < 0
    with transaction(stack.engine) as session:
        assert repository.get_reservation(session, request_id=request_id) is None
    await _click(stack, FINANCE, finance, ids.APPROVE)
    assert await _closed(stack, request_id) == "approved"
    with transaction(stack.engine) as session:
        reservation = repository.get_reservation(session, request_id=request_id)
        assert reservation is not None and reservation.amount_cents == 150_00
    assert [s[1:3] for s in _steps(stack.engine, request_id)] == [("manager", "approved"), ("finance", "approved")]
