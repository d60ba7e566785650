"""What the console says to assistive technology, found on issue 21's walk."""

from __future__ import annotations

import re

from tests.web.conftest import ITAM, Console


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
