"""The Overview's numbers, on SQLite and PostgreSQL, from the hand-built company."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine

from catalog.db import transaction
from catalog.reports import overview as ov
from catalog.reports.seats import IdleTotal
from tests.catalog.reports.company import AS_OF, AT, US, build


def test_the_overview_adds_up_the_company_per_currency(engine: Engine) -> None:
    build(engine)
    with transaction(engine) as session:
        got = ov.overview(session, as_of=AS_OF, at=AT, calendar=US, fy_start_month=1, inactive_days=30)

    # FY 2026, day 182 of 365: actual 30,000.00 projects to 3,000,000 × 365 / 182 = 6,016,484 cents.
    a, b = got.spend
    assert (a.cost_center, a.currency, a.budget_cents, a.committed_cents, a.actual_cents) == (
        "CC-A",
        "USD",
        10_000_000,
        2_000_000,
        3_000_000,
    )
    assert (a.available_cents, a.forecast_cents, a.over_cents) == (5_000_000, 8_016_484, 0)
    # CC-B (EUR): 900,000 × 365 / 182 = 1,804,945 projected, over its 1,000,000 budget.
    assert (b.cost_center, b.currency, b.forecast_cents, b.over_cents) == ("CC-B", "EUR", 1_804_945, 804_945)

    # A (07-20) within 30 days, B (EUR, 08-25) within 60, C (09-15) within 90; D is later
    # and E was cancelled. Each contract is 5 seats × 180.00.
    assert [(r.within_days, r.currency, r.count, r.annual_cents) for r in got.renewals] == [
        (30, "EUR", 0, 0),
        (30, "USD", 1, 90_000),
        (60, "EUR", 1, 90_000),
        (60, "USD", 1, 90_000),
        (90, "EUR", 1, 90_000),
        (90, "USD", 2, 180_000),
    ]
    # B's deadline (Fri 07-24) passes this month; A's passed in June.
    assert [(d.currency, d.count, d.annual_cents, d.last) for d in got.deadlines] == [
        ("EUR", 1, 90_000, date(2026, 7, 31))
    ]
    ages = [
        (p.stage, p.role, p.count, p.oldest_opened, p.over_1_day, p.over_3_days, p.over_7_days) for p in got.pending
    ]
    assert ages == [
        (1, "manager", 2, datetime(2026, 6, 23, 12, tzinfo=UTC), 2, 1, 1),
        (2, "finance", 1, datetime(2026, 7, 1, 0, tzinfo=UTC), 0, 0, 0),
    ]
    assert got.idle == [IdleTotal("EUR", 1, 18_000), IdleTotal("USD", 2, 36_000)]
    (aws,) = got.commitments
    assert (aws.name, aws.drawn_cents, aws.purchases, aws.remaining_cents) == ("AWS 2026", 14_000_000, 2, 86_000_000)
