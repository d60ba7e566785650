"""The console in a real browser (Debian's chromium via Playwright) against the whole product
as `procure dev` runs it: Ian ITAM signs in through the simulator's "Sign in with Slack", sees
the Overview with its charts drawn, and cancels a renewal from the console; the reminder in
the simulator's #itam channel is updated in place (its buttons gone). Each journey saves a
screenshot under tests/artifacts/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import select
from temporalio.client import Client

from catalog.db import make_engine, transaction
from catalog.models import Reminder
from catalog.settings import Settings
from procure.testing import DevStack, dev_stack
from tests.browser.conftest import ARTIFACTS, WAIT_MS
from workflows.renewals.client import RenewalClient

try:
    from playwright.async_api import Browser, Page, expect
except ImportError:  # pragma: no cover - the dev extras install it
    pass

pytestmark = pytest.mark.e2e
IAN = "U0ITAM"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, reference_dir: Path, chromium: Path) -> Iterator[DevStack]:
    with dev_stack(
        tmp_path_factory.mktemp("console-dev"), extra_env={"SLACK_REFERENCE_DIR": str(reference_dir)}
    ) as dev:
        yield dev


async def _sign_in(page: Page, stack: DevStack, path: str) -> None:
    await page.goto(f"{stack.console_url}{path}")
    await page.get_by_role("link", name="Sign in with Slack").click()
    await page.get_by_role("button", name="Continue as Ian ITAM").click()
    await expect(page.get_by_test_id("viewer")).to_contain_text("Ian", timeout=WAIT_MS)


async def _drawn_pixels(page: Page, selector: str) -> int:
    """How many pixels of the canvas are not transparent: 0 for a chart never drawn."""
    return int(
        await page.eval_on_selector(
            selector,
            """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                      let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i]) n++; } return n; }""",
        )
    )


async def test_the_overview_draws_its_charts(stack: DevStack, browser: Browser) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 1600})
    await _sign_in(page, stack, "/")
    await expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    for chart in ("#spend-USD", "#drawdown-USD"):
        await expect(page.locator(f"{chart}[data-drawn='true']")).to_have_count(1, timeout=WAIT_MS)
        assert await _drawn_pixels(page, chart) > 1000, chart
    # Every chart has its table, and the figures link to their lists.
    await expect(page.get_by_role("row", name="CC-ENG").first).to_be_visible()
    await page.get_by_test_id("renewals-90").click()
    await expect(page.get_by_role("heading", name="Notice deadlines and renewal dates")).to_be_visible()
    await page.goto(f"{stack.console_url}/")
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "console-overview.png"), full_page=True)
    await page.close()


def _itam_message(stack: DevStack, ts: str) -> dict[str, Any]:
    state = httpx.get(f"{stack.simulator_url}/sim/state", params={"user": IAN}, timeout=10).json()
    for channel in state["channels"]:
        for message in channel["messages"]:
            if message["ts"] == ts:
                return dict(message)
    raise AssertionError(f"no #itam message {ts}")


async def test_a_renewal_cancelled_in_the_console_updates_the_slack_reminder(
    stack: DevStack,
    browser: Browser,
) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    today = datetime.now(UTC).astimezone(ZoneInfo(settings.company_timezone)).date()
    temporal = await Client.connect(f"127.0.0.1:{stack.temporal_port}")
    scan = await RenewalClient(temporal, task_queue=settings.temporal_task_queue).scan(
        today.isoformat(), timezone=settings.company_timezone
    )
    assert scan.sent >= 1, scan
    engine = make_engine(stack.database_url)
    with transaction(engine, read_only=True) as session:
        posted = [r for r in session.exec(select(Reminder)).all() if r.channel_ts]
    engine.dispose()
    reminder = posted[0]
    assert reminder.channel_ts is not None
    before = _itam_message(stack, reminder.channel_ts)
    assert '"renewal_actions"' in json.dumps(before["blocks"])  # Renew / Cancel / … buttons

    page = await browser.new_page(viewport={"width": 1280, "height": 1400})
    await _sign_in(page, stack, "/renewals")
    row = page.get_by_test_id(f"renewal-{reminder.contract_id}-deadline")
    page.once("dialog", lambda dialog: dialog.accept())  # "Cancel Figma? The contract ends …"
    await row.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_test_id("notice")).to_be_visible(timeout=WAIT_MS)
    assert "Recorded: the contract ends on" in await page.get_by_test_id("notice").inner_text()
    ends = page.get_by_test_id(f"renewal-{reminder.contract_id}-renewal")
    await expect(ends).to_contain_text("ends")
    await expect(ends).to_contain_text("cancelled")
    await page.screenshot(path=str(ARTIFACTS / "console-renewal-cancelled.png"), full_page=True)

    after = _itam_message(stack, reminder.channel_ts)
    assert '"renewal_actions"' not in json.dumps(after["blocks"])  # decided: the buttons are gone
    assert after["blocks"] != before["blocks"]
    # The person sees it in the simulator's #itam channel too.
    sim = await browser.new_page(viewport={"width": 1280, "height": 1000})
    await sim.goto(f"{stack.simulator_url}/?user={IAN}")
    await sim.get_by_role("button", name="itam").click()
    await expect(sim.locator("#messages")).to_contain_text("Contract #", timeout=WAIT_MS)
    await sim.screenshot(path=str(ARTIFACTS / "console-renewal-slack-updated.png"), full_page=True)
    await sim.close()
    await page.close()


async def test_the_other_pages_by_keyboard_with_their_tables_and_forms(stack: DevStack, browser: Browser) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 1400})
    await _sign_in(page, stack, "/budgets")
    await expect(page.locator("canvas[data-drawn='true']").first).to_be_visible(timeout=WAIT_MS)
    # The summary lists every line; a line's months open from it (a row per month of the year).
    summary = page.get_by_test_id("budget-summary")
    await expect(summary.get_by_role("row")).not_to_have_count(1)
    first = summary.get_by_role("link").first
    center = await first.inner_text()
    await first.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator(f"[id='cc-{center}'] details")).to_have_attribute("open", "")
    await page.screenshot(path=str(ARTIFACTS / "console-budgets.png"), full_page=True)
    for path, name in (("/commitments", "console-commitments.png"), ("/seats", "console-seats.png")):
        await page.goto(f"{stack.console_url}{path}")
        await page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    await expect(page.get_by_test_id("seats-summary")).to_contain_text("a year")

    # A catalog edit, done from the keyboard: every field has its label, each problem shows
    # at its field (and is tied to it for screen readers), nothing is saved.
    await page.goto(f"{stack.console_url}/catalog/figma/edit")
    owner = page.get_by_label("Owner (email)")
    await owner.fill("not-an-email")
    await page.get_by_label("Currency (ISO code)").fill("usd")
    await owner.press("Enter")
    await expect(page.get_by_test_id("error-owner")).to_have_text("owner 'not-an-email' must be an email address")
    await expect(page.get_by_test_id("error-currency")).to_contain_text("ISO 4217 currency code")
    await expect(page.get_by_label("Owner (email)")).to_have_attribute("aria-describedby", "error-owner")
    await page.screenshot(path=str(ARTIFACTS / "console-catalog-edit.png"), full_page=True)

    # The policy's explain form, filled and sent with the keyboard.
    await page.goto(f"{stack.console_url}/policy")
    await page.get_by_label("Requester (email)").fill("employee@example.com")
    await page.get_by_label("Product (id or name)").fill("figma")
    await page.get_by_label("Seats").fill("3")
    await page.get_by_label("Seats").press("Enter")
    result = page.get_by_test_id("explain-result")
    await expect(result).to_contain_text("Outcome: route", timeout=WAIT_MS)
    await expect(result.get_by_role("cell", name="manager", exact=True)).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "console-policy-explain.png"), full_page=True)
    await page.close()
