"""A small hand-built company for the console's read models, as of 2026-07-01 (day 182 of
FY 2026, which starts in January): every expected number in the tests is worked out from it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Engine

from catalog.db import transaction
from catalog.models import (
    ApprovalStep,
    Asset,
    Budget,
    BudgetReservation,
    Commitment,
    CommitmentDrawdown,
    Contract,
    PurchaseRequest,
    RenewalTerm,
    SeatAssignment,
    SpendRecord,
)
from catalog.rules.renewals import HolidayCalendar, add_months

AS_OF = date(2026, 7, 1)
AT = datetime(2026, 7, 1, 12, tzinfo=UTC)
US = HolidayCalendar(country="US")
RATES = {"USD": Decimal(1), "EUR": Decimal("1.08")}


def utc(d: date, hour: int = 9) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


def contract(session: object, name: str, start: date, currency: str = "USD", seats: int = 5) -> tuple[int, int]:
    """An asset of `seats` seats at 180.00 a seat-year, with a 12-month contract, 30 days' notice."""
    from sqlmodel import Session

    assert isinstance(session, Session)
    asset = Asset(
        product_name=name,
        vendor=f"{name} Inc.",
        owner_email="owner@example.com",
        cost_center="CC-A",
        seats=seats,
        unit_price_cents=18_000,
        annual_cost_cents=seats * 18_000,
        currency=currency,
        created_at=utc(start),
    )
    session.add(asset)
    session.flush()
    assert asset.id is not None
    row = Contract(
        asset_id=asset.id, start_date=start, term_months=12, notice_days=30, renewal_date=add_months(start, 12)
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return asset.id, row.id


def build(engine: Engine) -> dict[str, int]:
    """Returns the asset ids by name (A…E) and the contract id of the cancelled one (E_contract)."""
    ids: dict[str, int] = {}
    with transaction(engine) as s:
        # Renewals as of 2026-07-01: A renews 07-20 (deadline Thu 06-18: Fri 06-19 is Juneteenth),
        # B 08-25 in EUR (deadline Sun 07-26 -> Fri 07-24), C 09-15, D 11-01 (beyond 90 days),
        # E 07-25 but cancelled.
        for name, start, cur in (
            ("A", date(2025, 7, 20), "USD"),
            ("B", date(2025, 8, 25), "EUR"),
            ("C", date(2025, 9, 15), "USD"),
            ("D", date(2025, 11, 1), "USD"),
            ("E", date(2025, 7, 25), "USD"),
        ):
            ids[name], ids[f"{name}_contract"] = contract(s, name, start, cur)
        s.add(
            RenewalTerm(
                contract_id=ids["E_contract"],
                renewal_date=date(2026, 7, 25),
                status="cancelled",
                decided_by="itam@example.com",
                decided_at=utc(date(2026, 6, 1)),
                updated_at=utc(date(2026, 6, 1)),
            )
        )
        # Seats (idle after 30 days: last use, or assignment when never used, on or before 06-01).
        for asset, email, assigned, last in (
            ("A", "s1@example.com", date(2026, 1, 1), date(2026, 6, 25)),  # active
            ("A", "s2@example.com", date(2026, 1, 1), date(2026, 5, 1)),  # idle
            ("A", "s3@example.com", date(2026, 1, 1), None),  # never used, idle
            ("A", "s4@example.com", date(2026, 6, 20), None),  # never used, too new to be idle
            ("B", "s5@example.com", date(2026, 1, 1), date(2026, 6, 1)),  # idle: exactly the cutoff
        ):
            s.add(SeatAssignment(asset_id=ids[asset], person_email=email, assigned_at=utc(assigned), last_active=last))
        # Budgets: CC-A in USD, CC-B in EUR (never added together).
        s.add(
            Budget(
                cost_center="CC-A",
                fiscal_year=2026,
                annual_cents=10_000_000,
                committed_cents=2_000_000,
                actual_cents=3_000_000,
                currency="USD",
            )
        )
        s.add(
            Budget(
                cost_center="CC-B",
                fiscal_year=2026,
                annual_cents=1_000_000,
                committed_cents=0,
                actual_cents=900_000,
                currency="EUR",
            )
        )
        s.add(Budget(cost_center="CC-A", fiscal_year=2025, annual_cents=1, currency="USD"))
        for rid, at, cents in (("R1", date(2026, 2, 10), 1_500_000), ("R2", date(2026, 6, 5), 500_000)):
            s.add(
                BudgetReservation(
                    request_id=rid,
                    cost_center="CC-A",
                    fiscal_year=2026,
                    amount_cents=cents,
                    currency="USD",
                    at=utc(at),
                    budget_cents=cents,
                    budget_currency="USD",
                    rate="1",
                )
            )
        for key, on, cents, cur in (
            ("s1", date(2026, 3, 3), 1_000_000, "USD"),
            ("s2", date(2026, 4, 1), 100_000, "EUR"),  # 108,000 USD
            ("s3", date(2026, 6, 30), 2_000_000, "USD"),
            ("s4", date(2025, 12, 31), 999, "USD"),  # last fiscal year
        ):
            s.add(
                SpendRecord(
                    source_key=key,
                    spent_on=on,
                    cost_center="CC-A",
                    vendor="V",
                    amount_cents=cents,
                    currency=cur,
                    imported_at=AT,
                )
            )
        # A commitment: 100,000.00 drawn in February, 50,000.00 in May of which 10,000.00 overflowed.
        aws = Commitment(
            name="AWS 2026",
            provider="aws",
            kind="edp",
            total_cents=100_000_000,
            remaining_cents=86_000_000,
            start_date=date(2026, 1, 1),
            end_date=date(2026, 12, 31),
        )
        s.add(aws)
        s.flush()
        assert aws.id is not None
        for rid, at, cents, over in (
            ("R1", date(2026, 2, 10), 10_000_000, 0),
            ("R3", date(2026, 5, 2), 5_000_000, 1_000_000),
        ):
            s.add(
                CommitmentDrawdown(
                    request_id=rid, commitment_id=aws.id, amount_cents=cents, overflow_cents=over, at=utc(at)
                )
            )
        # Approvals: two manager steps waiting (2 and 8 days), one finance step (12 hours);
        # an approved step and a step of a denied request do not count.
        for rid, status in (
            ("P1", "pending_approval"),
            ("P2", "pending_approval"),
            ("P3", "approved"),
            ("P4", "denied"),
        ):
            s.add(
                PurchaseRequest(
                    id=rid,
                    workflow_id=f"wf-{rid}",
                    requester_email="e@example.com",
                    requester_slack_id="U1",
                    product_name="X",
                    seats=1,
                    unit_price_cents=1,
                    annual_cost_cents=1,
                    cost_center="CC-A",
                    status=status,
                    created_at=AT,
                    updated_at=AT,
                )
            )
        s.flush()
        for rid, seq, stage, role, status, opened in (
            ("P1", 1, 1, "manager", "pending", datetime(2026, 6, 29, 12, tzinfo=UTC)),
            ("P2", 1, 1, "manager", "pending", datetime(2026, 6, 23, 12, tzinfo=UTC)),
            ("P2", 2, 2, "finance", "pending", datetime(2026, 7, 1, 0, tzinfo=UTC)),
            ("P3", 1, 1, "manager", "approved", datetime(2026, 6, 1, tzinfo=UTC)),
            ("P4", 1, 1, "manager", "pending", datetime(2026, 6, 1, tzinfo=UTC)),
        ):
            s.add(
                ApprovalStep(
                    request_id=rid,
                    seq=seq,
                    stage=stage,
                    role=role,
                    approver_email="m@example.com",
                    approver_slack_id="U2",
                    status=status,
                    opened_at=opened,
                )
            )
    return ids
