"""What the console says to assistive technology, found on issue 21's walk."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from catalog.db import make_engine, transaction, upgrade
from catalog.models import Person
from tests.web.conftest import EMPLOYEE, ITAM, Console, console_settings, open_console, seeded
from tests.web.world import add_requests


async def test_ask_to_release_is_named_by_its_own_words_and_whose_seat_it_is(sqlite_console: Console) -> None:
    """Its name was "Ask the holder of seat 17 to release it": "Ask to release", the words on
    the button, were not in it (voice control and Playwright's get_by_role could not find it),
    and "seat 17" told a screen-reader user nothing. (WCAG 2.5.3, label in name.)"""
    sqlite_console.sign_in(ITAM)
    page = (await sqlite_console.http.get("/seats")).text
    names = re.findall(r'<button type="submit" aria-label="([^"]*)">Ask to release</button>', page)
    assert names, "no Ask to release button on /seats"
    assert all(name.startswith("Ask to release: ") for name in names), names
    assert "Ask to release: Figma seat of finance@example.com" in names


@pytest.fixture
async def with_requests(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Console]:
    """The console on SQLite with requests of several ages (tests/web/world.py)."""
    for engine in seeded("sqlite", tmp_path, request):
        add_requests(engine)
        async for console in open_console(engine, console_settings(tmp_path)):
            yield console


async def test_the_age_column_says_which_way_it_is_sorted(with_requests: Console) -> None:
    """/requests opens newest first: the youngest on top, 0 d first, but the Age header said
    "Age ▼" (aria-sort descending). Clicking it lists the oldest first, and says so."""
    with_requests.sign_in(ITAM)
    newest_first = (await with_requests.http.get("/requests")).text
    header = re.search(r'<th scope="col" aria-sort="(\w+)">\s*<a href="([^"]*)">Age ([▲▼])</a>', newest_first)
    assert header is not None
    assert header.group(1, 3) == ("ascending", "▲")
    assert header.group(2).endswith("sort=created")  # the other way round: the oldest first
    oldest_first = (await with_requests.http.get("/requests", params={"sort": "created"})).text
    header = re.search(r'<th scope="col" aria-sort="(\w+)">\s*<a href="([^"]*)">Age ([▲▼])</a>', oldest_first)
    assert header is not None
    assert header.group(1, 3) == ("descending", "▼")
    assert header.group(2).endswith("sort=-created")
    ages = [int(age) for age in re.findall(r'<td class="num">(\d+) d</td>', oldest_first)]
    assert len(ages) > 1 and ages == sorted(ages, reverse=True)


async def test_cloud_providers_are_named_as_they_name_themselves(sqlite_console: Console) -> None:
    """/commitments read "Demo Azure MACC 2025 (AZURE MACC, …)" and "Billed by AZURE"."""
    sqlite_console.sign_in(ITAM)
    page = (await sqlite_console.http.get("/commitments")).text
    assert "AZURE" not in page
    assert "(Azure MACC, " in page and "Billed by Azure <small>" in page and "Billed by AWS <small>" in page


async def test_an_empty_catalog_says_so(tmp_path: Path) -> None:
    """A new install's /catalog was a row of column headers over nothing."""
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    upgrade(engine)
    with transaction(engine) as session:
        session.add(Person(email=ITAM, name="Ian ITAM", slack_id="U0ITAM", roles=["itam"]))
        session.add(Person(email=EMPLOYEE, name="Emma Employee", slack_id="U0EMPLOYEE", roles=[]))
    async for console in open_console(engine, console_settings(tmp_path)):
        console.sign_in(ITAM)
        page = (await console.http.get("/catalog")).text
        assert 'data-testid="catalog-empty">No product in the catalog yet: <a href="/catalog/new">add one</a>' in page
        console.sign_in(EMPLOYEE)
        page = (await console.http.get("/catalog")).text
        assert 'data-testid="catalog-empty">No product in the catalog yet.</td>' in page
    engine.dispose()


async def test_a_page_past_the_last_request_says_so(with_requests: Console) -> None:
    """`/requests?offset=3000` of 2,000 requests read "2000 requests, showing 3001–3000."."""
    with_requests.sign_in(ITAM)
    page = (await with_requests.http.get("/requests", params={"offset": "3000"})).text
    assert "showing 3001" not in page
    assert re.search(r'\d+ requests; none on this page, past the last one \(<a href="/requests">first page</a>\)', page)
