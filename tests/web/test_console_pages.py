"""The console's Overview, Renewals, Budgets, Commitments, Seats, Catalog and Policy pages and
their API twins, on the seeded demo database (SQLite and PostgreSQL): the role matrix, the
figures, the calendar feed read back with a real iCalendar parser, catalog edits with the
checks of `procure catalog check`, and the policy's explain form."""

from __future__ import annotations

import re
from datetime import date

import icalendar
from sqlmodel import select

from catalog.db import transaction
from catalog.models import AuditEvent, Budget, Product
from tests.web.conftest import EMPLOYEE, FINANCE, FINOPS, ITAM, MANAGER, SECURITY, Console

REGISTER_APIS = ("/api/v1/overview", "/api/v1/renewals", "/api/v1/budgets", "/api/v1/commitments", "/api/v1/seats")
OPEN_APIS = ("/api/v1/catalog", "/api/v1/policy")
EVERYTHING = (ITAM, FINANCE, FINOPS)
OTHERS = (SECURITY, MANAGER, EMPLOYEE)
EXPLAIN = {"requester": EMPLOYEE, "product": "figma", "seats": 2}


async def test_the_role_matrix_of_every_page_and_api(console: Console) -> None:
    http = console.http
    for path in (*REGISTER_APIS, *OPEN_APIS):
        assert (await http.get(path)).status_code == 401, path
    assert (await http.post("/api/v1/policy/explain", json=EXPLAIN)).status_code == 401
    assert (await http.get("/renewals", follow_redirects=False)).status_code == 303  # to sign-in
    seen: dict[str, dict[str, int]] = {}
    for email in (*EVERYTHING, *OTHERS):
        csrf = console.sign_in(email)
        row = {path: (await http.get(path)).status_code for path in (*REGISTER_APIS, *OPEN_APIS)}
        row["explain"] = (
            await http.post("/api/v1/policy/explain", json=EXPLAIN, headers={"X-CSRF-Token": csrf})
        ).status_code
        row["catalog edit"] = (
            await http.put("/api/v1/catalog/figma", json={"name": "Figma"}, headers={"X-CSRF-Token": csrf})
        ).status_code
        for page in ("/", "/renewals", "/budgets", "/commitments", "/seats", "/catalog", "/policy"):
            row[page] = (await http.get(page, follow_redirects=False)).status_code
        seen[email] = row
    for email in EVERYTHING:
        assert set(seen[email][p] for p in (*REGISTER_APIS, *OPEN_APIS, "explain")) == {200}, (email, seen[email])
        assert set(seen[email][p] for p in ("/", "/renewals", "/budgets", "/commitments", "/seats")) == {200}
    for email in OTHERS:
        assert [seen[email][p] for p in REGISTER_APIS] == [403] * len(REGISTER_APIS), (email, seen[email])
        assert seen[email]["explain"] == 403
        assert [seen[email][p] for p in ("/renewals", "/budgets", "/commitments", "/seats")] == [403] * 4
        assert seen[email]["/"] == 303  # the overview is for cost owners: others start at their requests
    for email in (*EVERYTHING, *OTHERS):
        assert [seen[email][p] for p in (*OPEN_APIS, "/catalog", "/policy")] == [200] * 4
    # Only ITAM edits the catalog (a partial product is refused field by field: 422).
    assert seen[ITAM]["catalog edit"] == 422
    assert {seen[e]["catalog edit"] for e in (FINANCE, FINOPS, *OTHERS)} == {403}


async def test_the_overview_counts_what_the_lists_behind_it_list(console: Console) -> None:
    console.sign_in(FINANCE)
    overview = (await console.http.get("/api/v1/overview")).json()
    assert {r["within_days"] for r in overview["renewals"]} == {30, 60, 90}
    for days in (30, 60, 90):
        events = (await console.http.get("/api/v1/renewals", params={"days": days})).json()["events"]
        due = [e for e in events if e["kind"] == "renewal" and e["status"] != "cancelled"]
        for window in (r for r in overview["renewals"] if r["within_days"] == days):  # one per currency
            mine = [e for e in due if e["currency"] == window["currency"]]
            assert window["count"] == len(mine)
            assert window["annual_cents"] == sum(e["annual_cost_cents"] for e in mine)
    seats = (await console.http.get("/api/v1/seats")).json()
    assert overview["idle_seats"] == seats["totals"]
    assert sum(t["seats"] for t in seats["totals"]) == len(seats["seats"])  # one page holds the demo's
    budgets = (await console.http.get("/api/v1/budgets")).json()["budgets"]
    assert [b["cost_center"] for b in overview["spend"]] == [b["cost_center"] for b in budgets]
    assert budgets and all(len(b["months"]) == 12 for b in budgets)
    commitments = (await console.http.get("/api/v1/commitments")).json()["commitments"]
    assert [c["name"] for c in overview["commitments"]] == [c["name"] for c in commitments]
    page = (await console.http.get("/")).text
    # Both charts, each with its table, and the figures link to their lists.
    assert 'data-chart="spend-USD-data"' in page and 'data-chart="drawdown-USD-data"' in page
    ninety = sum(r["count"] for r in overview["renewals"] if r["within_days"] == 90)
    assert f'href="/renewals?days=90" data-testid="renewals-90">{ninety}<' in page
    assert "/static/vendor/chart.umd.min.js" in page
    for path in ("/renewals", "/renewals?month=2027-01", "/budgets", "/commitments", "/seats?never_used=true"):
        assert (await console.http.get(path)).status_code == 200, path


async def test_the_calendar_feed_is_read_by_an_icalendar_parser_and_revoked_with_its_link(console: Console) -> None:
    csrf = console.sign_in(ITAM)
    page = await console.http.post("/renewals/feed", data={"csrf_token": csrf})
    assert page.status_code == 200
    url = re.search(r'data-testid="feed-url" value="([^"]+)"', page.text) or re.search(
        r'value="([^"]+)" data-testid="feed-url"', page.text
    )
    assert url is not None
    feed_url = url.group(1).replace("&amp;", "&")
    console.sign_out()  # a calendar app has no session: the token in the URL is all it has
    feed = await console.http.get(feed_url.removeprefix("http://127.0.0.1:3002"))
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(feed.text)
    events = {str(e["UID"]): e.decoded("DTSTART") for e in calendar.walk("VEVENT")}
    csrf = console.sign_in(ITAM)
    listed = (await console.http.get("/api/v1/renewals", params={"days": 366})).json()["events"]
    assert listed
    assert events == {
        f"{e['kind']}-{e['contract_id']}-{e['renewal_date']}@procure-bot": date.fromisoformat(e["on"]) for e in listed
    }
    # each event links back to its asset in the console
    links = {str(e["UID"]): str(e["URL"]) for e in calendar.walk("VEVENT")}
    assert links == {
        f"{e['kind']}-{e['contract_id']}-{e['renewal_date']}@procure-bot": f"http://127.0.0.1:3002/assets/{e['asset_id']}"
        for e in listed
    }
    listing = (await console.http.get("/renewals")).text
    token_id = re.search(r"/renewals/feed/(\d+)/revoke", listing)
    assert token_id is not None
    revoked = await console.http.post(f"/renewals/feed/{token_id.group(1)}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303
    console.sign_out()
    assert (await console.http.get(feed_url.removeprefix("http://127.0.0.1:3002"))).status_code == 401
    assert (await console.http.get("/renewals.ics", params={"token": "pcw_forged"})).status_code == 401


async def test_an_employees_calendar_link_shows_them_nothing(console: Console) -> None:
    from datetime import UTC, datetime

    from catalog.repository import api_tokens

    with transaction(console.engine) as session:
        issued = api_tokens.create(
            session, email=EMPLOYEE, actor="test", now=datetime.now(UTC), expires_in=None, purpose="calendar"
        )
    assert (await console.http.get("/renewals.ics", params={"token": issued.token})).status_code == 401


async def test_a_catalog_edit_is_checked_field_by_field_and_writes_nothing_until_it_passes(console: Console) -> None:
    csrf = console.sign_in(ITAM)
    with transaction(console.engine, read_only=True) as session:
        before = session.get(Product, "figma")
        assert before is not None
        name, aliases = before.name, list(before.aliases)
    form = {
        "csrf_token": csrf,
        "name": "Figma Pro",
        "vendor": "Figma",
        "category": "design",
        "status": "blocked",
        "alternatives": "nope",
        "owner": "not-an-email",
        "currency": "usd",
        "price_cents": "12.50",
    }
    refused = await console.http.post("/catalog/figma/edit", data=form)
    assert refused.status_code == 422
    page = refused.text
    for field, message in (
        ("status", "figma is blocked without a block_reason"),
        ("alternatives", "unknown alternative &#39;nope&#39;"),
        ("owner", "owner &#39;not-an-email&#39; must be an email address"),
        ("currency", "currency &#39;usd&#39; is not an ISO 4217 currency code such as USD, EUR or GBP"),
        ("price_cents", "price_cents must be a whole number, not &#39;12.50&#39;"),
    ):
        assert re.search(f'id="error-{field}" data-testid="error-{field}">[^<]*{re.escape(message)}', page), field
        assert f'aria-describedby="error-{field}"' in page  # tied to its input for screen readers
    with transaction(console.engine, read_only=True) as session:
        unchanged = session.get(Product, "figma")
        assert unchanged is not None and unchanged.name == name
    form.update(status="approved", alternatives="miro", owner="itam@example.com", currency="USD", price_cents="1500")
    form["aliases"] = "; ".join(aliases)
    saved = await console.http.post("/catalog/figma/edit", data=form, follow_redirects=False)
    assert saved.status_code == 303
    with transaction(console.engine, read_only=True) as session:
        after = session.get(Product, "figma")
        assert after is not None and (after.name, after.price_cents, after.alternatives) == (
            "Figma Pro",
            1500,
            ["miro"],
        )
        audit = session.exec(select(AuditEvent).where(AuditEvent.entity_id == "figma")).all()
    assert [(a.action, a.actor) for a in audit] == [("product_changed", ITAM)]
    assert "name" in audit[0].detail["changed"]
    # The API twin: the same checks, problems by field.
    problems = await console.http.put(
        "/api/v1/catalog/newtool",
        json={"name": "New", "category": "x", "aliases": ["figma"], "seats_total": -1},
        headers={"X-CSRF-Token": csrf},
    )
    assert problems.status_code == 422
    assert problems.json()["detail"]["problems"] == {
        "aliases": ["alias 'figma' is already used by 'figma' in the database"],
        "seats_total": ["seats_total can't be negative (-1)"],
    }
    with transaction(console.engine, read_only=True) as session:
        assert session.get(Product, "newtool") is None


async def test_the_explain_form_shows_the_route_procure_policy_explain_prints(console: Console) -> None:
    csrf = console.sign_in(FINANCE)
    answer = await console.http.post("/api/v1/policy/explain", json=EXPLAIN, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200
    result = answer.json()
    assert result["outcome"] == "route" and result["steps"][0]["role"] == "manager"
    assert result["steps"][0]["approver"]["email"] == MANAGER
    page = (await console.http.get("/policy", params={"explain": "1", **{k: str(v) for k, v in EXPLAIN.items()}})).text
    assert 'data-testid="explain-result"' in page and "manager@example.com" in page
    bad = await console.http.get("/policy", params={"explain": "1", "requester": EMPLOYEE})
    assert "`product` (a catalog id or a name) is required" in bad.text
    refused = await console.http.post(
        "/api/v1/policy/explain", json={"requester": EMPLOYEE, "color": "red"}, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status_code == 422 and "unknown field(s) color" in refused.json()["detail"]
    made_up = await console.http.get("/policy", params={"explain": "1", **EXPLAIN, "currency": "XYZ"})
    assert "`currency`: &#39;XYZ&#39; is not an ISO 4217 currency code" in made_up.text
    assert 'data-testid="explain-result"' not in made_up.text
    versions = (await console.http.get("/api/v1/policy")).json()["versions"]
    assert versions[0]["in_force"] and versions[0]["version"] == result["policy_version"]


async def test_a_new_product_from_the_form_and_an_id_already_taken(sqlite_console: Console) -> None:
    console = sqlite_console
    csrf = console.sign_in(ITAM)
    form = {
        "csrf_token": csrf,
        "id": "loom",
        "name": "Loom",
        "vendor": "Atlassian",
        "category": "video",
        "alternatives": "zoom",
        "price_cents": "1500",
        "currency": "USD",
        "auto_renew_present": "1",
        "auto_renew": "true",
    }
    created = await console.http.post("/catalog/new", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    with transaction(console.engine, read_only=True) as session:
        loom = session.get(Product, "loom")
        # The renew checkbox alone makes no contract (the form had no contract dates).
        assert loom is not None and loom.contract_start is None and loom.alternatives == ["zoom"]
        audit = session.exec(select(AuditEvent).where(AuditEvent.entity_id == "loom")).all()
    assert [(a.action, a.actor) for a in audit] == [("product_added", ITAM)]
    again = await console.http.post("/catalog/new", data={**form, "name": "Loom 2"})
    assert again.status_code == 422
    assert "a product &#39;loom&#39; already exists; edit it instead" in again.text
    assert (await console.http.get("/catalog/nope/edit")).status_code == 404


async def test_budgets_lead_with_the_lines_at_risk_and_spare_the_untouched_their_zeros(
    sqlite_console: Console,
) -> None:
    console = sqlite_console
    console.sign_in(FINANCE)
    year = (await console.http.get("/api/v1/budgets")).json()["fiscal_year"]
    with transaction(console.engine) as session:
        session.add(Budget(cost_center="CC-QUIET", fiscal_year=year, annual_cents=1_000_000, currency="EUR"))
        session.add(Budget(cost_center="CC-ZOVER", fiscal_year=year, annual_cents=100_00, committed_cents=900_00))
    page = (await console.http.get("/budgets")).text
    summary = page[page.index('data-testid="budget-summary"') : page.index("</table>")]
    centers = re.findall(r'<a href="#cc-([^"]+)">', summary)
    assert centers[0] == "CC-ZOVER", centers  # forecast over budget: first, though last by name
    assert centers.index("CC-QUIET") > centers.index("CC-ZOVER")
    assert "(over by 800.00 USD)" in summary
    quiet = page[page.index('id="cc-CC-QUIET"') :]
    quiet = quiet[: quiet.index("</section>")]
    assert "Nothing committed or spent on this line" in quiet and "10,000.00 EUR is available" in quiet
    assert "<table" not in quiet and "data-chart" not in quiet
    over = page[page.index('id="cc-CC-ZOVER"') :]
    assert "<details open>" in over[: over.index("</section>")]  # the first line at risk is open
    api = (await console.http.get("/api/v1/budgets")).json()["budgets"]
    assert {"CC-QUIET", "CC-ZOVER"} <= {b["cost_center"] for b in api}  # the API keeps every line


async def test_a_commitment_leads_with_its_figures_and_folds_its_months(sqlite_console: Console) -> None:
    sqlite_console.sign_in(FINANCE)
    page = (await sqlite_console.http.get("/commitments")).text
    commitments = (await sqlite_console.http.get("/api/v1/commitments")).json()["commitments"]
    assert commitments
    for c in commitments:
        section = page[page.index(f'<section id="{c["name"].replace(" ", "-")}"') :]
        section = section[: section.index("</section>")]
        # The figures and the chart first; the month table (a row a month of the term) folded.
        assert section.index('data-testid="commitment-figures"') < section.index("data-chart=")
        assert section.index("data-chart=") < section.index("<details>") < section.index("<table>")
        assert f"({len(c['months'])} months)</summary>" in section


async def test_budgets_detail_the_lines_most_at_risk_and_open_any_other_on_its_own(sqlite_console: Console) -> None:
    from web.pages.budgets import DETAILED_LINES

    console = sqlite_console
    console.sign_in(FINANCE)
    year = (await console.http.get("/api/v1/budgets")).json()["fiscal_year"]
    with transaction(console.engine) as session:
        for n in range(DETAILED_LINES + 5):
            session.add(Budget(cost_center=f"CC-X{n:02d}", fiscal_year=year, annual_cents=1_000_00))
    page = (await console.http.get("/budgets")).text
    summary = page[page.index('data-testid="budget-summary"') : page.index("</table>")]
    total = len(re.findall(r"<tr><th scope=\"row\">", summary))
    assert total == len((await console.http.get("/api/v1/budgets")).json()["budgets"]) > DETAILED_LINES
    assert page.count('<section id="cc-') == DETAILED_LINES  # every line in the table, 20 in detail
    assert f"The {DETAILED_LINES} lines most at risk" in page
    last = "CC-X24"  # untouched and last by name: no section here, a page of its own
    assert f'href="/budgets?year={year}&amp;cost_center={last}"' in summary and f'id="cc-{last}"' not in page
    alone = (await console.http.get("/budgets", params={"year": year, "cost_center": last})).text
    assert alone.count('<section id="cc-') == 1 and f'id="cc-{last}"' in alone
    assert "<details open>" in alone and "Every cost center" in alone
