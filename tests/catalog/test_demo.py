"""`procure demo generate`'s generator on SQLite and PostgreSQL: what it makes, that it makes
the same company again from the same seed and day, and that it never mixes two companies."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from catalog.db import transaction
from catalog.demo import DemoError, DemoSize, existing_rows, generate
from catalog.models import Asset, ContractPlan, Person, PurchaseRequest, RequestStatus
from catalog.rules.renewals import HolidayCalendar

SMALL = DemoSize(people=300, contracts=400, requests=600, seed=3)
TODAY = date(2026, 12, 4)
RATES = {"USD": Decimal(1), "EUR": Decimal("1.08"), "GBP": Decimal("1.27")}


def make(engine: Engine, *, replace: bool = False) -> dict[str, int]:
    summary = generate(
        engine,
        size=SMALL,
        today=TODAY,
        calendar=HolidayCalendar(country="US"),
        fy_start_month=1,
        rates=RATES,
        replace=replace,
    )
    return summary.counts


def snapshot(engine: Engine) -> list[tuple[object, ...]]:
    with transaction(engine) as session:
        query = select(
            col(PurchaseRequest.id),
            col(PurchaseRequest.status),
            col(PurchaseRequest.requester_email),
            col(PurchaseRequest.annual_cost_cents),
            col(PurchaseRequest.created_at),
        ).order_by(col(PurchaseRequest.id))
        return [tuple(row) for row in session.execute(query).all()]


def test_the_demo_company_has_what_was_asked_in_every_status_and_its_plans(engine: Engine) -> None:
    counts = make(engine)
    assert (counts["person"], counts["asset"], counts["contract"], counts["purchase_request"]) == (300, 400, 400, 600)
    with transaction(engine) as session:
        statuses = set(session.execute(select(col(PurchaseRequest.status)).distinct()).scalars())
        people = session.execute(select(func.count()).select_from(Person)).scalar_one()
        plans = session.execute(select(func.count()).select_from(ContractPlan)).scalar_one()
        itam = session.get(Person, "itam@example.com")
    assert statuses == {s.value for s in RequestStatus}
    assert people == 300 + 8  # the shipped demo's people come first
    assert plans == counts["contract_plan"] >= 400  # the shipped demo's contracts too
    assert itam is not None and "itam" in itam.roles


def test_a_second_run_is_refused_and_writes_nothing_unless_reset_which_makes_the_same_company(
    engine: Engine,
) -> None:
    make(engine)
    first = snapshot(engine)
    with pytest.raises(DemoError, match="--reset"):
        make(engine)
    with transaction(engine) as session:
        assert existing_rows(session)["requests"] == 600
    make(engine, replace=True)
    assert snapshot(engine) == first
    # Ids the generator chose are behind the database's own counters (PostgreSQL sequences).
    with transaction(engine) as session:
        asset = Asset(
            product_name="x",
            owner_email="x@example.com",
            cost_center="CC",
            seats=1,
            unit_price_cents=1,
            annual_cost_cents=1,
            created_at=datetime.now(UTC),
        )
        session.add(asset)
        session.flush()
        assert asset.id is not None and asset.id > 400


def test_a_company_too_small_for_its_managers_is_refused_before_anything_is_written() -> None:
    with pytest.raises(DemoError, match="--people"):
        DemoSize(people=10)
