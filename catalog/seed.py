"""Demo data for the embedded default: the shipped catalog, directory and budgets, loaded
into an empty database so `make run` has something to request and someone to approve."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, select

from catalog import repository
from catalog.models import Asset, Budget, Contract, Person, Product, SeatAssignment
from catalog.renewals import add_months

DATA_DIR = Path(__file__).resolve().parent / "data"


class SeedError(ValueError):
    pass


def _load_list(path: Path) -> list[dict[str, Any]]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SeedError(f"{path}: not valid YAML: {exc}") from exc
    if loaded is None:
        return []
    if not isinstance(loaded, list) or not all(isinstance(item, dict) for item in loaded):
        raise SeedError(f"{path}: expected a list of entries")
    return loaded


def _date(value: Any, where: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise SeedError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from exc


def products_from_yaml(path: Path) -> list[Product]:
    products = []
    for index, entry in enumerate(_load_list(path), start=1):
        where = f"{path.name} entry {index}"
        try:
            contract = entry.get("contract") or {}
            products.append(
                Product(
                    id=str(entry["id"]),
                    name=str(entry["name"]),
                    vendor=str(entry.get("vendor") or entry["name"]),
                    category=str(entry.get("category") or "uncategorised"),
                    status=str(entry.get("status") or "approved"),
                    block_reason=entry.get("block_reason"),
                    owner_email=entry.get("owner"),
                    seats_total=entry.get("seats_total"),
                    price_cents=int(entry.get("price_cents") or 0),
                    currency=str(entry.get("currency") or "USD"),
                    aliases=[str(a) for a in entry.get("aliases") or []],
                    alternatives=[str(a) for a in entry.get("alternatives") or []],
                    contract_start=_date(contract.get("start"), where),
                    term_months=contract.get("term_months"),
                    auto_renew=bool(contract.get("auto_renew", True)),
                    notice_days=int(contract.get("notice_days") or 0),
                )
            )
        except KeyError as exc:
            raise SeedError(f"{where}: missing field {exc.args[0]}") from exc
    return products


def people_from_yaml(path: Path) -> list[Person]:
    people = []
    for index, entry in enumerate(_load_list(path), start=1):
        try:
            people.append(
                Person(
                    email=str(entry["email"]).strip().lower(),
                    slack_id=entry.get("slack_id"),
                    name=str(entry.get("name") or entry["email"]),
                    manager_email=(str(entry["manager"]).strip().lower() if entry.get("manager") else None),
                    department=entry.get("department"),
                    cost_center=entry.get("cost_center"),
                    roles=[str(r) for r in entry.get("roles") or []],
                    delegate_email=entry.get("delegate"),
                )
            )
        except KeyError as exc:
            raise SeedError(f"{path.name} entry {index}: missing field {exc.args[0]}") from exc
    return people


def budgets_from_yaml(path: Path) -> list[Budget]:
    return [
        Budget(
            cost_center=str(entry["cost_center"]),
            fiscal_year=int(entry["fiscal_year"]),
            annual_cents=int(entry["annual_cents"]),
            currency=str(entry.get("currency") or "USD"),
        )
        for entry in _load_list(path)
    ]


def is_empty(session: Session) -> bool:
    return (
        session.exec(select(Product).limit(1)).first() is None and session.exec(select(Person).limit(1)).first() is None
    )


def seed_if_empty(session: Session, *, data_dir: Path = DATA_DIR) -> bool:
    """Load the demo data when the database holds no catalog and no people. Returns whether it did."""
    if not is_empty(session):
        return False
    for product in products_from_yaml(data_dir / "catalog.yaml"):
        repository.upsert_product(session, product=product)
    for person in people_from_yaml(data_dir / "directory.yaml"):
        repository.upsert_person(session, person=person)
    for budget in budgets_from_yaml(data_dir / "budgets.yaml"):
        session.add(budget)
    session.flush()
    if (data_dir / "seats.yaml").exists():
        seed_seats(session, path=data_dir / "seats.yaml", as_of=date.today())
    return True


def _days_ago(entry: dict[str, Any], key: str, as_of: date, where: str) -> date:
    value = entry.get(key, 0)
    if not isinstance(value, int) or value < 0:
        raise SeedError(f"{where}: {key} must be a whole number of days, not {value!r}")
    return as_of - timedelta(days=value)


def seed_seats(session: Session, *, path: Path, as_of: date) -> None:
    """The seats already owned (seats.yaml): one asset per product, with its contract from the
    catalog and its holders. Activity dates are relative to `as_of`."""
    for index, entry in enumerate(_load_list(path), start=1):
        where = f"{path.name} entry {index}"
        product = repository.get_product(session, product_id=str(entry.get("product")))
        if product is None:
            raise SeedError(f"{where}: unknown product {entry.get('product')!r}")
        seats = int(entry.get("seats") or product.seats_total or 0)
        holders: list[tuple[str, date, date]] = []
        for holder in entry.get("holders") or []:
            holders.append(
                (
                    str(holder["email"]).strip().lower(),
                    _days_ago(holder, "assigned_days_ago", as_of, where),
                    _days_ago(holder, "last_active_days_ago", as_of, where),
                )
            )
        generated = entry.get("generated") or {}
        for n in range(1, int(generated.get("count") or 0) + 1):
            holders.append(
                (
                    f"{generated['prefix']}{n:02d}@example.com",
                    _days_ago(generated, "assigned_days_ago", as_of, where),
                    _days_ago(generated, "last_active_days_ago", as_of, where) - timedelta(days=n % 3),
                )
            )
        if len(holders) > seats:
            raise SeedError(f"{where}: {len(holders)} holders for {seats} seats")
        start = product.contract_start or as_of
        created = datetime.combine(start, time(9), tzinfo=UTC)
        asset = Asset(
            product_id=product.id,
            product_name=product.name,
            vendor=product.vendor,
            owner_email=product.owner_email or "itam@example.com",
            cost_center="CC-IT",
            seats=seats,
            unit_price_cents=product.price_cents,
            annual_cost_cents=product.price_cents * seats,
            currency=product.currency,
            created_at=created,
        )
        session.add(asset)
        session.flush()
        assert asset.id is not None
        term = product.term_months or 12
        session.add(
            Contract(
                asset_id=asset.id,
                start_date=start,
                term_months=term,
                auto_renew=product.auto_renew,
                notice_days=product.notice_days,
                renewal_date=add_months(start, term),
            )
        )
        for email, assigned_on, last_active in holders:
            session.add(
                SeatAssignment(
                    asset_id=asset.id,
                    person_email=email,
                    assigned_at=datetime.combine(assigned_on, time(9), tzinfo=UTC),
                    last_active=last_active,
                )
            )
    session.flush()
