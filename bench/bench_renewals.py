"""Planning 100,000 generated contracts with the renewal calendar (catalog/rules/renewals.py)."""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

from catalog.rules.renewals import ContractTerms, HolidayCalendar, plan_renewal

CONTRACTS = 100_000


def run(contracts: int = CONTRACTS) -> dict[str, float]:
    rng = random.Random(7)
    calendar = HolidayCalendar(country="US")
    as_of = date(2026, 11, 23)
    terms = [
        ContractTerms(
            start_date=date(2020, 1, 1) + timedelta(days=rng.randrange(0, 2500)),
            term_months=rng.choice((1, 3, 12, 12, 12, 24, 36)),
            auto_renew=rng.random() < 0.8,
            notice_days=rng.choice((0, 7, 30, 30, 60, 90)),
            notice_basis=rng.choice(("calendar", "calendar", "business")),
        )
        for _ in range(contracts)
    ]
    started = time.perf_counter()
    for contract in terms:
        plan_renewal(contract, as_of=as_of, calendar=calendar)
    elapsed = time.perf_counter() - started
    return {"renewal_plan_100k_s": round(elapsed * CONTRACTS / contracts, 2)}


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:36} {value}")
