"""Budget and commitment series over the year, and reclaimable seats page by page, on SQLite
and PostgreSQL, from the hand-built company."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine
from sqlmodel import select

from catalog.db import transaction
from catalog.models import Commitment, SpendLine
from catalog.reports.budgets import budget_series
from catalog.reports.commitments import commitment_series
from catalog.reports.seats import reclaim_candidates
from tests.catalog.reports.company import AS_OF, RATES, build


def test_a_budget_line_month_by_month_committed_actual_and_forecast(engine: Engine) -> None:
    build(engine)
    with transaction(engine) as session:
        a, b = budget_series(session, as_of=AS_OF, fy_start_month=1, rates=RATES)
        only = budget_series(session, as_of=AS_OF, fy_start_month=1, rates=RATES, cost_center="CC-B")
    assert (a.cost_center, a.currency, a.budget_cents, a.available_cents) == ("CC-A", "USD", 10_000_000, 5_000_000)
    assert [m.month.month for m in a.months] == list(range(1, 13))
    # Reserved 15,000.00 in February and 5,000.00 in June.
    assert [m.committed_cents for m in a.months[:7]] == [
        0,
        1_500_000,
        1_500_000,
        1_500_000,
        1_500_000,
        2_000_000,
        2_000_000,
    ]
    # Spent 10,000.00 in March, 1,000.00 EUR (1,080.00 USD) in April, 20,000.00 in June; none
    # from last year; months not begun have no actual.
    assert [m.actual_cents for m in a.months[:8]] == [0, 0, 1_000_000, 1_108_000, 1_108_000, 3_108_000, 3_108_000, None]
    # The straight line from today's committed + actual (the line's stored 20,000 + 30,000) to
    # the year-end projection 8,016,484: at July's end 5,000,000 + 3,016,484 × 30 // 183.
    assert [m.forecast_cents for m in a.months[5:7]] == [None, 5_494_505]
    assert a.months[-1].forecast_cents == a.outlook.projected_total_cents == 8_016_484
    assert (b.cost_center, b.currency) == ("CC-B", "EUR")
    assert [s.cost_center for s in only] == ["CC-B"]


def test_a_commitment_drawn_month_by_month_against_the_even_line(engine: Engine) -> None:
    build(engine)
    with transaction(engine) as session:
        (aws,) = commitment_series(session, as_of=AS_OF)
    assert (aws.name, aws.drawn_cents, aws.total_cents) == ("AWS 2026", 14_000_000, 100_000_000)
    # 100,000.00 in February; 50,000.00 in May of which 10,000.00 was billed outside it.
    drawn = [m.drawn_cents for m in aws.months]
    assert drawn == [0, 10_000_000, 10_000_000, 10_000_000, 14_000_000, 14_000_000, 14_000_000] + [None] * 5
    # Evenly over 365 days: January's 31 days, then the whole total by December's end.
    assert aws.months[0].on_track_cents == 100_000_000 * 31 // 365
    assert aws.months[-1].on_track_cents == 100_000_000
    # Nothing was used before the import: total = approved here + left.
    assert aws.used_before_cents == 0 and aws.billed_cents == 0


def test_a_commitment_shows_what_the_cloud_billed_next_to_what_was_approved(engine: Engine) -> None:
    build(engine)
    with transaction(engine) as session:
        (commitment,) = session.exec(select(Commitment)).all()
        commitment.remaining_cents -= 5_000_000  # 50,000.00 used before the register knew it
        session.add(commitment)

        def line(key: str, on: date, cents: int, currency: str = "USD") -> SpendLine:
            return SpendLine(
                source_key=key,
                source="focus",
                spent_on=on,
                descriptor="Datadog",
                amount_cents=cents,
                currency=currency,
                marketplace=True,
                provider="aws",
                commitment_id=commitment.id,
                imported_at=datetime(2026, 7, 1, tzinfo=UTC),
            )

        session.add_all(
            [
                line("a", date(2026, 3, 10), 2_000_000),
                line("b", date(2026, 3, 20), -25_000),  # a correction counts with its sign
                line("c", date(2026, 6, 1), 13_000_000),
                line("d", date(2026, 6, 2), 99_999, "EUR"),  # another currency is not summed in
                line("e", date(2026, 9, 1), 500_000),  # after as_of: counted in the total only
            ]
        )
    with transaction(engine) as session:
        (aws,) = commitment_series(session, as_of=AS_OF)
    assert aws.used_before_cents == 5_000_000
    assert aws.used_before_cents + aws.drawn_cents + aws.remaining_cents == aws.total_cents
    assert aws.billed_cents == 2_000_000 - 25_000 + 13_000_000 + 500_000
    billed = [m.billed_cents for m in aws.months]
    assert billed[:7] == [0, 0, 1_975_000, 1_975_000, 1_975_000, 14_975_000, 14_975_000]
    assert billed[7:] == [None] * 5


def test_reclaim_candidates_come_in_keyset_pages_with_their_yearly_value(engine: Engine) -> None:
    ids = build(engine)
    with transaction(engine) as session:
        first = reclaim_candidates(session, as_of=AS_OF, inactive_days=30, limit=2)
        second = reclaim_candidates(session, as_of=AS_OF, inactive_days=30, limit=2, after=first.next_after)
        never = reclaim_candidates(session, as_of=AS_OF, inactive_days=30, never_used=True)
        longer = reclaim_candidates(session, as_of=AS_OF, inactive_days=60)
    rows = first.rows + second.rows
    assert [(r.person_email, r.asset_id, r.last_active, r.idle_days) for r in rows] == [
        ("s2@example.com", ids["A"], date(2026, 5, 1), 61),
        ("s3@example.com", ids["A"], None, 181),  # never used: idle since assigned on 01-01
        ("s5@example.com", ids["B"], date(2026, 6, 1), 30),
    ]
    assert first.next_after == first.rows[-1].seat_id and second.next_after is None
    assert [(r.yearly_value_cents, r.currency) for r in rows] == [(18_000, "USD"), (18_000, "USD"), (18_000, "EUR")]
    assert [r.person_email for r in never.rows] == ["s3@example.com"]
    assert [r.person_email for r in longer.rows] == ["s2@example.com", "s3@example.com"]
