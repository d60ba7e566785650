"""Contracts for renewal tests and history recordings, written straight into the register."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine

from catalog.db import transaction
from catalog.models import Asset, Contract, SeatAssignment
from catalog.rules.renewals import add_months


def add_contract(
    engine: Engine,
    *,
    start: date,
    term_months: int = 12,
    notice_days: int = 30,
    auto_renew: bool = True,
    seats: int = 5,
    last_active: tuple[date | None, ...] = (),
    product: str = "Figma",
    owner_email: str = "employee@example.com",
) -> int:
    """An asset owned by Emma Employee (unless `owner_email` says otherwise) with its contract
    and seat holders."""
    with transaction(engine) as session:
        asset = Asset(
            product_name=product,
            vendor="Figma",
            owner_email=owner_email,
            cost_center="CC-DESIGN",
            seats=seats,
            unit_price_cents=18_000,
            annual_cost_cents=seats * 18_000,
            created_at=datetime(start.year, start.month, start.day, tzinfo=UTC),
        )
        session.add(asset)
        session.flush()
        assert asset.id is not None
        contract = Contract(
            asset_id=asset.id,
            start_date=start,
            term_months=term_months,
            auto_renew=auto_renew,
            notice_days=notice_days,
            renewal_date=add_months(start, term_months),
        )
        session.add(contract)
        for i, active in enumerate(last_active):
            session.add(
                SeatAssignment(
                    asset_id=asset.id,
                    person_email=f"holder{i}@example.com",
                    assigned_at=datetime(start.year, start.month, start.day, tzinfo=UTC),
                    last_active=active,
                )
            )
        session.flush()
        assert contract.id is not None
        return contract.id
