"""Demo data for the embedded default: the shipped catalog, directory and budgets, loaded
into an empty database so `make run` has something to request and someone to approve."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, select

from catalog import repository
from catalog.models import Budget, Person, Product

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
    return True
