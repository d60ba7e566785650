"""The console on a usage-based contract (no seat count; docs/decisions.md, 52): the register
and the asset page say "usage-based", and the edit form and API take an empty seats field."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from catalog import repository
from catalog.db import transaction
from catalog.models import Asset, AuditEvent
from tests.web.conftest import ITAM, Console
from tests.web.test_assets import _record


def _add(console: Console, n: int, **overrides: object) -> int:
    with transaction(console.engine) as session:
        change = repository.import_asset(session, record=_record(n, **overrides), actor="test", at=datetime.now(UTC))
    return change.asset_id


async def test_pages_show_usage_based_and_the_form_takes_an_empty_seats_field(console: Console) -> None:
    cloud = _add(console, 40, product_name="Cloud Platform", seats=None, unit_price_cents=9_000_000,
                 annual_cost_cents=9_000_000)  # fmt: skip
    csrf = console.sign_in(ITAM)
    page = (await console.http.get(f"/assets/{cloud}")).text
    assert 'data-testid="usage-based"' in page and "usage-based (no seat count)" in page and "None" not in page
    listed = (await console.http.get("/assets", params={"q": "Cloud Platform"})).text
    assert "usage-based" in listed
    detail = (await console.http.get(f"/api/v1/assets/{cloud}")).json()
    assert (detail["seats"], detail["annual_cost_cents"]) == (None, 9_000_000)
    # The renewals calendar: its contract value, "usage-based" for seats, a yearly value to renew at.
    events = (await console.http.get("/api/v1/renewals", params={"days": 3660})).json()["events"]
    mine = [e for e in events if e["asset_id"] == cloud]
    assert mine and all((e["seats_bought"], e["annual_cost_cents"]) == (None, 9_000_000) for e in mine)
    calendar = (await console.http.get("/renewals", params={"days": 3660})).text
    row = calendar.split(f'data-testid="renewal-{mine[0]["contract_id"]}-deadline"')[1].split("</tr>")[0]
    assert "usage-based" in row and "Renew at another yearly value" in row and 'name="seats"' not in row

    seated = _add(console, 41, product_name="Warehouse", seats=5, unit_price_cents=10_000, annual_cost_cents=50_000)
    form = {"csrf_token": csrf, "seats": "", "unit_price": "48000.00"}
    saved = await console.http.post(f"/assets/{seated}", data=form)
    assert saved.status_code == 303, saved.text
    with transaction(console.engine) as session:
        asset = session.get(Asset, seated)
        assert asset is not None and (asset.seats, asset.unit_price_cents, asset.annual_cost_cents) == (
            None,
            4_800_000,
            4_800_000,
        )
        edited = session.exec(
            select(AuditEvent).where(AuditEvent.entity_id == str(seated), AuditEvent.action == "asset_edited")
        ).one()
    assert edited.detail["before"]["seats"] == 5 and edited.detail["after"]["seats"] is None

    # The API: `"seats": null` makes it usage-based, other nulls change nothing; seats back again.
    headers = {"X-CSRF-Token": csrf}
    back = await console.http.patch(
        f"/api/v1/assets/{seated}", json={"seats": 3, "renewal_date": None}, headers=headers
    )
    assert back.status_code == 200 and back.json()["changes"]["seats"] == [None, 3]
    again = await console.http.patch(f"/api/v1/assets/{seated}", json={"seats": None}, headers=headers)
    assert again.status_code == 200 and again.json()["changes"]["seats"] == [3, None]
    bad = await console.http.post(f"/assets/{seated}", data={**form, "seats": "many"})
    assert bad.status_code == 400 and 'id="err-seats"' in bad.text
