"""One catalog product edited in a form (the console's /catalog page), judged by exactly the
checks `procure catalog check` and `procure catalog import` run, with every problem placed
next to the field it is about.

The form is written as a one-product catalog YAML with each field on a line of its own, then
read by `parse_catalog_yaml` against the database's other products (the same `existing` the
import passes); the line of each problem says which field it belongs to."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlmodel import Session

from catalog import repository
from catalog.importers.catalog import CSV_COLUMNS, CatalogEntry, parse_catalog_yaml
from catalog.models import Product
from catalog.projection import copy_fields
from catalog.rules.renewals import ContractTerms

#: The form's fields, in the order they are shown (and written as YAML): the CSV's columns.
FORM_FIELDS = CSV_COLUMNS
_LISTS = ("aliases", "alternatives")
_NUMBERS = ("seats_total", "price_cents", "term_months", "notice_days")
_CONTRACT = {"contract_start": "start", "term_months": "term_months", "auto_renew": "auto_renew"}
_CONTRACT |= {"notice_days": "notice_days"}


@dataclass(frozen=True)
class FormCheck:
    entry: CatalogEntry | None  # None when any problem was found
    problems: dict[str, list[str]] = field(default_factory=dict)  # field → messages

    @property
    def ok(self) -> bool:
        return self.entry is not None and not self.problems


def _value(name: str, text: str) -> object:
    text = text.strip()
    if not text:
        return None
    if name in _LISTS:
        return [part.strip() for part in text.replace(",", ";").split(";") if part.strip()]
    if name in _NUMBERS:
        try:
            return int(text)
        except ValueError:
            return text  # the check says it is not a whole number
    if name == "auto_renew":
        return {"true": True, "on": True, "yes": True, "false": False, "off": False, "no": False}.get(
            text.lower(), text
        )
    return text


def form_yaml(form: Mapping[str, str]) -> tuple[str, dict[int, str]]:
    """The form as a one-product catalog YAML, and which field each line holds."""
    lines = ["-"]
    where: dict[int, str] = {}
    contract: list[tuple[str, object]] = []
    for name in FORM_FIELDS:
        value = _value(name, form.get(name, ""))
        if value is None:
            continue
        if name in _CONTRACT:
            contract.append((name, value))
            continue
        lines.append(f"  {name}: {json.dumps(value)}")  # JSON is YAML: quoting and lists for free
        where[len(lines)] = name
    if contract:
        lines.append("  contract:")
        where[len(lines)] = contract[0][0]
        for name, value in contract:
            lines.append(f"    {_CONTRACT[name]}: {json.dumps(value)}")
            where[len(lines)] = name
    return "\n".join(lines) + "\n", where


def check_form(form: Mapping[str, str], *, existing: Mapping[str, Sequence[str]]) -> FormCheck:
    """Check one product as `procure catalog import` would; `existing` holds the database's
    products (id → aliases), the one being edited included (the form replaces it)."""
    text, where = form_yaml(form)
    entries, problems = parse_catalog_yaml(text, existing=existing)
    placed: dict[str, list[str]] = {}
    for problem in problems:
        name = where.get(problem.line, "id")
        if problem.message.startswith("missing required field "):
            name = problem.message.split("'")[1]
        placed.setdefault(name, []).append(problem.message)
    entry = entries[0] if entries and not placed else None
    return FormCheck(entry, placed)


def form_of(entry: CatalogEntry) -> dict[str, str]:
    """The form's values for a product as it is (the edit form starts from these)."""
    contract = entry.contract
    values = {
        "id": entry.id,
        "name": entry.name,
        "vendor": entry.vendor,
        "category": entry.category,
        "status": entry.status,
        "block_reason": entry.block_reason or "",
        "aliases": "; ".join(entry.aliases),
        "alternatives": "; ".join(entry.alternatives),
        "owner": entry.owner or "",
        "seats_total": "" if entry.seats_total is None else str(entry.seats_total),
        "price_cents": str(entry.price_cents),
        "currency": entry.currency,
        "contract_start": contract.start_date.isoformat() if contract else "",
        "term_months": str(contract.term_months) if contract else "",
        "auto_renew": ("true" if contract.auto_renew else "false") if contract else "",
        "notice_days": str(contract.notice_days) if contract else "",
    }
    return values


# --- writing a product (what `procure catalog import` does for each entry) ------------------


def entry_from_product(product: Product) -> CatalogEntry:
    contract = (
        ContractTerms(product.contract_start, product.term_months, product.auto_renew, product.notice_days)
        if product.contract_start and product.term_months
        else None
    )
    return copy_fields(
        CatalogEntry,
        product,
        aliases=tuple(product.aliases),
        alternatives=tuple(product.alternatives),
        owner=product.owner_email,
        contract=contract,
    )


def upsert_catalog_entry(session: Session, entry: CatalogEntry) -> str:
    """Add or update one product; returns added / changed / unchanged."""
    existing = repository.get_product(session, product_id=entry.id)
    if existing is not None and entry_from_product(existing) == entry:
        return "unchanged"
    contract = entry.contract
    product = existing or Product(id=entry.id, name=entry.name, vendor=entry.vendor, category=entry.category)
    product.name, product.vendor, product.category, product.status = (
        entry.name,
        entry.vendor,
        entry.category,
        entry.status,
    )
    product.block_reason = entry.block_reason
    product.owner_email = entry.owner
    product.seats_total = entry.seats_total
    product.price_cents, product.currency = entry.price_cents, entry.currency
    product.aliases, product.alternatives = list(entry.aliases), list(entry.alternatives)
    product.contract_start = contract.start_date if contract else None
    product.term_months = contract.term_months if contract else None
    product.auto_renew = contract.auto_renew if contract else True
    product.notice_days = contract.notice_days if contract else 30
    session.add(product)
    session.flush()
    return "changed" if existing is not None else "added"


def save_product(session: Session, *, entry: CatalogEntry, actor: str, at: datetime) -> str:
    """One product edited in the console: written as `catalog import` writes it, with an
    audit row of who changed it and what it became (none when nothing changed)."""
    existing = repository.get_product(session, product_id=entry.id)
    before = asdict(entry_from_product(existing)) if existing is not None else None
    outcome = upsert_catalog_entry(session, entry)
    if outcome == "unchanged":
        return outcome
    after = asdict(entry)
    changed = sorted(k for k in after if k != "line" and (before is None or before[k] != after[k]))
    repository.audit(
        session,
        idem_key=f"product:{entry.id}:{at.isoformat()}:{actor}"[:200],
        at=at,
        entity="product",
        entity_id=entry.id,
        action=f"product_{outcome}",
        actor=actor,
        detail={"changed": changed, "after": json.loads(json.dumps({k: after[k] for k in changed}, default=str))},
    )
    return outcome
