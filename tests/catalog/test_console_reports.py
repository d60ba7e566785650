"""The console's read models (catalog/reports): budgets by month, commitment drawdown, idle
seats, the overview's windows and pending approvals, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Engine

from catalog import repository
from catalog.db import transaction
from catalog.models import (
    ApprovalStep,
    Asset,
    Budget,
    BudgetReservation,
    Commitment,
    PurchaseRequest,
    SeatAssignment,
    SpendRecord,
)
from catalog.ports import UpcomingRenewal
from catalog.reports.budgets_view import budget_lines, budget_months
from catalog.reports.commitments_view import commitment_views, drawdown_series
from catalog.reports.overview_view import deadlines_this_month, pending_by_stage, renewal_windows
from catalog.reports.renewals_view import month_grid
from catalog.reports.seats_view import idle_seats

AS_OF = date(2026, 12, 4)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def test_a_budget_line_month_by_month_converts_spend_and_follows_the_forecast(engine: Engine) -> None:
    with transaction(engine) as session:
        session.add(
            Budget(
                cost_center="ENG",
                fiscal_year=2026,
                annual_cents=1_200_000,
                committed_cents=300_000,
                actual_cents=330_000,
                currency="USD",
            )
        )
        session.add(
            BudgetReservation(
                request_id="REQ-1",
                cost_center="ENG",
                fiscal_year=2026,
                amount_cents=100_000,
                at=_at(date(2026, 2, 10)),
                budget_cents=100_000,
                budget_currency="USD",
            )
        )
        session.add(
            BudgetReservation(
                request_id="REQ-2",
                cost_center="ENG",
                fiscal_year=2026,
                amount_cents=200_000,
                at=_at(date(2026, 5, 1)),
                budget_cents=200_000,
                budget_currency="USD",
            )
        )
        session.add(
            SpendRecord(
                source_key="a",
                spent_on=date(2026, 1, 5),
                cost_center="ENG",
                vendor="x",
                amount_cents=100_000,
                currency="USD",
                imported_at=_at(AS_OF),
            )
        )
        session.add(
            SpendRecord(
                source_key="b",
                spent_on=date(2026, 3, 5),
                cost_center="ENG",
                vendor="x",
                amount_cents=200_000,
                currency="EUR",
                imported_at=_at(AS_OF),
            )
        )
    rates = {"USD": Decimal(1), "EUR": Decimal("1.15")}
    with transaction(engine, read_only=True) as session:
        [line] = budget_lines(session, fiscal_year=2026, as_of=AS_OF, start_month=1)
        months = budget_months(session, cost_center="ENG", fiscal_year=2026, as_of=AS_OF, start_month=1, rates=rates)
    assert line.available_cents == 1_200_000 - 300_000 - 330_000
    assert line.forecast_cents > line.committed_cents + line.actual_cents  # the year is not over
    assert [m.month.month for m in months] == list(range(1, 13))
    assert [m.committed_cents for m in months][:6] == [0, 100_000, 100_000, 100_000, 300_000, 300_000]
    assert months[0].actual_cents == 100_000
    assert months[2].actual_cents == 100_000 + 230_000  # 2,000.00 EUR at 1.15
    assert months[-1].forecast_cents == line.forecast_cents  # the straight line ends on the forecast
    assert months[-1].past and months[10].past and not any(m.month > AS_OF and m.past for m in months)


def test_drawdown_over_time_starts_from_the_file_figure(engine: Engine) -> None:
    with transaction(engine) as session:
        session.add(
            Commitment(
                name="AWS EDP",
                provider="aws",
                kind="edp",
                currency="USD",
                total_cents=1_000_000,
                remaining_cents=500_000,
                start_date=date(2026, 1, 1),
                end_date=date(2027, 12, 31),
            )
        )
        session.flush()
        for request_id, cents, day in (("REQ-1", 100_000, date(2026, 3, 1)), ("REQ-2", 450_000, date(2026, 6, 1))):
            repository.draw_commitment(
                session, request_id=request_id, commitment_name="AWS EDP", amount_cents=cents, at=_at(day)
            )
    with transaction(engine, read_only=True) as session:
        [view] = commitment_views(session)
        series = drawdown_series(session, commitment=view)
    assert (view.remaining_cents, view.drawn_cents, view.purchases) == (0, 500_000, 2)
    assert view.used_percent == 100
    assert [(p.on, p.remaining_cents, p.request_id) for p in series] == [
        (date(2026, 1, 1), 500_000, None),
        (date(2026, 3, 1), 400_000, "REQ-1"),
        (date(2026, 6, 1), 0, "REQ-2"),  # 50,000 of it billed outside the commitment
    ]


def test_idle_seats_are_priced_per_seat_in_their_currency(engine: Engine) -> None:
    with transaction(engine) as session:
        asset = Asset(
            product_id="miro",
            product_name="Miro",
            owner_email="o@example.com",
            cost_center="ENG",
            seats=3,
            unit_price_cents=12_000,
            annual_cost_cents=36_000,
            currency="EUR",
            created_at=_at(AS_OF),
        )
        session.add(asset)
        session.flush()
        assert asset.id is not None
        for email, last in (
            ("idle@example.com", date(2026, 8, 1)),
            ("busy@example.com", date(2026, 12, 1)),
            ("never@example.com", None),
        ):
            session.add(
                SeatAssignment(
                    asset_id=asset.id, person_email=email, assigned_at=_at(date(2026, 1, 1)), last_active=last
                )
            )
    with transaction(engine, read_only=True) as session:
        seats = idle_seats(session, as_of=AS_OF, idle_days=30)
    assert [(s.person_email, s.idle_days, s.yearly_cents, s.currency) for s in seats] == [
        ("never@example.com", None, 12_000, "EUR"),
        ("idle@example.com", 125, 12_000, "EUR"),
    ]


def _upcoming(contract_id: int, deadline: date, renewal: date, cents: int, currency: str) -> UpcomingRenewal:
    return UpcomingRenewal(
        contract_id,
        f"P{contract_id}",
        "o@example.com",
        cents,
        currency,
        renewal,
        deadline,
        (deadline - AS_OF).days,
        "open",
    )


def test_renewal_windows_count_and_sum_per_currency_never_across() -> None:
    upcoming = [
        _upcoming(1, date(2026, 12, 10), date(2026, 12, 20), 100, "USD"),
        _upcoming(2, date(2026, 12, 31), date(2027, 1, 30), 200, "EUR"),
        _upcoming(3, date(2027, 1, 10), date(2027, 2, 20), 300, "USD"),
    ]
    windows = renewal_windows(upcoming, as_of=AS_OF)
    assert [(w.days, w.count, w.totals) for w in windows] == [
        (30, 1, [("USD", 100)]),
        (60, 2, [("EUR", 200), ("USD", 100)]),
        (90, 3, [("EUR", 200), ("USD", 400)]),
    ]
    assert [u.contract_id for u in deadlines_this_month(upcoming, as_of=AS_OF)] == [1, 2]
    grid = month_grid(2026, 12, upcoming)
    assert grid[0][0].day == date(2026, 11, 30) and not grid[0][0].in_month  # weeks start on Monday
    days = {d.day: [(e.kind, e.contract_id) for e in d.events] for week in grid for d in week}
    assert days[date(2026, 12, 10)] == [("deadline", 1)] and days[date(2026, 12, 20)] == [("renewal", 1)]


def test_pending_approvals_by_stage_with_their_age(engine: Engine) -> None:
    now = _at(AS_OF)
    with transaction(engine) as session:
        for rid, status in (("REQ-A", "pending_approval"), ("REQ-B", "pending_approval"), ("REQ-C", "approved")):
            session.add(
                PurchaseRequest(
                    id=rid,
                    workflow_id=f"request-{rid}",
                    requester_email="e@example.com",
                    requester_slack_id="U1",
                    product_name="Miro",
                    seats=1,
                    unit_price_cents=1,
                    annual_cost_cents=1,
                    cost_center="ENG",
                    status=status,
                    created_at=now,
                    updated_at=now,
                )
            )
        session.flush()
        steps = (
            ("REQ-A", 1, "manager", 1, "pending", date(2026, 11, 30)),
            ("REQ-B", 1, "manager", 1, "pending", date(2026, 12, 2)),
            ("REQ-B", 2, "finance", 2, "pending", None),  # not opened yet
            ("REQ-C", 1, "manager", 1, "pending", date(2026, 1, 1)),
        )  # its request is closed
        for rid, seq, role, stage, status, opened in steps:
            session.add(
                ApprovalStep(
                    request_id=rid,
                    seq=seq,
                    role=role,
                    approver_email="m@example.com",
                    approver_slack_id="U2",
                    status=status,
                    stage=stage,
                    opened_at=_at(opened) if opened else None,
                )
            )
    with transaction(engine, read_only=True) as session:
        pending = pending_by_stage(session, now=now)
    assert [(p.role, p.stage, p.count, p.oldest_days, p.average_days) for p in pending] == [("manager", 1, 2, 4, 3)]
