"""/renewals lists the contracts of the next N days a page at a time, and says so: with 912
contracts in 90 days the list held the first 500 and nothing led to the other 412 (page or
API), while the Overview counted them all (issue 21's walk with `procure demo generate`)."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import FINANCE, Console
from web.pages import renewals


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
