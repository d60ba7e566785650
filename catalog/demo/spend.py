"""Generated money: cloud commitments, spend lines of the past months, and a budget per cost
center and fiscal year whose committed and actual amounts are what the reservations and the
spend lines add up to (as `procure spend import` and approval would have left them)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from catalog.demo.directory import CostCenter
from catalog.demo.register import VENDORS
from catalog.rules.budget import convert, fiscal_year_of


def build_commitments(*, today: date, first_id: int) -> list[dict[str, Any]]:
    """Last year's and this year's commitment of each cloud, in USD."""
    rows: list[dict[str, Any]] = []
    plans = (
        ("aws", "edp", "AWS EDP", 400_000_000),
        ("azure", "macc", "Azure MACC", 150_000_000),
        ("gcp", "commit", "GCP commit", 80_000_000),
    )
    for back in (1, 0):
        start = date(today.year - back, 1, 1)
        for provider, kind, label, total in plans:
            rows.append(
                {
                    "id": first_id + len(rows),
                    "name": f"Demo {label} {start.year}",
                    "provider": provider,
                    "kind": kind,
                    "currency": "USD",
                    "total_cents": total,
                    "remaining_cents": total,
                    "start_date": start,
                    "end_date": date(start.year, 12, 31),
                }
            )
    return rows


def build_spend(rng: random.Random, *, cost_centers: list[CostCenter], today: date) -> list[dict[str, Any]]:
    """One to four invoices a month per cost center over the last 30 months, in its currency."""
    rows: list[dict[str, Any]] = []
    imported = datetime.now(UTC)
    first = date(today.year - 2, 1, 1) if today.month < 7 else date(today.year - 2, 7, 1)
    for cc in cost_centers:
        monthly = rng.randint(2_000, 60_000) * 100
        day = first
        while day <= today:
            for _ in range(rng.randint(1, 4)):
                spent_on = min(today, day + timedelta(days=rng.randint(0, 27)))
                rows.append(
                    {
                        "source_key": f"demo-{len(rows)}",
                        "spent_on": spent_on,
                        "cost_center": cc.code,
                        "vendor": VENDORS[rng.randrange(len(VENDORS))],
                        "amount_cents": monthly // 3 + rng.randint(0, monthly // 3),
                        "currency": cc.currency,
                        "imported_at": imported,
                    }
                )
            day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return rows


def build_budgets(
    rng: random.Random,
    *,
    cost_centers: list[CostCenter],
    today: date,
    fy_start_month: int,
    reservations: list[dict[str, Any]],
    spend: list[dict[str, Any]],
    rates: dict[str, Decimal],
) -> list[dict[str, Any]]:
    """Last, this and next fiscal year for every cost center."""
    committed: dict[tuple[str, int], int] = defaultdict(int)
    for r in reservations:
        committed[(r["cost_center"], r["fiscal_year"])] += int(r["budget_cents"])
    actual: dict[tuple[str, int], int] = defaultdict(int)
    currency_of = {cc.code: cc.currency for cc in cost_centers}
    for s in spend:
        key = (s["cost_center"], fiscal_year_of(s["spent_on"], fy_start_month))
        actual[key] += convert(s["amount_cents"], s["currency"], currency_of[s["cost_center"]], rates)
    this_year = fiscal_year_of(today, fy_start_month)
    rows: list[dict[str, Any]] = []
    for cc in cost_centers:
        for year in (this_year - 1, this_year, this_year + 1):
            used = committed[(cc.code, year)] + actual[(cc.code, year)]
            # Most lines have room; about one in eight is over.
            annual = int(used * rng.uniform(0.85, 1.6)) // 100_000 * 100_000 + 1_000_000
            rows.append(
                {
                    "cost_center": cc.code,
                    "fiscal_year": year,
                    "annual_cents": annual,
                    "committed_cents": committed[(cc.code, year)],
                    "actual_cents": actual[(cc.code, year)],
                    "currency": cc.currency,
                    "owner_email": cc.owner_email,
                }
            )
    return rows
