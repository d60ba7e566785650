"""What only a browser shows, found on issue 21's walk with generated data (`procure demo
generate`), each a defect a user met:

- In a 1024px-wide window no page scrolls sideways. The register, renewals, requests, catalog,
  budgets and Overview tables were wider than the window (long owner emails, budgets over,
  renewals decided by someone with a long address), /renewals by 500px, its Decide buttons out
  of sight.
- Cancel on /renewals asks first, whatever the product is called: "O'Reilly Learning" broke
  the inline `confirm('…')` and the contract was cancelled with no question asked.

The console is served by uvicorn on a generated SQLite database (no Temporal: these pages
only read), signed in by the cookie the OIDC callback would set."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from sqlalchemy import Engine
from sqlmodel import col, select, update

from catalog.db import make_engine, transaction, upgrade
from catalog.demo import DemoSize, generate
from catalog.models import Asset, Contract
from catalog.reports.renewals import calendar_rows
from catalog.rules.renewals import HolidayCalendar
from tests.browser.conftest import ARTIFACTS, WAIT_MS
from tests.web.conftest import ITAM, console_settings
from web.app import create_app
from web.deps import SESSION_COOKIE

try:
    from playwright.async_api import Browser, BrowserContext, Dialog, Route, expect
except ImportError:  # pragma: no cover - the dev extras install it
    pass

pytestmark = pytest.mark.e2e
PAGES = ("/", "/requests", "/assets", "/renewals", "/budgets", "/commitments", "/seats", "/catalog", "/policy")


#: A product name as a vendor's export spells it: the apostrophe once ended the confirm('…').
QUOTED = "O'Reilly Learning"


@dataclass
class Served:
    url: str
    cookie: str
    quoted_contract: int  # a contract of QUOTED whose notice deadline is open in the next 90 days


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, chromium: Path) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("narrow")
    settings = console_settings(tmp)
    engine = make_engine(f"sqlite:///{tmp / 'procure.db'}")
    upgrade(engine)
    generate(
        engine,
        size=DemoSize(people=300, contracts=400, requests=300, seed=3),
        today=datetime.now(UTC).astimezone(ZoneInfo(settings.company_timezone)).date(),
        calendar=HolidayCalendar(country="US"),
        fy_start_month=1,
        rates={"USD": Decimal(1), "EUR": Decimal("1.08"), "GBP": Decimal("1.27")},
    )
    quoted_contract = _name_one_open_term(engine, settings.company_timezone)
    app = create_app(settings, engine=engine)
    cookie = app.state.console.serializer.dumps({"e": ITAM, "c": secrets.token_urlsafe(16)}, salt="session")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_MS / 1000
    while not server.started:
        assert time.monotonic() < deadline, "the console did not start"
        time.sleep(0.05)
    yield Served(f"http://127.0.0.1:{port}", cookie, quoted_contract)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def _name_one_open_term(engine: Engine, timezone: str) -> int:
    """Rename the asset of one open notice deadline in the next 90 days to QUOTED (as an asset
    import would name it); returns its contract id."""
    today = datetime.now(UTC).astimezone(ZoneInfo(timezone)).date()
    with transaction(engine) as session:
        rows = calendar_rows(
            session, as_of=today, calendar=HolidayCalendar(country="US"), start=today, end=today + timedelta(days=90)
        ).rows
        row = next(r for r in rows if r.kind == "deadline" and r.status == "open")
        asset_id = session.exec(select(Contract.asset_id).where(Contract.id == row.contract_id)).one()
        session.execute(update(Asset).where(col(Asset.id) == asset_id).values(product_name=QUOTED))
        return row.contract_id


async def _signed_in(browser: Browser, served: Served, width: int) -> BrowserContext:
    context = await browser.new_context(viewport={"width": width, "height": 800}, timezone_id="UTC")
    context.set_default_timeout(WAIT_MS)
    await context.add_cookies([{"name": SESSION_COOKIE, "value": served.cookie, "url": served.url}])
    return context


async def test_cancel_asks_first_whatever_the_product_is_called(browser: Browser, served: Served) -> None:
    context = await _signed_in(browser, served, 1280)
    page = await context.new_page()
    asked: list[str] = []
    posted: list[str] = []
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))

    async def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.dismiss()

    async def record(route: Route) -> None:  # nothing is decided: Temporal is not running here
        posted.append(route.request.url)
        await route.fulfill(status=204, body="")

    page.on("dialog", dismiss)
    await page.route("**/renewals/*/decide", record)
    await page.goto(f"{served.url}/renewals")
    row = page.locator(f"#contract-{served.quoted_contract}")
    await expect(row.get_by_role("link", name=QUOTED)).to_be_visible()
    async with page.expect_event("dialog"):  # no question asked: this times out
        await row.get_by_role("button", name="Cancel", exact=True).click()
    assert asked[0].startswith(f"Cancel {QUOTED}? The contract ends with this term")
    assert posted == [] and script_errors == []  # dismissed: nothing sent
    await context.close()


async def test_no_page_scrolls_sideways_in_a_1024px_window(browser: Browser, served: Served) -> None:
    context = await _signed_in(browser, served, 1024)
    page = await context.new_page()
    too_wide = {}
    for path in PAGES:
        response = await page.goto(served.url + path)
        assert response is not None and response.status == 200, path
        scroll, window = await page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        if scroll > window:
            too_wide[path] = scroll - window
    await page.goto(served.url + "/renewals")
    (ARTIFACTS / "narrow").mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "narrow" / "renewals-1024.png"))
    await context.close()
    assert too_wide == {}, f"pages wider than a 1024px window, by px: {too_wide}"


async def test_today_stands_out_in_the_renewals_calendar(browser: Browser, served: Served) -> None:
    """Today's cell was marked for screen readers only (aria-current) and looked like any day."""
    context = await _signed_in(browser, served, 1280)
    page = await context.new_page()
    await page.goto(f"{served.url}/renewals")
    today = page.locator('table.calendar td[aria-current="date"]')
    await expect(today).to_have_count(1)
    background = "el => getComputedStyle(el).backgroundColor"
    other = page.locator("table.calendar td:not([aria-current]):not(.muted)").first
    assert await today.evaluate(background) != await other.evaluate(background)
    await context.close()
