"""/renewals lists the contracts of the next N days a page at a time, and says so: with 912
contracts in 90 days the list held the first 500 and nothing led to the other 412 (page or
API), while the Overview counted them all (issue 21's walk with `procure demo generate`)."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from catalog.db import make_engine, upgrade
from catalog.demo import DemoSize, generate
from catalog.rules.renewals import HolidayCalendar
from tests.web.conftest import FINANCE, ITAM, Console, console_settings, open_console
from web.pages import renewals
from web.renewal_actions import SNOOZE_CHOICES, ConsoleDecision


async def test_every_contract_of_the_window_is_on_one_page_of_the_list(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    console.sign_in(FINANCE)
    everything = (await console.http.get("/api/v1/renewals", params={"days": 400})).json()
    contracts = everything["contracts"]
    assert contracts >= 3 and everything["next_offset"] is None  # the demo's fit in one page
    monkeypatch.setattr(renewals, "PAGE_CONTRACTS", 2)

    seen: list[int] = []
    offset: int | None = 0
    while offset is not None:
        page = (await console.http.get("/api/v1/renewals", params={"days": 400, "offset": offset})).json()
        assert page["contracts"] == contracts and page["offset"] == offset
        on_page = {e["contract_id"] for e in page["events"]}
        assert 1 <= len(on_page) <= 2
        seen += sorted(on_page)
        offset = page["next_offset"]
    assert sorted(seen) == sorted({e["contract_id"] for e in everything["events"]})  # each once

    first = (await console.http.get("/renewals", params={"days": 400})).text
    assert f"{contracts} contracts with a date from" in first and "contracts 1–2 here" in first
    following = re.search(r'<a href="(/renewals\?[^"]*)" rel="next">Next contracts \((\d+) more\)</a>', first)
    assert following is not None and int(following.group(2)) == contracts - 2
    second = (await console.http.get(following.group(1).replace("&amp;", "&"))).text
    assert "contracts 3–" in second and 'rel="prev">Previous 2 contracts</a>' in second
    assert "days=400" in following.group(1)  # the window is kept


@pytest.fixture
async def generated(tmp_path: Path) -> AsyncIterator[Console]:
    """The console on a small generated company (`procure demo generate`'s generator)."""
    settings = console_settings(tmp_path)
    engine = make_engine(f"sqlite:///{tmp_path / 'procure.db'}")
    upgrade(engine)
    generate(
        engine,
        size=DemoSize(people=200, contracts=300, requests=50, seed=3),
        today=datetime.now(UTC).astimezone(ZoneInfo(settings.company_timezone)).date(),
        calendar=HolidayCalendar(country="US"),
        fy_start_month=1,
        rates={"USD": Decimal(1), "EUR": Decimal("1.08"), "GBP": Decimal("1.27")},
    )
    async for opened in open_console(engine, settings):
        yield opened
    engine.dispose()


async def test_a_calendar_month_with_more_contracts_than_it_shows_says_so(
    generated: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    """December held 512 contracts and the calendar showed 500 of them, silently."""
    generated.sign_in(FINANCE)
    events = (await generated.http.get("/api/v1/renewals", params={"days": 3660})).json()["events"]
    by_month: dict[str, set[int]] = {}
    for event in events:
        by_month.setdefault(event["on"][:7], set()).add(event["contract_id"])
    month = max(by_month, key=lambda m: len(by_month[m]))
    assert len(by_month[month]) > 1
    whole = (await generated.http.get("/renewals", params={"month": month})).text
    assert 'data-testid="calendar-partial"' not in whole
    monkeypatch.setattr(renewals, "MONTH_CONTRACTS", 1)
    partial = (await generated.http.get("/renewals", params={"month": month})).text
    said = re.search(r'data-testid="calendar-partial">The calendar shows 1 of the (\d+) contracts', partial)
    assert said is not None and int(said.group(1)) > 1


async def test_every_calendar_entry_leads_somewhere(generated: Console) -> None:
    """A calendar entry linked to `#contract-ID`, the Decide row of the list below; for a
    month past the list's 90 days (or a contract on another page of it) there was no such
    row and the click did nothing. Those open the asset instead."""
    generated.sign_in(FINANCE)
    today = datetime.now(UTC).date()
    for ahead in (0, 5):  # this month, and one the list (90 days) does not reach
        month = f"{today.year + (today.month - 1 + ahead) // 12}-{(today.month - 1 + ahead) % 12 + 1:02d}"
        page = (await generated.http.get("/renewals", params={"month": month})).text
        calendar = page.split('<table class="calendar">', 1)[1].split("</table>", 1)[0]
        anchors = set(re.findall(r'href="#(contract-\d+)"', calendar))
        targets = set(re.findall(r'id="(contract-\d+)"', page))
        assert anchors <= targets, (month, sorted(anchors - targets)[:5])
        assert anchors or re.search(r'href="/assets/\d+">', calendar), month
    assert 'href="/assets/' in calendar  # the far month's entries open their assets


async def test_snooze_offers_only_what_ends_by_the_deadline(generated: Console) -> None:
    """A term whose notice deadline is today offered Snooze 3/7/14/30 days, and each was
    refused: "Snoozing to … would pass the deadline; choose fewer days" (there were none)."""
    generated.sign_in(ITAM)
    listed = (await generated.http.get("/api/v1/renewals")).json()
    as_of = date.fromisoformat(listed["as_of"])
    deadlines = {e["contract_id"]: date.fromisoformat(e["deadline"]) for e in listed["events"]}
    page = (await generated.http.get("/renewals")).text
    offered = {
        int(contract): [int(n) for n in re.findall(r'<option value="(\d+)">', options)]
        for contract, options in re.findall(r'<select id="snooze-(\d+)" name="snooze_days">(.*?)</select>', page, re.S)
    }
    none = {int(c) for c in re.findall(r'data-testid="no-snooze-(\d+)"', page)}
    assert any(len(choices) < len(SNOOZE_CHOICES) for choices in offered.values()), "a deadline within 30 days"
    for contract, choices in offered.items():
        assert choices and all(as_of + timedelta(days=n) <= deadlines[contract] for n in choices), contract
    assert all(deadlines[c] < as_of + timedelta(days=3) for c in none)


async def test_a_decision_on_a_later_page_comes_back_to_that_page(
    generated: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decision on the second page answered with the first (`/renewals#contract-ID`), where
    the contract's row is not."""
    csrf = generated.sign_in(ITAM)
    monkeypatch.setattr(renewals, "PAGE_CONTRACTS", 40)
    decided: list[int] = []

    async def no_temporal(request: object) -> None:
        return None

    async def record(client: object, decision: ConsoleDecision, *, actor_slack_id: str | None) -> object:
        decided.append(decision.contract_id)
        return SimpleNamespace(message="Renegotiating.")

    monkeypatch.setattr(renewals, "_renewals", no_temporal)
    monkeypatch.setattr(renewals, "decide", record)
    form = None
    for offset in range(40, 400, 40):  # the first later page with a term still to decide
        page = (await generated.http.get("/renewals", params={"days": "400", "offset": str(offset)})).text
        form = re.search(r'<form method="post" action="/renewals/(\d+)/decide" class="decide">(.*?)</form>', page, re.S)
        if form is not None:
            break
    assert form is not None
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.group(2)))
    assert fields["csrf_token"] == csrf
    answer = await generated.http.post(
        f"/renewals/{form.group(1)}/decide",
        data={**fields, "back": html.unescape(fields["back"]), "action": "renegotiate"},
    )
    assert answer.status_code == 303 and decided == [int(form.group(1))]
    location = answer.headers["location"]
    assert location.startswith(f"/renewals?days=400&offset={offset}&notice=") and location.endswith(
        f"#contract-{form.group(1)}"
    )
    assert f'id="contract-{form.group(1)}"' in (await generated.http.get(location.split("#")[0])).text
