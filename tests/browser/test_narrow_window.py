"""The console in a 1024px-wide window (issue 21's walk: "narrow window"): no page scrolls
sideways. With generated data (long owner emails, budgets over, renewals decided by someone
with a long address) the register, renewals, requests, catalog, budgets and Overview tables
were wider than the window, /renewals by 540px, its Decide buttons out of sight.

The console is served by uvicorn on a generated SQLite database (no Temporal: these pages
only read), signed in by the cookie the OIDC callback would set."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import uvicorn

from catalog.db import make_engine, upgrade
from catalog.demo import DemoSize, generate
from catalog.rules.renewals import HolidayCalendar
from tests.browser.conftest import ARTIFACTS, WAIT_MS
from tests.web.conftest import ITAM, console_settings
from web.app import create_app
from web.deps import SESSION_COOKIE

try:
    from playwright.async_api import Browser
except ImportError:  # pragma: no cover - the dev extras install it
    pass

pytestmark = pytest.mark.e2e
PAGES = ("/", "/requests", "/assets", "/renewals", "/budgets", "/commitments", "/seats", "/catalog", "/policy")


@dataclass
class Served:
    url: str
    cookie: str


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
    yield Served(f"http://127.0.0.1:{port}", cookie)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


async def test_no_page_scrolls_sideways_in_a_1024px_window(browser: Browser, served: Served) -> None:
    context = await browser.new_context(viewport={"width": 1024, "height": 800}, timezone_id="UTC")
    await context.add_cookies([{"name": SESSION_COOKIE, "value": served.cookie, "url": served.url}])
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
