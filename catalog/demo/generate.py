"""`procure demo generate`: fill an empty database with a generated company, fast.

The shipped demo (catalog/data: the simulator's people, products and budgets) goes in first,
so signing in as Ian ITAM or Fiona Finance works; the generated directory, register, requests
and money go in after it as bulk inserts (SQLAlchemy Core executemany, in chunks), in one
transaction. Everything follows from one seeded `random.Random` and the company's today."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col

from catalog.db import transaction
from catalog.demo.directory import build_directory
from catalog.demo.register import build_products, build_register
from catalog.demo.requests import CommitmentBook, RequestContext, build_requests
from catalog.demo.spend import build_budgets, build_commitments, build_spend
from catalog.models import (
    ApprovalStep,
    Asset,
    AuditEvent,
    Budget,
    BudgetReservation,
    Commitment,
    CommitmentDrawdown,
    Contract,
    Person,
    Product,
    PurchaseRequest,
    RenewalTerm,
    SeatAssignment,
    SpendRecord,
)
from catalog.repository.renewal_plans import refresh_plans
from catalog.rules.renewals import HolidayCalendar
from catalog.seed import seed_if_empty, seed_policy_version

CHUNK = 5_000
#: Tables whose ids the generator chooses itself (PostgreSQL's sequences are moved past them).
_OWN_IDS = (Asset, Contract, Commitment)


class DemoError(ValueError):
    """The database cannot take generated data as asked; the message says what to do."""


@dataclass(frozen=True)
class DemoSize:
    people: int = 50_000
    contracts: int = 100_000
    requests: int = 100_000
    seed: int = 7

    def __post_init__(self) -> None:
        if self.people < 100:
            raise DemoError("--people must be at least 100 (the directory needs managers and approvers)")
        if self.contracts < 0 or self.requests < 0:
            raise DemoError("--contracts and --requests cannot be negative")


@dataclass(frozen=True)
class DemoSummary:
    counts: dict[str, int]  # table -> rows written
    seconds: float
    today: date


def existing_rows(session: Session) -> dict[str, int]:
    """Rows already in the tables a demo would fill (zero everywhere: an empty database)."""
    tables = {"people": Person, "products": Product, "assets": Asset, "requests": PurchaseRequest}
    return {
        name: int(session.execute(select(func.count()).select_from(model)).scalar_one())
        for name, model in tables.items()
    }


def reset(session: Session) -> None:
    """Delete every row of every table (children first); the schema stays."""
    for table in reversed(SQLModel.metadata.sorted_tables):
        session.execute(delete(table))


def _insert(session: Session, model: type[SQLModel], rows: Sequence[dict[str, Any]]) -> int:
    table = model.__table__  # type: ignore[attr-defined]
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(table), list(rows[start : start + CHUNK]))
    return len(rows)


def _move_sequences(session: Session) -> None:
    if session.connection().dialect.name != "postgresql":
        return
    for model in _OWN_IDS:
        ids = col(model.id)
        highest = select(func.coalesce(func.max(ids), 1)).scalar_subquery()
        session.execute(select(func.setval(func.pg_get_serial_sequence(model.__tablename__, "id"), highest)))


def _next_id(session: Session, model: type[SQLModel]) -> int:
    return int(session.execute(select(func.coalesce(func.max(col(model.id)), 0))).scalar_one()) + 1  # type: ignore[attr-defined]


def generate(
    engine: Engine,
    *,
    size: DemoSize,
    today: date,
    calendar: HolidayCalendar,
    fy_start_month: int,
    rates: dict[str, Decimal],
    replace: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> DemoSummary:
    """Generate the demo company into `engine`'s database (migrated already). Raises `DemoError`
    on a database that has data, unless `replace` (which deletes every row first)."""
    started = time.perf_counter()
    rng = random.Random(size.seed)  # noqa: S311 - reproducible demo data, not secrets
    counts: dict[str, int] = {}
    with transaction(engine) as session:
        found = existing_rows(session)
        if any(found.values()) and not replace:
            held = ", ".join(f"{n} {t}" for t, n in found.items() if n)
            raise DemoError(f"the database already has data ({held}); run again with --reset to delete it all first")
        if replace:
            reset(session)
        seed_if_empty(session)
        policy_version = seed_policy_version(session, at=datetime.now(UTC))
        shipped = session.execute(select(Person)).scalars().all()
        directory = build_directory(rng, people=size.people, existing={p.email for p in shipped})
        for person in shipped:
            directory.index[person.email] = (person.manager_email, person.cost_center or "", person.slack_id or "")
            for role in person.roles:
                directory.by_role.setdefault(role, []).insert(0, person.email)
        progress(f"directory: {len(directory.people)} people, {len(directory.cost_centers)} cost centers")
        counts["person"] = _insert(session, Person, directory.people)
        product_rows, products = build_products(rng, owners=directory.by_role["itam"])
        counts["product"] = _insert(session, Product, product_rows)

        cost_center_of = {email: entry[1] for email, entry in directory.index.items()}
        everyone = [p["email"] for p in directory.people]
        register = build_register(
            rng,
            contracts=size.contracts,
            first_id=_next_id(session, Asset),
            today=today,
            products=products,
            owners=directory.managers,
            people=everyone,
            cost_center_of=cost_center_of,
            deciders=directory.by_role["itam"],
            calendar=calendar,
        )
        progress(f"register: {len(register.assets)} contracts, {len(register.seats)} seats")
        counts["asset"] = _insert(session, Asset, register.assets)
        counts["contract"] = _insert(session, Contract, register.contracts)
        counts["seat_assignment"] = _insert(session, SeatAssignment, register.seats)
        counts["renewal_term"] = _insert(session, RenewalTerm, register.terms)

        book = CommitmentBook(build_commitments(today=today, first_id=_next_id(session, Commitment)))
        ctx = RequestContext(
            today=today,
            products=products,
            requesters=everyone,
            index=directory.index,
            by_role=directory.by_role,
            cc_currency={cc.code: cc.currency for cc in directory.cost_centers},
            rates=rates,
            fy_start_month=fy_start_month,
            policy_version=policy_version,
            commitments=book,
        )
        made = build_requests(rng, count=size.requests, ctx=ctx)
        progress(f"requests: {len(made.requests)}, {len(made.steps)} approval steps, {len(made.audit)} audit rows")
        for row in book.rows:
            row["remaining_cents"] = row["total_cents"] - book.drawn.get(row["id"], 0)
        counts["commitment"] = _insert(session, Commitment, book.rows)
        counts["purchase_request"] = _insert(session, PurchaseRequest, made.requests)
        counts["approval_step"] = _insert(session, ApprovalStep, made.steps)
        counts["audit_event"] = _insert(session, AuditEvent, made.audit)
        counts["budget_reservation"] = _insert(session, BudgetReservation, made.reservations)
        counts["commitment_drawdown"] = _insert(session, CommitmentDrawdown, made.drawdowns)

        spend = build_spend(rng, cost_centers=directory.cost_centers, today=today)
        counts["spend_record"] = _insert(session, SpendRecord, spend)
        budgets = build_budgets(
            rng,
            cost_centers=directory.cost_centers,
            today=today,
            fy_start_month=fy_start_month,
            reservations=made.reservations,
            spend=spend,
            rates=rates,
        )
        counts["budget"] = _insert(session, Budget, budgets)
        _move_sequences(session)
        # The first App Home or renewals page would otherwise plan every contract.
        counts["contract_plan"] = refresh_plans(session, as_of=today, calendar=calendar)
        # Fresh statistics, so the query planners pick the indexes for tables this size.
        session.execute(text("ANALYZE"))
    return DemoSummary(counts=counts, seconds=time.perf_counter() - started, today=today)
