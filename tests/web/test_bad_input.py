"""What a person typing into the console's forms and addresses sees when a value cannot be
taken: a page naming the field, never FastAPI's raw JSON or a server error (issue 21's walk)."""

from __future__ import annotations

import re
from datetime import datetime

from tests.web.conftest import ITAM, Console
from tests.web.world import add_requests


async def test_a_query_value_a_page_refuses_is_a_page_naming_the_field(sqlite_console: Console) -> None:
    sqlite_console.sign_in(ITAM)
    # "0" typed into /seats' "Idle for at least (days)" field
    page = await sqlite_console.http.get("/seats", params={"days": "0"})
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert "days: input should be greater than or equal to 1 (not &#39;0&#39;)" in page.text
    assert "Seats" in page.text  # the console's navigation, so the person can go on
    for path, field in (("/budgets?year=abc", "year"), ("/seats?never_used=maybe", "never_used")):
        refused = await sqlite_console.http.get(path)
        assert refused.status_code == 422 and refused.headers["content-type"].startswith("text/html"), path
        assert f"{field}: input should be" in refused.text
    # the API keeps FastAPI's JSON
    api = await sqlite_console.http.get("/api/v1/seats", params={"days": "0"})
    assert api.status_code == 422
    assert api.json()["detail"][0]["loc"] == ["query", "days"]


async def test_a_number_too_big_for_the_database_is_a_bad_value_not_a_server_error(sqlite_console: Console) -> None:
    """`/assets/99999999999999999999` and `?offset=…` of that size were 500s (SQLite's
    OverflowError); `/renewals?month=9999-12` too (its "next month" is not a date)."""
    csrf = sqlite_console.sign_in(ITAM)
    huge = "9" * 20
    for path in (
        f"/assets/{huge}",
        f"/api/v1/assets/{huge}",
        f"/requests?offset={huge}",
        f"/api/v1/requests?offset={huge}",
        f"/discovered/{huge}",
        f"/api/v1/discoveries/{huge}",
        f"/discovered?offset={huge}",
        f"/api/v1/discoveries?offset={huge}",
    ):
        answer = await sqlite_console.http.get(path)
        assert answer.status_code == 422, (path, answer.status_code)
    for path in (
        f"/seats/{huge}/release-ask",
        f"/renewals/{huge}/decide",
        f"/renewals/feed/{huge}/revoke",
        f"/discovered/{huge}/adopt",
    ):
        answer = await sqlite_console.http.post(path, data={"csrf_token": csrf})
        assert answer.status_code == 422, (path, answer.status_code)
    for month in ("9999-12", "0001-01"):
        calendar = await sqlite_console.http.get("/renewals", params={"month": month})
        assert calendar.status_code == 422 and "the calendar shows the years 1901 to 9998" in calendar.text
    assert (await sqlite_console.http.get("/renewals", params={"month": "9998-12"})).status_code == 200
    assert (await sqlite_console.http.get("/requests", params={"offset": "-3"})).status_code == 200  # the first page


async def test_a_whole_number_field_of_the_asset_form_refuses_what_is_not_one(sqlite_console: Console) -> None:
    """ "²" in Seats passed `str.isdigit()` and then failed in `int()`: a server error."""
    csrf = sqlite_console.sign_in(ITAM)
    for name, typed in (("seats", "²"), ("term_months", "12½"), ("notice_days", "ten"), ("seats", "-3")):
        refused = await sqlite_console.http.post("/assets/1", data={"csrf_token": csrf, name: typed})
        assert refused.status_code == 400, (name, typed, refused.status_code)
        assert f'id="err-{name}"' in refused.text
    saved = await sqlite_console.http.post("/assets/1", data={"csrf_token": csrf, "seats": " 12 "})
    assert saved.status_code == 303


async def test_a_catalog_edit_with_more_seats_than_can_be_stored_is_a_problem_at_its_field(
    sqlite_console: Console,
) -> None:
    csrf = sqlite_console.sign_in(ITAM)
    form = {"csrf_token": csrf, "name": "Miro", "category": "whiteboard", "status": "approved", "currency": "USD"}
    refused = await sqlite_console.http.post("/catalog/miro/edit", data={**form, "seats_total": "9" * 20})
    assert refused.status_code == 422
    assert 'data-testid="error-seats_total">seats_total must be at most 100,000' in refused.text


async def test_request_filters_and_seat_pages_too_big_or_odd_are_refused_by_name(sqlite_console: Console) -> None:
    """`/requests?stage=…` or `min_age_days=` of 20 digits, or "²", and `/seats?after=` of 20
    digits were server errors (SQLite overflow, a date before year 1, int("²"))."""
    sqlite_console.sign_in(ITAM)
    huge = "9" * 20
    for name, value in (("stage", huge), ("min_age_days", huge), ("max_age_days", "²"), ("stage", "²")):
        for path in ("/requests", "/api/v1/requests"):
            answer = await sqlite_console.http.get(path, params={name: value})
            assert answer.status_code == 400, (path, name, value, answer.status_code)
            assert "must be a whole number from 0 to" in answer.text
    assert (await sqlite_console.http.get("/requests", params={"min_age_days": "36500"})).status_code == 200
    for path in ("/seats", "/api/v1/seats"):
        assert (await sqlite_console.http.get(path, params={"after": huge})).status_code == 422, path


async def test_the_request_api_gives_every_instant_with_its_offset(sqlite_console: Console) -> None:
    """On SQLite the detail gave `2026-12-04T14:56:00` (no offset: a client reads it as its own
    local time) while the list gave `…+00:00`."""
    add_requests(sqlite_console.engine)
    sqlite_console.sign_in(ITAM)
    listed = (await sqlite_console.http.get("/api/v1/requests")).json()["items"]
    assert listed
    detail = (await sqlite_console.http.get(f"/api/v1/requests/{listed[0]['id']}")).json()
    instants = [detail["created_at"], *(e["at"] for e in detail["timeline"]), *(m["at"] for m in detail["messages"])]
    instants += [s["decided_at"] for s in detail["route"] if s["decided_at"]]
    assert len(instants) > 1
    assert all(datetime.fromisoformat(moment).utcoffset() is not None for moment in instants), instants
    assert detail["created_at"] == listed[0]["created_at"]


async def test_a_saved_price_reads_in_the_contracts_currency(sqlite_console: Console) -> None:
    """ "Saved: unit price: 180.00 → 12.50; annual cost: …" named no currency."""
    csrf = sqlite_console.sign_in(ITAM)
    saved = await sqlite_console.http.post("/assets/1", data={"csrf_token": csrf, "unit_price": "12.50"})
    assert saved.status_code == 303
    page = (await sqlite_console.http.get(saved.headers["location"])).text
    said = re.search(r'data-testid="saved">Saved: ([^<]*)<', page)
    assert said is not None and "unit price: " in said.group(1)
    assert re.search(r"unit price: [\d,.]+ [A-Z]{3} → 12\.50 [A-Z]{3}", said.group(1)), said.group(1)


async def test_explain_says_what_is_wrong_with_a_negative_seat_count(sqlite_console: Console) -> None:
    """Seats "-3" in the explain form read "seats must be a whole number, not '-3'"."""
    sqlite_console.sign_in(ITAM)
    form = {"explain": "1", "requester": "employee@example.com", "product": "figma"}
    for typed, said in (("-3", "Seats must be between 1 and 100,000."), ("0", "Seats must be between 1 and 100,000.")):
        page = (await sqlite_console.http.get("/policy", params={**form, "seats": typed})).text
        assert said in page and "must be a whole number" not in page, typed
    page = (await sqlite_console.http.get("/policy", params={**form, "seats": "two"})).text
    assert "seats must be a whole number, not &#39;two&#39;" in page
