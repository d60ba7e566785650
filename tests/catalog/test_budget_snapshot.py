"""`budget_snapshot`: the budget line audit details carry, as plain JSON."""

from __future__ import annotations

import json

from catalog.models import Budget
from catalog.repository import budget_snapshot


def test_snapshot_is_the_line_with_what_is_available_in_order() -> None:
    budget = Budget(
        id=7, cost_center="ENG", fiscal_year=2027, annual_cents=100_00, committed_cents=30_00, actual_cents=25_00
    )
    snapshot = budget_snapshot(budget)
    assert snapshot is not None
    assert json.dumps(snapshot) == json.dumps(
        {
            "cost_center": "ENG",
            "fiscal_year": 2027,
            "currency": "USD",
            "annual_cents": 100_00,
            "committed_cents": 30_00,
            "actual_cents": 25_00,
            "available_cents": 45_00,
        }
    )


def test_no_budget_no_snapshot() -> None:
    assert budget_snapshot(None) is None
