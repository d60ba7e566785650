"""Issue 22's console part in a real browser (Debian's chromium via Playwright) against the
whole product as `procure dev` runs it: with the shipped sample exports imported and
`procure discover run` having posted the ITAM digest to the simulator, Ian ITAM opens
`/discovered`, opens ChatGPT and adopts it; the asset is created and the digest in the
simulator's #itam channel is redrawn in place (ChatGPT adopted, its buttons gone). The page is
saved as tests/artifacts/console-discovered.png."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from catalog.db import make_engine, transaction
from catalog.models import Asset, Discovery
from catalog.settings import get_settings
from procure.testing import DevStack, dev_stack
from tests.browser.conftest import ARTIFACTS, WAIT_MS
from tests.discovery_samples import discover, import_samples
from tests.helpers import eventually

try:
    from playwright.async_api import Browser, expect
except ImportError:  # pragma: no cover - the dev extras install it
    pass

pytestmark = pytest.mark.e2e
IAN = "U0ITAM"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, reference_dir: Path, chromium: Path) -> Iterator[DevStack]:
    with dev_stack(
        tmp_path_factory.mktemp("console-discovered"), extra_env={"SLACK_REFERENCE_DIR": str(reference_dir)}
    ) as dev:
        yield dev


def _digest(stack: DevStack) -> dict[str, Any] | None:
    state = httpx.get(f"{stack.simulator_url}/sim/state", params={"user": IAN}, timeout=10).json()
    itam = next(c for c in state["channels"] if c["name"] == "itam")
    return next((m for m in reversed(itam["messages"]) if m["is_bot"] and "Discovery" in json.dumps(m["blocks"])), None)


def _chatgpt_card(message: dict[str, Any]) -> str:
    """The digest's text about ChatGPT and whether its buttons are still there."""
    shown = [json.dumps(b) for b in message["blocks"]]
    at = next(i for i, b in enumerate(shown) if "ChatGPT" in b)
    return " ".join(shown[at : at + 3])


async def test_ian_adopts_a_discovered_product_and_the_slack_digest_is_redrawn(
    stack: DevStack, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", stack.database_url)
    monkeypatch.setenv("SLACK_API_URL", f"{stack.simulator_url}/api/")
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "ITAM_CHANNEL", "POLICY_FILE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    try:
        await asyncio.to_thread(import_samples)
        out = await asyncio.to_thread(discover, "--notify")  # posts the digest, as the default run does
    finally:
        get_settings.cache_clear()
    assert "digest posted to #itam" in out, out
    posted = _digest(stack)
    assert posted is not None and "known:chatgpt" in _chatgpt_card(posted)  # with its buttons

    page = await browser.new_page(viewport={"width": 1280, "height": 1400})
    page.set_default_timeout(WAIT_MS)
    await page.goto(f"{stack.console_url}/discovered")
    await page.get_by_role("link", name="Sign in with Slack").click()
    await page.get_by_role("button", name="Continue as Ian ITAM").click()
    await expect(page.get_by_role("heading", name="Discovered", exact=True)).to_be_visible()
    table = page.get_by_test_id("discovered")
    await expect(table.get_by_role("row", name="LastPass")).to_contain_text("blocked, in use")
    await expect(table).not_to_contain_text("Delta Air")  # non-SaaS hidden
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "console-discovered.png"), full_page=True)

    await table.get_by_role("link", name="ChatGPT").click()
    await expect(page.get_by_test_id("spend-lines")).to_contain_text("OPENAI *CHATGPT SUBSCR")
    await page.get_by_test_id("adopt").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("Adopted ChatGPT")
    await expect(page.get_by_test_id("spend-lines")).to_contain_text("OPENAI *CHATGPT SUBSCR")
    await page.screenshot(path=str(ARTIFACTS / "console-discovered-adopted.png"), full_page=True)
    await page.close()

    engine = make_engine(stack.database_url)
    try:
        with transaction(engine) as session:
            row = session.exec(select(Discovery).where(Discovery.key == "known:chatgpt")).one()
            asset = session.get(Asset, row.asset_id)
            assert row.decision == "adopted" and asset is not None and asset.owner_email == "engineer@example.com"
    finally:
        engine.dispose()

    async def redrawn() -> bool:
        message = _digest(stack)
        return message is not None and message["ts"] == posted["ts"] and "Adopted" in _chatgpt_card(message)

    await eventually(redrawn, 60, "the #itam digest redrawn with ChatGPT adopted")
    message = _digest(stack)
    assert message is not None and "known:chatgpt" not in _chatgpt_card(message)  # its buttons are gone
