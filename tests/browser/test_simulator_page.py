"""The local Slack simulator's web page in a real browser: Debian's chromium, driven by Playwright.

The simulator runs as `procure dev` runs it (a real uvicorn server) with a recording stand-in
for the app; the browser is what a person uses. Playwright never downloads a browser here: it
launches the system's /usr/bin/chromium (`apt-get install chromium`, which .ci/run does)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.request import ProductChoice, request_modal
from bot.payloads import Prefill
from bot.simulator import SimUser, create_simulator_app
from bot.simulator.runtime import Simulator
from bot.simulator.serve import bind_socket, serving
from catalog.text import slack_date
from tests.bot.simulator_fixtures import TOKEN, Receiver, approval_blocks, make_config
from tests.browser.conftest import WAIT_MS

try:
    from playwright.async_api import Browser, Page, expect
except ImportError:  # pragma: no cover - the dev extras install it
    pass

ELI = SimUser("U0ENGINEER", "Eli Engineer", "engineer@example.com")
EMMA = SimUser("U0EMPLOYEE", "Emma Employee", "employee@example.com")
MAX = SimUser("U0MANAGER", "Max Manager", "manager@example.com")


@dataclass
class Workspace:
    url: str
    simulator: Simulator
    receiver: Receiver
    client: AsyncWebClient
    http: httpx.AsyncClient

    async def dm(self, user: SimUser, **message: Any) -> dict[str, Any]:
        posted = await self.client.chat_postMessage(channel=user.id, **message)
        return dict(posted.data)


@pytest.fixture(scope="module")
async def workspace() -> AsyncIterator[Workspace]:
    """People listed by name as `procure dev` lists them (Eli first), opening as Emma."""
    receiver = Receiver()
    async with serving(receiver.app(), bind_socket()) as app_url:
        receiver.url = f"{app_url}/slack/events"
        config = replace(make_config(receiver.url), users=(ELI, EMMA, MAX), default_user_id=EMMA.id)
        app = create_simulator_app(config)
        async with serving(app, bind_socket()) as url, httpx.AsyncClient(base_url=url, trust_env=False) as http:
            client = AsyncWebClient(token=TOKEN, base_url=f"{url}/api/")
            yield Workspace(url, app.state.simulator, receiver, client, http)


@pytest.fixture
async def page(browser: Browser, workspace: Workspace) -> AsyncIterator[Page]:
    """A fresh browser profile (no remembered user) in UTC, on a reset workspace."""
    workspace.simulator.reset()
    workspace.receiver.received.clear()
    context = await browser.new_context(timezone_id="UTC", locale="en-US")
    context.set_default_timeout(WAIT_MS)
    opened = await context.new_page()
    yield opened
    await context.close()


async def test_the_page_opens_as_the_first_requester_then_as_the_person_last_chosen(
    page: Page, workspace: Workspace
) -> None:
    await page.goto(workspace.url)
    picker = page.get_by_label("Signed-in user")
    await expect(picker).to_have_value(EMMA.id)  # not Eli, who is first by name
    await picker.select_option(MAX.id)
    await page.reload()
    await expect(page.get_by_label("Signed-in user")).to_have_value(MAX.id)


async def test_emoji_shortcodes_and_date_tokens_render_as_in_slack(page: Page, workspace: Workspace) -> None:
    afternoon = datetime(2026, 2, 18, 18, 39, 5, tzinfo=UTC)
    week_before = datetime(2026, 2, 11, 9, 5, 0, tzinfo=UTC)
    await workspace.dm(
        EMMA,
        text="Approved",
        blocks=[
            {"type": "header", "text": {"type": "plain_text", "text": ":pencil2: Changes requested", "emoji": True}},
            {
                "type": "section",
                "block_id": "status",
                "text": {
                    "type": "mrkdwn",
                    "text": (
                        f":white_check_mark: *Approved* by <@{MAX.id}>, waiting since {slack_date(afternoon)} :zzz:"
                    ),
                },
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": (
                            f"<!date^{int(week_before.timestamp())}^{{date_long}} at {{time_secs}}"
                            "^https://example.com/r|a week ago>"
                            f" · <!date^{int(week_before.timestamp())}^{{date_num}}, {{date}}, "
                            "{date_pretty}|fallback>"
                        ),
                    }
                ],
            },
        ],
    )
    await page.clock.set_fixed_time(datetime(2026, 2, 18, 20, 0, tzinfo=UTC))
    await page.goto(workspace.url)
    messages = page.locator("#messages")
    await expect(messages).to_contain_text("✏️ Changes requested")
    await expect(messages).to_contain_text("✅ Approved by @Max Manager, waiting since Today 6:39 PM 💤")
    await expect(messages).to_contain_text("Wednesday, February 11th, 2026 at 9:05:00 AM")
    await expect(messages).to_contain_text("2026-02-11, February 11th, 2026, February 11th, 2026")
    link = page.get_by_role("link", name="Wednesday, February 11th, 2026 at 9:05:00 AM")
    await expect(link).to_have_attribute("href", "https://example.com/r")
    text = await messages.inner_text()
    assert "@date" not in text and ":white_check_mark:" not in text and "fallback" not in text


async def test_modal_fields_are_found_by_their_labels(page: Page, workspace: Workspace) -> None:
    products = [ProductChoice("figma", "Figma", "Figma, Inc."), ProductChoice("miro", "Miro", "RealtimeBoard, Inc.")]
    await page.goto(workspace.url)
    await expect(page.get_by_label("Signed-in user")).to_have_value(EMMA.id)
    trigger = workspace.simulator.workspace.issue_trigger(EMMA.id)
    await workspace.client.views_open(trigger_id=trigger, view=request_modal(products, Prefill(seats=2)))

    dialog = page.get_by_role("dialog", name="Request software")
    await dialog.get_by_label("Product").select_option("miro")
    seats = dialog.get_by_label("Seats")
    await expect(seats).to_have_value("2")
    await seats.fill("3")
    await dialog.get_by_label("Business justification").fill("Workshops with clients")
    await dialog.get_by_label("Needed by").fill("2026-12-01")
    await dialog.get_by_label("Most sensitive data it will hold").select_option("confidential")
    hint = await dialog.get_by_label("Cost center").get_attribute("aria-describedby")
    assert hint and "Whose budget pays" in await page.locator(f"#{hint}").inner_text()
    await dialog.get_by_role("button", name="Submit request").click()
    await expect(dialog).to_have_count(0)

    submitted = next(r.data for r in workspace.receiver.received if r.data.get("type") == "view_submission")
    values = submitted["view"]["state"]["values"]
    assert values["product"]["product_select"]["selected_option"]["value"] == "miro"
    assert values["seats"]["seats_input"]["value"] == "3"
    assert values["justification"]["justification_input"]["value"] == "Workshops with clients"
    assert values["needed_by"]["needed_by_date"]["selected_date"] == "2026-12-01"
    assert values["data_classification"]["data_classification_select"]["selected_option"]["value"] == "confidential"


async def test_a_click_on_a_button_the_app_has_since_removed_is_answered_by_the_app(
    page: Page, workspace: Workspace
) -> None:
    posted = await workspace.dm(EMMA, text="Approve?", blocks=approval_blocks("req-77"))
    await page.clock.install()  # the page polls on a timer: hold it, so the button stays as first shown
    await page.goto(workspace.url)
    approve = page.get_by_role("button", name="Approve")
    await expect(approve).to_be_visible()
    await workspace.client.chat_update(
        channel=posted["channel"],
        ts=posted["ts"],
        text="Approved",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "Approved by someone else"}}],
    )

    async with page.expect_response(lambda r: r.url.endswith("/sim/action")) as clicked:
        await approve.click()  # the page still shows the button; Slack would send this click
    assert (await clicked.value).status == 200
    payload = workspace.receiver.received[-1].data
    assert payload["type"] == "block_actions" and payload["actions"][0]["value"] == "req-77"
    # The app answers as ours does, privately through the click's response_url.
    await workspace.http.post(payload["response_url"], json={"text": "This step was already approved."})
    await page.clock.run_for(2_000)
    messages = page.locator("#messages")
    await expect(messages).to_contain_text("This step was already approved.")
    await expect(messages).to_contain_text("Approved by someone else")
    await expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    toast = page.locator("#toast")
    assert not await toast.is_visible() or "/sim/action" not in await toast.inner_text()

    # A button on a message deleted since the page showed it: gone, said in words, no internal error.
    doomed = await workspace.dm(EMMA, text="Approve?", blocks=approval_blocks("req-78"))
    await page.clock.run_for(2_000)
    deny = page.get_by_role("button", name="Deny")
    await expect(deny).to_be_visible()
    state = workspace.simulator.workspace  # as a response_url's delete_original does
    conversation = state.conversations[doomed["channel"]]
    state.delete_message(conversation, state.find_message(conversation, doomed["ts"]))
    await deny.click()
    await expect(toast).to_have_text("That button is gone: the message or view changed before your click arrived.")
