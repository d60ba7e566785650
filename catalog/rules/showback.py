"""Showback: what each cost center spends on SaaS in a fiscal year, next to its budget.

Pure: plain rows in, a report out; no clock, no database.

* **Fiscal year** `Y` with start month `m` runs from `m/1` to the day before the next `m/1` and is
  named by the calendar year it *ends* in (start month 7: FY 2027 = 2026-07-01 … 2027-06-30;
  start month 1: FY Y = calendar year Y).
* An asset counts in the year when its contract is active on at least one day of it: from its
  start date to its renewal date (exclusive) when it does not auto-renew, open-ended when it does.
* **annualised** spend is the asset's annual cost (seats × unit price per seat-year; for a
  flat-priced product the exact yearly price, which a per-seat unit price can only round);
  **in year** is the annualised cost for the days the contract is active in the year, rounded
  to the cent.
* A **usage-based** contract (no seat count; docs/decisions.md, 52) counts its contract value,
  its annual cost, to the cost center it is charged to (its owner's) like any other; it adds no
  seats. A line whose assets are all usage-based has `seats` None.
* A renewal that changed the seats or the price changes them from its renewal date
  (`next_from`) on: days before it cost the current term's price, days after it the next
  term's; the seats and annualised cost shown are those in force on the last day the contract
  is active in the year. A cancelled contract does not auto-renew and ends on its renewal date.
* **remaining** is what is left of the cost center's budget line, `catalog.rules.budget.available_cents`
  (annual − committed − actual), the same number `procure budget show` and the approval DMs
  show. The register's in-year spend is reported beside it, not subtracted from it: purchases
  approved here are in `committed` already and older contracts reach the line as `actual`, so
  subtracting the register too would count them twice (docs/decisions.md, "What is left of
  a budget").
* Amounts in different currencies are never added: totals are per cost center *and* currency;
  a budget sits on the total in its own currency.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from catalog.rules.budget import available_cents, fiscal_year_bounds

__all__ = [
    "CostCenterTotal",
    "ShowbackAsset",
    "ShowbackBudget",
    "ShowbackLine",
    "ShowbackReport",
    "build_showback",
    "fiscal_year_bounds",
]


@dataclass(frozen=True)
class ShowbackAsset:
    cost_center: str
    product: str
    seats: int | None  # None: usage-based
    annual_cost_cents: int
    currency: str
    start_date: date
    end_date: date | None  # first day no longer covered; None while the contract auto-renews
    next_from: date | None = None  # the renewal date from which the next term's terms apply
    next_seats: int | None = None
    next_annual_cost_cents: int | None = None


@dataclass(frozen=True)
class ShowbackBudget:
    """A cost center's budget line for the report's fiscal year, in its own currency: `remaining`
    is worked out from it (`available_cents`); lines of one cost center and currency add up."""

    cost_center: str
    annual_cents: int
    actual_cents: int
    currency: str
    committed_cents: int = 0


@dataclass(frozen=True)
class ShowbackLine:
    cost_center: str
    product: str
    currency: str
    assets: int
    seats: int | None  # None: every asset of the line is usage-based (no seat count)
    annualised_cents: int
    in_year_cents: int


@dataclass(frozen=True)
class CostCenterTotal:
    cost_center: str
    currency: str
    seats: int
    annualised_cents: int
    in_year_cents: int
    budget_cents: int | None
    actual_cents: int | None
    committed_cents: int | None = None

    @property
    def remaining_cents(self) -> int | None:
        """What is left of the budget line (annual − committed − actual; negative when over)."""
        if self.budget_cents is None:
            return None
        return available_cents(
            annual_cents=self.budget_cents,
            committed_cents=self.committed_cents or 0,
            actual_cents=self.actual_cents or 0,
        )


@dataclass(frozen=True)
class ShowbackReport:
    fiscal_year: int
    start: date
    end: date  # last day of the fiscal year
    lines: tuple[ShowbackLine, ...]
    totals: tuple[CostCenterTotal, ...]


def _in_year_cents(annual: int, active_days: int, year_days: int) -> int:
    return (2 * annual * active_days + year_days) // (2 * year_days)


def build_showback(
    assets: Iterable[ShowbackAsset],
    budgets: Iterable[ShowbackBudget],
    *,
    fiscal_year: int,
    start_month: int,
) -> ShowbackReport:
    """Spend per cost center and product for the year, with each cost center's budget and actual."""
    start, stop = fiscal_year_bounds(fiscal_year, start_month)
    year_days = (stop - start).days
    seats: dict[tuple[str, str, str], int] = defaultdict(int)
    seated: set[tuple[str, str, str]] = set()  # lines with at least one seat-counted asset
    annual: dict[tuple[str, str, str], int] = defaultdict(int)
    in_year: dict[tuple[str, str, str], int] = defaultdict(int)
    count: dict[tuple[str, str, str], int] = defaultdict(int)
    for asset in assets:
        active_from = max(asset.start_date, start)
        active_to = stop if asset.end_date is None else min(asset.end_date, stop)
        if active_to <= active_from:
            continue
        key = (asset.cost_center, asset.product, asset.currency)
        change = asset.next_from
        if asset.seats is not None:
            seated.add(key)
        if change is None or change >= active_to:
            seats[key] += asset.seats or 0
            annual[key] += asset.annual_cost_cents
            in_year[key] += _in_year_cents(asset.annual_cost_cents, (active_to - active_from).days, year_days)
        else:
            next_annual = asset.next_annual_cost_cents
            if next_annual is None:
                next_annual = asset.annual_cost_cents
            seats[key] += (asset.seats or 0) if asset.next_seats is None else asset.next_seats
            annual[key] += next_annual
            before = max((change - active_from).days, 0)
            in_year[key] += _in_year_cents(asset.annual_cost_cents, before, year_days)
            in_year[key] += _in_year_cents(next_annual, (active_to - active_from).days - before, year_days)
        count[key] += 1

    lines = tuple(
        ShowbackLine(
            cost_center=cc,
            product=product,
            currency=currency,
            assets=count[(cc, product, currency)],
            seats=seats[(cc, product, currency)] if (cc, product, currency) in seated else None,
            annualised_cents=annual[(cc, product, currency)],
            in_year_cents=in_year[(cc, product, currency)],
        )
        for cc, product, currency in sorted(annual, key=lambda k: (k[0], k[1].casefold(), k[2]))
    )

    budget_by_key: dict[tuple[str, str], ShowbackBudget] = {}
    for budget in budgets:
        key2 = (budget.cost_center, budget.currency)
        if key2 in budget_by_key:
            previous = budget_by_key[key2]
            budget = ShowbackBudget(
                budget.cost_center,
                previous.annual_cents + budget.annual_cents,
                previous.actual_cents + budget.actual_cents,
                budget.currency,
                previous.committed_cents + budget.committed_cents,
            )
        budget_by_key[key2] = budget

    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for line in lines:
        acc = sums[(line.cost_center, line.currency)]
        acc[0] += line.seats or 0
        acc[1] += line.annualised_cents
        acc[2] += line.in_year_cents
    for key2 in budget_by_key:
        sums.setdefault(key2, [0, 0, 0])
    totals = tuple(
        CostCenterTotal(
            cost_center=cc,
            currency=currency,
            seats=acc[0],
            annualised_cents=acc[1],
            in_year_cents=acc[2],
            budget_cents=budget_by_key[(cc, currency)].annual_cents if (cc, currency) in budget_by_key else None,
            actual_cents=budget_by_key[(cc, currency)].actual_cents if (cc, currency) in budget_by_key else None,
            committed_cents=(
                budget_by_key[(cc, currency)].committed_cents if (cc, currency) in budget_by_key else None
            ),
        )
        for (cc, currency), acc in sorted(sums.items())
    )
    return ShowbackReport(
        fiscal_year=fiscal_year,
        start=start,
        end=date.fromordinal(stop.toordinal() - 1),
        lines=lines,
        totals=totals,
    )
