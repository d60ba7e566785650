"""The web console in a real browser, on the whole stack as `procure dev` runs it (Temporal,
worker, bot, simulator, console): sign in with Slack through the simulator, filter the
register, edit a contract and see its audit row, approve a step and see the Slack message
update in place, and an employee refused the register. Each journey saves a screenshot under
tests/artifacts/."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot import ids
from bot.payloads import parse_step_value
from catalog.db import transaction
from catalog.models import ApprovalStep, Asset
from procure.testing import dev_stack
from tests.browser.conftest import ARTIFACTS, WAIT_MS
from tests.e2e.test_full_stack import EMPLOYEE, MANAGER, Stack, bot_messages, buy_more_when_offered, find_button
from tests.e2e.test_full_stack import open_request_modal as open_modal
from tests.helpers import eventually

try:
    from playwright.async_api import Browser, Page, expect
except ImportError:  # pragma: no cover - the dev extras install it
    pass

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, reference_dir: Path, chromium: Path) -> Iterator[Stack]:
    with dev_stack(tmp_path_factory.mktemp("console"), extra_env={"SLACK_REFERENCE_DIR": str(reference_dir)}) as dev:
        yield Stack(dev)


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh browser profile: nobody signed in."""
    context = await browser.new_context(timezone_id="UTC", locale="en-US")
    context.set_default_timeout(WAIT_MS)
    opened = await context.new_page()
    yield opened
    await context.close()


async def sign_in(page: Page, stack: Stack, name: str, path: str = "/requests") -> None:
    """Open `path` signed out, then Sign in with Slack, choosing `name` in the simulator."""
    console = stack.dev.console_url
    await page.goto(console + path)
    await expect(page).to_have_url(re.compile(re.escape(f"{console}/auth/login")))
    await page.get_by_role("link", name="Sign in with Slack").click()
    await expect(page).to_have_url(re.compile(re.escape(f"{stack.sim}/openid/connect/authorize")))
    await page.get_by_role("button", name=f"Continue as {name}").click()
    await expect(page).to_have_url(re.compile(re.escape(console + path)))
    await expect(page.get_by_test_id("viewer")).to_contain_text(name)


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


async def test_sign_in_through_the_simulator(page: Page, stack: Stack) -> None:
    await sign_in(page, stack, "Ian ITAM")
    await expect(page.get_by_role("heading", name="Requests")).to_be_visible()
    await expect(page.get_by_role("navigation", name="Console").get_by_role("link", name="Assets")).to_be_visible()
    await shot(page, "sign-in")


async def test_filter_the_register(page: Page, stack: Stack) -> None:
    await sign_in(page, stack, "Ian ITAM", "/assets")
    register = page.get_by_test_id("register")
    await expect(register).to_contain_text("Figma")
    await page.get_by_label("Search").fill("miro")
    await page.get_by_role("button", name="Filter").click()
    await expect(page).to_have_url(re.compile(r"q=miro"))
    await expect(register).to_contain_text("Miro")
    await expect(register).not_to_contain_text("Figma")
    await shot(page, "register-filtered")


async def test_edit_a_contract_and_see_the_audit_row(page: Page, stack: Stack) -> None:
    engine = stack.database()
    with transaction(engine) as session:
        canva = session.exec(select(Asset).where(Asset.product_name == "Canva")).one()
    engine.dispose()
    await sign_in(page, stack, "Ian ITAM", f"/assets/{canva.id}")
    notice = page.get_by_label("Notice (days)")
    await notice.fill("9999")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("alert")).to_contain_text("notice")  # shown next to the field
    await page.get_by_label("Notice (days)").fill("45")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_test_id("saved")).to_contain_text("notice days: 30 → 45")
    audit = page.get_by_test_id("audit")
    await expect(audit).to_contain_text("asset edited")
    await expect(audit.get_by_role("row").filter(has_text="asset edited")).to_contain_text("itam@example.com")
    await expect(audit.get_by_role("row").filter(has_text="asset edited")).to_contain_text("notice days: 30 → 45")
    await shot(page, "contract-edited")


async def _pending_request_for_max(stack: Stack) -> dict[str, Any]:
    """Emma asks for more Miro seats than are spare and buys more: a step waits for Max."""
    modal = await open_modal(stack, EMPLOYEE, "miro for the offsite, 30 seats")
    values = {
        ids.B_PRODUCT: {
            ids.A_PRODUCT: {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": "Miro"}, "value": "miro"},
            }
        },
        ids.B_SEATS: {ids.A_SEATS: {"type": "number_input", "value": "30"}},
        ids.B_CHANNEL: {
            ids.A_CHANNEL: {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": "Direct"}, "value": "direct"},
            }
        },
        ids.B_JUSTIFICATION: {ids.A_JUSTIFICATION: {"type": "plain_text_input", "value": "Offsite"}},
    }
    stack.control("/sim/submit", user=EMPLOYEE, view_id=modal["id"], values=values)
    await buy_more_when_offered(stack, EMPLOYEE, "Miro")
    found: dict[str, Any] = {}

    def waiting() -> bool:
        for message in bot_messages(stack, MANAGER):
            if find_button(message, ids.APPROVE) and "Miro" in json.dumps(message["blocks"]):
                found.update(message)
                return True
        return False

    await eventually(waiting, 30, "the Miro approval DM to Max")
    return found


async def test_approve_a_step_from_the_console(page: Page, stack: Stack) -> None:
    message = await _pending_request_for_max(stack)
    request_id, seq = parse_step_value(find_button(message, ids.APPROVE)["value"])  # type: ignore[index]
    await sign_in(page, stack, "Max Manager", "/requests?approver=manager%40example.com")
    await page.get_by_role("link", name=request_id).click()
    await expect(page.get_by_role("heading", name="Your decision")).to_be_visible()
    await page.get_by_role("button", name="Approve").click()
    await expect(page.get_by_test_id("notice")).to_be_visible()

    def updated_in_place() -> bool:
        now = next((m for m in bot_messages(stack, MANAGER) if m["ts"] == message["ts"]), None)
        return now is not None and now["edited"] and find_button(now, ids.APPROVE) is None

    await eventually(updated_in_place, 30, "Max's Slack message updated in place")
    engine = stack.database()
    with transaction(engine) as session:
        step = session.exec(
            select(ApprovalStep).where(ApprovalStep.request_id == request_id, ApprovalStep.seq == seq)
        ).one()
    engine.dispose()
    assert step.status == "approved" and step.decided_by in ("U0MANAGER", "manager@example.com")
    await page.reload()
    await expect(page.get_by_role("heading", name="Your decision")).to_have_count(0)
    await shot(page, "step-approved")


async def test_an_employee_is_refused_the_register(page: Page, stack: Stack) -> None:
    await sign_in(page, stack, "Emma Employee")
    await expect(page.get_by_role("navigation", name="Console").get_by_role("link", name="Assets")).to_have_count(0)
    answer = await page.goto(stack.dev.console_url + "/assets")
    assert answer is not None and answer.status == 403
    await expect(page.get_by_role("heading", name="Not for you")).to_be_visible()
    await shot(page, "employee-refused")
