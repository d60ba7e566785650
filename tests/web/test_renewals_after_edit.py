"""A contract edited in the console shows its new dates on /renewals at once: the edit
plans it again as it saves, so the page reads the stored plans without planning anything
(docs/decisions.md, 54)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from catalog.db import transaction
from catalog.models import Contract, ContractPlan
from catalog.repository import renewal_plans
from tests.web.conftest import ITAM, Console


async def test_an_edited_renewal_date_is_on_the_renewals_page_at_once(console: Console) -> None:
    csrf = console.sign_in(ITAM)
    assert (await console.http.get("/api/v1/renewals", params={"days": 400})).status_code == 200
    with transaction(console.engine) as session:
        contract = session.exec(select(Contract).where(Contract.asset_id == 1)).one()
    today = console.app.state.console.today()
    renews = today + timedelta(days=75)
    assert contract.renewal_date != renews
    changed = await console.http.patch(
        "/api/v1/assets/1", json={"renewal_date": renews.isoformat()}, headers={"X-CSRF-Token": csrf}
    )
    assert changed.status_code == 200, changed.text

    with transaction(console.engine) as session:
        plan = session.get(ContractPlan, contract.id)
        assert plan is not None and plan.contract_renewal_date == renews  # planned by the edit itself
        calendar = console.app.state.console.settings.holiday_calendar()
        assert renewal_plans.ensure_plans(session, as_of=today, calendar=calendar) == 0  # the read plans nothing

    listed = (await console.http.get("/api/v1/renewals", params={"days": 120})).json()
    mine = [e for e in listed["events"] if e["contract_id"] == contract.id]
    assert {e["renewal_date"] for e in mine} == {renews.isoformat()}
    assert {e["kind"] for e in mine} == {"deadline", "renewal"}
    page = (await console.http.get("/renewals", params={"days": 120})).text
    assert f'data-testid="renewal-{contract.id}-renewal"' in page and renews.isoformat() in page
