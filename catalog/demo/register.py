"""Generated products, assets with their contracts, seat holders and renewal decisions.

Contracts start over the thirty months before the company's today and the six after it, so
some renew within days, some have passed their notice deadline, some ended; about a quarter
do not renew by themselves, in which case their renewal date is the one of the term running."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from catalog.models import RenewalStatus
from catalog.repository.reminders import contract_terms
from catalog.rules.renewals import HolidayCalendar, RenewalInputError, add_months, plan_renewal

VENDORS = (
    "Acme Cloud",
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella Labs",
    "Hooli",
    "Vandelay",
    "Stark Digital",
    "Wayne Systems",
    "Tyrell",
    "Cyberdyne",
    "Soylent Data",
    "Aperture",
    "Wonka Works",
    "Gringotts",
    "Oceanic",
    "Massive Dynamic",
    "Pied Piper",
    "Dunder Soft",
    "Monarch",
)
LINES = (
    ("Analytics", "analytics"),
    ("CRM", "sales"),
    ("Docs", "productivity"),
    ("Chat", "communication"),
    ("Design", "design"),
    ("CI", "engineering"),
    ("Monitoring", "engineering"),
    ("Security", "security"),
    ("HR", "people"),
    ("Notes", "productivity"),
    ("Sign", "legal"),
    ("Survey", "marketing"),
)
CHANNELS = (("direct", 80), ("aws_marketplace", 8), ("azure_marketplace", 5), ("gcp_marketplace", 4), ("reseller", 3))
TERMS = (12, 12, 12, 12, 12, 12, 24, 36, 1, 3)
NOTICES = (0, 30, 30, 30, 30, 60, 60, 90)


def at_time(d: date, rng: random.Random) -> datetime:
    """A working-hours timestamp on day `d`, in UTC."""
    return datetime.combine(d, time(8 + rng.randrange(10), rng.randrange(60)), tzinfo=UTC)


@dataclass(frozen=True)
class ProductRow:
    id: str
    name: str
    vendor: str
    price_cents: int
    currency: str


def build_products(rng: random.Random, *, owners: list[str]) -> tuple[list[dict[str, Any]], list[ProductRow]]:
    rows: list[dict[str, Any]] = []
    products: list[ProductRow] = []
    for v, vendor in enumerate(VENDORS):
        for line, category in LINES:
            pid = f"demo-{vendor.lower().replace(' ', '-')}-{line.lower()}"
            status = rng.choices(("approved", "restricted", "blocked"), (90, 8, 2))[0]
            currency = rng.choices(("USD", "EUR", "GBP"), (8, 2, 1))[0]
            price = rng.choice((600, 1200, 2400, 4800, 9600, 18000, 36000)) * 100
            name = f"{vendor} {line}"
            rows.append(
                {
                    "id": pid,
                    "name": name,
                    "vendor": vendor,
                    "category": category,
                    "status": status,
                    "block_reason": "not approved by security" if status == "blocked" else None,
                    "owner_email": owners[(v * len(LINES) + len(rows)) % len(owners)],
                    "seats_total": None,
                    "price_cents": price,
                    "currency": currency,
                    "aliases": [],
                    "alternatives": [],
                    "contract_start": None,
                    "term_months": None,
                    "auto_renew": True,
                    "notice_days": 30,
                }
            )
            products.append(ProductRow(pid, name, vendor, price, currency))
    return rows, products


@dataclass
class Register:
    assets: list[dict[str, Any]]
    contracts: list[dict[str, Any]]
    seats: list[dict[str, Any]]
    terms: list[dict[str, Any]]


def build_register(
    rng: random.Random,
    *,
    contracts: int,
    first_id: int,
    today: date,
    products: list[ProductRow],
    owners: list[str],
    people: list[str],
    cost_center_of: dict[str, str],
    deciders: list[str],
    calendar: HolidayCalendar,
) -> Register:
    reg = Register([], [], [], [])
    weights = [1.0 / (1 + i % 37) for i in range(len(products))]  # a few products are everywhere
    picks = rng.choices(products, weights, k=contracts)
    for n, product in enumerate(picks):
        asset_id = first_id + n
        owner = owners[rng.randrange(len(owners))]
        start = today + timedelta(days=rng.randint(-913, 183))
        term = rng.choice(TERMS)
        auto_renew = rng.random() < 0.75
        renewal = add_months(start, term)
        if not auto_renew:
            # Renewed by decision term after term; some lapsed in the last weeks.
            k = 1
            while renewal <= today - timedelta(days=45):
                k += 1
                renewal = add_months(start, term * k)
        seats = max(1, int(rng.lognormvariate(2.3, 1.1)))
        unit = max(100, product.price_cents + rng.randint(-10, 10) * product.price_cents // 100)
        channel = rng.choices([c[0] for c in CHANNELS], [c[1] for c in CHANNELS])[0]
        reg.assets.append(
            {
                "id": asset_id,
                "request_id": None,
                "product_id": product.id,
                "product_name": product.name,
                "vendor": product.vendor,
                "owner_email": owner,
                "cost_center": cost_center_of[owner],
                "channel": channel,
                "seats": seats,
                "unit_price_cents": unit,
                "annual_cost_cents": seats * unit,
                "currency": product.currency,
                "created_at": at_time(min(start, today), rng),
                "external_id": None,
            }
        )
        contract = {
            "id": asset_id,
            "asset_id": asset_id,
            "start_date": start,
            "term_months": term,
            "billing_period": "annual" if term >= 12 else "monthly",
            "auto_renew": auto_renew,
            "notice_days": rng.choice(NOTICES),
            "notice_basis": "business" if rng.random() < 0.1 else "calendar",
            "renewal_date": renewal,
            "next_term_from": None,
            "next_term_seats": None,
            "next_term_unit_price_cents": None,
            "next_term_annual_cost_cents": None,
        }
        reg.contracts.append(contract)
        _seats(rng, reg, asset_id=asset_id, seats=seats, start=start, today=today, people=people)
        if rng.random() < 0.06:
            _decision(rng, reg, contract, today=today, deciders=deciders, calendar=calendar, seats=seats, unit=unit)
    return reg


def _seats(
    rng: random.Random, reg: Register, *, asset_id: int, seats: int, start: date, today: date, people: list[str]
) -> None:
    holders = min(seats, rng.choice((0, 1, 2, 2, 3, 3, 4, 5, 6, 8)))
    for email in rng.sample(people, holders):
        assigned = min(today, start + timedelta(days=rng.randint(0, 60)))
        roll = rng.random()
        if roll < 0.12:
            last_active: date | None = None  # never used
        elif roll < 0.4:
            last_active = today - timedelta(days=rng.randint(31, 240))  # idle
        else:
            last_active = today - timedelta(days=rng.randint(0, 29))
        if last_active is not None and last_active < assigned:
            last_active = assigned
        reg.seats.append(
            {
                "asset_id": asset_id,
                "person_email": email,
                "assigned_at": at_time(assigned, rng),
                "last_active": last_active,
            }
        )


def _decision(
    rng: random.Random,
    reg: Register,
    contract: dict[str, Any],
    *,
    today: date,
    deciders: list[str],
    calendar: HolidayCalendar,
    seats: int,
    unit: int,
) -> None:
    """A decision already taken on the term renewing next (renew, cancel, snooze or an owner)."""
    try:
        terms = contract_terms(
            start_date=contract["start_date"],
            term_months=contract["term_months"],
            auto_renew=contract["auto_renew"],
            notice_days=contract["notice_days"],
            notice_basis=contract["notice_basis"],
            renewal_date=contract["renewal_date"],
        )
        plan = plan_renewal(terms, as_of=today, calendar=calendar)
    except RenewalInputError:
        return
    if plan.renewal_date <= today:
        return
    kind = rng.choices(("renewed", "cancelled", "snoozed", "owned"), (4, 2, 2, 2))[0]
    decided = today - timedelta(days=rng.randint(0, 20))
    renewed = kind == "renewed"
    reg.terms.append(
        {
            "contract_id": contract["id"],
            "renewal_date": plan.renewal_date,
            "status": {"renewed": RenewalStatus.RENEWED, "cancelled": RenewalStatus.CANCELLED}.get(
                kind, RenewalStatus.OPEN
            ).value,
            "decided_by": deciders[rng.randrange(len(deciders))] if kind in ("renewed", "cancelled") else None,
            "decided_at": at_time(decided, rng) if kind in ("renewed", "cancelled") else None,
            "snoozed_until": today + timedelta(days=rng.choice((3, 7, 14))) if kind == "snoozed" else None,
            "itam_owner_email": deciders[rng.randrange(len(deciders))] if kind == "owned" else None,
            "renew_seats": max(1, seats - rng.randint(0, seats // 4)) if renewed and rng.random() < 0.5 else None,
            "renew_unit_price_cents": unit if renewed else None,
            "updated_at": at_time(decided, rng),
            "deadline": plan.deadline,
        }
    )
