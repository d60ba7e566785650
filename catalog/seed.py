"""Demo data for the embedded default: the shipped catalog, directory, budgets and cloud
commitments, loaded into an empty database so `make run` has something to request and
someone to approve; and the version of the approval policy in force."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, select

from catalog import repository
from catalog.models import Asset, Budget, Commitment, Contract, Person, Product, SeatAssignment
from catalog.rules.renewals import add_months

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
    """The people of a directory file, checked like `procure directory import` checks it."""
    from catalog.importers.directory import check_directory, parse_directory

    records, problems = parse_directory(path.read_text(encoding="utf-8"), filename=path.name)
    problems += check_directory(records, existing={})
    if problems:
        raise SeedError(f"{path.name}: " + "; ".join(str(p) for p in problems))
    return [Person(email=r.email, **r.values()) for r in records]


def budgets_from_yaml(path: Path) -> list[Budget]:
    from catalog.importers.budgets import parse_budgets

    records, problems = parse_budgets(path.read_text(encoding="utf-8"), filename=path.name)
    if problems:
        raise SeedError(f"{path.name}: " + "; ".join(str(p) for p in problems))
    return [r.new_budget() for r in records]


def commitments_from_yaml(path: Path) -> list[Commitment]:
    from catalog.importers.budgets import parse_commitments

    records, problems = parse_commitments(path.read_text(encoding="utf-8"), filename=path.name)
    if problems:
        raise SeedError(f"{path.name}: " + "; ".join(str(p) for p in problems))
    return [Commitment(name=r.name, **r.values()) for r in records]


def seed_policy_version(session: Session, *, at: datetime) -> str:
    """Record the policy in force (POLICY_FILE or the shipped one) so its text is on file."""
    from catalog.routing import load_active_policy

    policy = load_active_policy()
    repository.record_policy_version(session, version=policy.version, text=policy.text, at=at)
    return policy.version


def is_empty(session: Session) -> bool:
    return (
        session.exec(select(Product).limit(1)).first() is None and session.exec(select(Person).limit(1)).first() is None
    )


def demo_requester_email(data_dir: Path = DATA_DIR) -> str | None:
    """The demo's first requester: the first person of the demo directory (whom the README's
    walkthrough starts as, and whom the local Slack simulator opens as)."""
    people = _load_list(data_dir / "directory.yaml")
    email = people[0].get("email") if people else None
    return str(email).strip().lower() if email else None


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
    if (data_dir / "commitments.yaml").exists():
        for commitment in commitments_from_yaml(data_dir / "commitments.yaml"):
            session.add(commitment)
    session.flush()
    seed_policy_version(session, at=datetime.now(UTC))
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
