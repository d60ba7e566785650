"""`/assets`, `/assets/{id}` and their API twins: search and filters, keyset pagination, the
formula-safe CSV, the detail, and editing with `procure assets edit`'s validation and audit."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlmodel import col, select

from catalog import repository
from catalog.db import transaction
from catalog.importers.assets import AssetRecord
from catalog.models import Asset, AuditEvent, Contract, Person, SeatAssignment
from catalog.reports import assets as register
from tests.web.conftest import FINANCE, ITAM, Console

pytestmark = pytest.mark.usefixtures("contracts")
HOSTILE = '=HYPERLINK("http://evil.example","click")'


def _record(n: int, **overrides: object) -> AssetRecord:
    values: dict[str, object] = {
        "line": n,
        "external_id": f"ext-{n:03d}",
        "product_name": f"Tool {n:03d}",
        "vendor": "Acme" if n % 2 else "Globex",
        "product_id": None,
        "owner_email": "itam@example.com" if n % 3 else "manager@example.com",
        "cost_center": "CC-IT" if n % 2 else "CC-ENG",
        "channel": "direct" if n % 4 else "aws_marketplace",
        "seats": 5,
        "unit_price_cents": 1_000 * n,
        "annual_cost_cents": 5_000 * n,
        "currency": "USD" if n % 5 else "EUR",
        "start_date": date(2026, 1, 1),
        "term_months": 12,
        "billing_period": "annual",
        "auto_renew": n % 2 == 1,
        "notice_days": 30,
        "notice_basis": "calendar",
        "renewal_date": date(2027, 1, 1 + n % 28),
        "request_id": None,
    }
    values.update(overrides)
    return AssetRecord(**values)  # type: ignore[arg-type]


@pytest.fixture
def contracts(console: Console) -> None:
    """The demo's three assets plus 25 more, one of them named like a spreadsheet formula."""
    from datetime import UTC, datetime

    with transaction(console.engine) as session:
        for n in range(1, 26):
            extra = {"product_name": HOSTILE} if n == 7 else {}
            repository.import_asset(session, record=_record(n, **extra), actor="test", at=datetime.now(UTC))


async def _page(console: Console, **params: str) -> dict[str, object]:
    answer = await console.http.get("/api/v1/assets", params=params)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_search_and_filters(console: Console) -> None:
    console.sign_in(ITAM)

    async def products(**params: str) -> list[str]:
        return [str(i["product"]) for i in (await _page(console, **params))["items"]]  # type: ignore[attr-defined]

    assert await products(q="tool 01") == [f"Tool 01{n}" for n in range(10)]
    assert await products(vendor="GLOBEX", cost_center="CC-ENG", q="tool 00") == [
        "Tool 002",
        "Tool 004",
        "Tool 006",
        "Tool 008",
    ]
    assert await products(channel="aws_marketplace", q="tool") == [
        "Tool 004",
        "Tool 008",
        "Tool 012",
        "Tool 016",
        "Tool 020",
        "Tool 024",
    ]
    assert await products(owner="MANAGER@example.com", q="tool 00") == ["Tool 003", "Tool 006", "Tool 009"]
    assert await products(auto_renew="no", renewing_before="2027-01-05", q="tool") == ["Tool 002"]
    assert await products(product="tool 011") == ["Tool 011"]
    assert await products(q="50%") == []
    bad = await console.http.get("/api/v1/assets", params={"renewing_before": "next week"})
    assert bad.status_code == 400 and "renewing_before must be a date" in bad.json()["detail"]


@pytest.mark.parametrize("sort", ["product", "renewal", "cost", "id"])
async def test_keyset_pages_cover_the_register_once(console: Console, sort: str) -> None:
    console.sign_in(ITAM)
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        with transaction(console.engine) as session:
            page = register.list_register(session, filters=register.AssetFilters(), sort=sort, cursor=cursor, limit=4)
        seen += [a.id for a, _ in page.rows if a.id is not None]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    with transaction(console.engine) as session:
        everything = session.exec(select(Asset.id)).all()
    assert sorted(seen) == sorted(everything) and len(seen) == len(set(seen)) == 28
    assert pages == 7


async def test_the_api_and_the_page_hand_over_their_cursor(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    from web.pages import assets as page_module

    monkeypatch.setattr(page_module, "PAGE_SIZE", 20)
    console.sign_in(ITAM)
    first = await _page(console, sort="cost", q="tool")
    second = await _page(console, sort="cost", q="tool", cursor=str(first["next_cursor"]))
    costs = [i["annual_cost_cents"] for i in [*first["items"], *second["items"]]]  # type: ignore[misc]
    assert costs == sorted(costs) and len(costs) == 24 and len(first["items"]) == 20  # type: ignore[arg-type]
    assert second["next_cursor"] is None
    html = (await console.http.get("/assets", params={"sort": "cost", "q": "tool"})).text
    assert f"cursor={first['next_cursor']}" in html and 'rel="next"' in html
    broken = await console.http.get("/api/v1/assets", params={"cursor": "not-a-cursor"})
    assert broken.status_code == 400 and "first page" in broken.json()["detail"]


async def test_the_csv_export_is_formula_safe_and_filtered(console: Console) -> None:
    console.sign_in(FINANCE)
    answer = await console.http.get("/assets.csv", params={"q": "evil"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    # a byte-order mark first, so that Excel reads UTF-8 (accented names stay whole)
    assert answer.content.startswith(codecs.BOM_UTF8)
    [row] = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert row["product"] == "'" + HOSTILE
    assert row["annual_cost_cents"] == "35000"
    whole = (await console.http.get("/api/v1/assets.csv")).content.decode("utf-8-sig")
    everything = list(csv.DictReader(io.StringIO(whole)))
    assert len(everything) == 28 and list(everything[0]) == list(register.EXPORT_COLUMNS)


async def test_the_detail_shows_terms_seats_renewal_and_audit(console: Console) -> None:
    with transaction(console.engine) as session:
        figma = session.exec(select(Asset).where(Asset.product_name == "Figma")).one()
        holders = session.exec(select(SeatAssignment).where(SeatAssignment.asset_id == figma.id)).all()
    console.sign_in(ITAM)
    detail = (await console.http.get(f"/api/v1/assets/{figma.id}")).json()
    assert detail["product"] == "Figma" and detail["renewal"]["deadline"]
    assert {s["email"] for s in detail["seats_assigned"]} == {h.person_email for h in holders}
    page = (await console.http.get(f"/assets/{figma.id}")).text
    assert "Renewal plan" in page and "Audit trail" in page and "Edit the contract" in page
    assert (await console.http.get("/api/v1/assets/99999")).status_code == 404


async def test_a_seat_held_by_someone_not_in_the_directory_is_flagged(sqlite_console: Console) -> None:
    console = sqlite_console
    with transaction(console.engine) as session:
        figma = session.exec(select(Asset).where(Asset.product_name == "Figma")).one()
        session.add(
            SeatAssignment(
                asset_id=figma.id or 0, person_email="gone@example.com", assigned_at=datetime(2026, 1, 5, tzinfo=UTC)
            )
        )
    console.sign_in(ITAM)
    page = (await console.http.get(f"/assets/{figma.id}")).text
    row = page[page.index("<td>gone@example.com</td>") - 400 : page.index("<td>gone@example.com</td>")]
    assert 'data-testid="holder-unknown">not in the directory' in row
    with transaction(console.engine) as session:
        holders = {
            s.person_email for s in session.exec(select(SeatAssignment).where(SeatAssignment.asset_id == figma.id))
        }
        known = {p.email for p in session.exec(select(Person).where(col(Person.email).in_(holders)))}
    assert known and page.count('data-testid="holder-unknown"') == len(holders - known)  # the known keep their names


async def test_editing_validates_audits_and_rearms_like_the_cli(console: Console) -> None:
    with transaction(console.engine) as session:
        tool = session.exec(select(Asset).where(Asset.external_id == "ext-001")).one()
        contract = session.exec(select(Contract).where(Contract.asset_id == tool.id)).one()
    csrf = console.sign_in(ITAM)
    form = {"csrf_token": csrf, "renewal_date": "2025-12-01", "seats": "5", "unit_price": "10.00"}
    refused = await console.http.post(f"/assets/{tool.id}", data=form)
    assert refused.status_code == 400 and 'id="err-renewal_date"' in refused.text
    bad_price = await console.http.post(f"/assets/{tool.id}", data={**form, "renewal_date": "", "unit_price": "ten"})
    assert bad_price.status_code == 400 and 'id="err-unit_price"' in bad_price.text
    for other_currency in ("12 EUR", "€12"):  # never taken as 12 in the contract's currency
        refused_currency = await console.http.post(
            f"/assets/{tool.id}", data={**form, "renewal_date": "", "unit_price": other_currency}
        )
        assert refused_currency.status_code == 400 and "contract&#39;s currency" in refused_currency.text

    saved = await console.http.post(
        f"/assets/{tool.id}", data={**form, "renewal_date": "2027-03-01", "notice_days": "45", "unit_price": "12.50"}
    )
    assert saved.status_code == 303, saved.text
    with transaction(console.engine) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.entity_id.in_([str(tool.id), str(contract.id)])).order_by(AuditEvent.id)
        ).all()
    edited = [e for e in events if e.action == "asset_edited"]
    assert len(edited) == 1 and edited[0].actor == ITAM
    assert edited[0].detail["after"] == {
        "annual_cost_cents": 6250,
        "notice_days": 45,
        "renewal_date": "2027-03-01",
        "unit_price_cents": 1250,
    }
    assert any(e.action == "renewal_reminders_rearmed" for e in events)
    page = (await console.http.get(saved.headers["location"])).text
    assert "Saved:" in page and "2027-03-01" in page
    # The audit trail reads as money in the contract's currency and dates as a list, not as
    # raw cents or a Python list.
    assert "unit price: 10.00 USD → 12.50 USD" in page and "unit_price_cents" not in page
    assert "reminders: 20" in page and "reminders: [" not in page

    again = await console.http.post(
        f"/assets/{tool.id}", data={**form, "renewal_date": "2027-03-01", "notice_days": "45", "unit_price": "12.50"}
    )
    assert again.status_code == 303 and "nothing+changed" in again.headers["location"]


async def test_the_edit_api_and_who_may_edit(console: Console) -> None:
    csrf = console.sign_in(FINANCE)
    refused = await console.http.patch("/api/v1/assets/1", json={"seats": 9}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403  # finance sees the register; ITAM edits it
    csrf = console.sign_in(ITAM)
    assert (await console.http.patch("/api/v1/assets/1", json={"seats": 9})).status_code == 403  # no CSRF token
    changed = await console.http.patch("/api/v1/assets/1", json={"seats": 9}, headers={"X-CSRF-Token": csrf})
    assert changed.status_code == 200 and changed.json()["changes"]["seats"][1] == 9
    invalid = await console.http.patch("/api/v1/assets/1", json={"term_months": 0}, headers={"X-CSRF-Token": csrf})
    assert invalid.status_code == 422 and invalid.json()["detail"]["field"] == "term_months"
    assert (
        await console.http.patch("/api/v1/assets/999", json={"seats": 2}, headers={"X-CSRF-Token": csrf})
    ).status_code == 404
