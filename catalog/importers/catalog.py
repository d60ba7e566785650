"""Catalog as code: read the catalog from YAML or CSV, report every problem with its line
number, and write it back out in either format (import ∘ export is the identity).

Pure: text in, entries and problems out; the CLI (procure/catalog_cli.py) does the I/O and
the database transaction. YAML is read with `yaml.compose`, which keeps each node's line,
and scalars are converted here, so one impossible date does not hide every other problem.

CSV has the same columns as the YAML keys; `aliases` and `alternatives` are `;`-separated and
the contract is flattened into `contract_start`, `term_months`, `auto_renew`, `notice_days`.

Over 400 lines: reading, the checks across entries (ids, aliases, alternatives) and the
writing back must agree on every field, and the round trip is tested as one.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml

from catalog.importers.csv_safe import render_csv, restore
from catalog.importers.rows import ImportProblem, yaml_entries
from catalog.money import CURRENCY_CODES
from catalog.rules.assets import MAX_STORED_CENTS
from catalog.rules.renewals import ContractError, ContractTerms
from catalog.rules.requests import MAX_SEATS

STATUSES = ("approved", "restricted", "blocked")
CSV_COLUMNS = (
    "id",
    "name",
    "vendor",
    "category",
    "aliases",
    "status",
    "block_reason",
    "alternatives",
    "owner",
    "seats_total",
    "price_cents",
    "currency",
    "contract_start",
    "term_months",
    "auto_renew",
    "notice_days",
)
_TOP_KEYS = frozenset(CSV_COLUMNS) - {"contract_start", "term_months", "auto_renew", "notice_days"} | {"contract"}
_CONTRACT_KEYS = frozenset({"start", "term_months", "auto_renew", "notice_days"})
#: A contract term's field (`catalog.rules.renewals.ContractTerms`) → the catalog file's column.
_CONTRACT_FIELD = {"start_date": "contract_start"}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


#: The catalog importer's problems are the importers' one problem type (`catalog.importers.rows`).
CatalogProblem = ImportProblem


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    name: str
    vendor: str
    category: str
    status: str = "approved"
    aliases: tuple[str, ...] = ()
    block_reason: str | None = None
    alternatives: tuple[str, ...] = ()
    owner: str | None = None
    seats_total: int | None = None
    price_cents: int = 0
    currency: str = "USD"
    contract: ContractTerms | None = None
    line: int = field(default=0, compare=False)


@dataclass
class _Raw:
    """One entry as read: values and the line each came from (contract keys flattened)."""

    line: int
    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)


# --- reading ------------------------------------------------------------------------------


def _scalar(node: yaml.ScalarNode) -> Any:
    tag = node.tag.rsplit(":", 1)[-1]
    if tag == "null":
        return None
    if tag == "bool":
        return node.value.lower() in ("true", "yes", "on")
    if tag == "int":
        try:
            return int(node.value.replace("_", ""))
        except ValueError:
            return node.value
    if tag == "float":
        try:
            return float(node.value)
        except ValueError:
            return node.value
    return node.value  # str, and timestamps: parsed (and checked) by the validator


def _plain(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return [_plain(n) for n in node.value]
    if isinstance(node, yaml.MappingNode):
        return {str(_plain(k)): _plain(v) for k, v in node.value}
    return None


def _raw_from_yaml(text: str) -> tuple[list[_Raw], list[CatalogProblem]]:
    entries, problems = yaml_entries(text, what="products", entry="a product (a mapping of fields)")
    raws: list[_Raw] = []
    for line, item in entries:
        raw = _Raw(line)
        for key_node, value_node in item.value:
            key = str(_plain(key_node))
            key_line = key_node.start_mark.line + 1
            if key in raw.lines:
                problems.append(CatalogProblem(key_line, f"field {key!r} given twice"))
            if key == "contract" and isinstance(value_node, yaml.MappingNode):
                raw.values["contract"], raw.lines["contract"] = {}, key_line
                for ck, cv in value_node.value:
                    ckey = str(_plain(ck))
                    flat = "contract_start" if ckey == "start" else ckey
                    if ckey not in _CONTRACT_KEYS:
                        problems.append(CatalogProblem(ck.start_mark.line + 1, f"unknown contract field {ckey!r}"))
                        continue
                    raw.values[flat] = _plain(cv)
                    raw.lines[flat] = ck.start_mark.line + 1
                continue
            raw.values[key] = _plain(value_node)
            raw.lines[key] = key_line
        raws.append(raw)
    return raws, problems


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(";") if part.strip()]


def _raw_from_csv(text: str) -> tuple[list[_Raw], list[CatalogProblem]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    problems = [CatalogProblem(1, f"unknown column {h!r}") for h in header if h not in CSV_COLUMNS]
    if "id" not in header:
        problems.append(CatalogProblem(1, "the header must name the columns, starting with id"))
        return [], problems
    raws: list[_Raw] = []
    for row in reader:
        line = reader.line_num
        raw = _Raw(line)
        for key, value in row.items():
            if key is None or key.strip() not in CSV_COLUMNS:
                continue
            key = key.strip()
            text_value = restore(value or "").strip()  # a cell our export quoted (csv_safe)
            parsed: Any = text_value or None
            if key in ("aliases", "alternatives"):
                parsed = _split(text_value)
            elif key in ("seats_total", "price_cents", "term_months", "notice_days") and text_value:
                try:
                    parsed = int(text_value)
                except ValueError:
                    parsed = text_value
            elif key == "auto_renew" and text_value:
                lowered = text_value.lower()
                parsed = (
                    True
                    if lowered in ("true", "yes", "1")
                    else False
                    if lowered in ("false", "no", "0")
                    else text_value
                )
            raw.values[key] = parsed
            raw.lines[key] = line
        if any(v not in (None, []) for v in raw.values.values()):
            raws.append(raw)
    return raws, problems


# --- checking -----------------------------------------------------------------------------


def _parse_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _entry(raw: _Raw, problems: list[CatalogProblem]) -> CatalogEntry | None:
    """Check one entry's own fields; None when it is too broken to check against the others."""
    v, at = raw.values, raw.lines
    count = len(problems)

    def bad(key: str, message: str) -> None:
        problems.append(CatalogProblem(at.get(key, raw.line), message))

    for key in v:
        if key not in _TOP_KEYS and key not in CSV_COLUMNS:
            bad(key, f"unknown field {key!r}")
    for key in ("id", "name", "category"):
        if v.get(key) in (None, ""):
            problems.append(CatalogProblem(raw.line, f"missing required field {key!r}"))
    pid = str(v.get("id") or "")
    if pid and not _SLUG.match(pid):
        bad("id", f"id {pid!r} must be a lower-case slug (a-z, 0-9, '-', '.', '_')")
    status = str(v.get("status") or "approved")
    if status not in STATUSES:
        bad("status", f"status {status!r} must be one of {', '.join(STATUSES)}")
    reason = v.get("block_reason")
    if status == "blocked" and not (isinstance(reason, str) and reason.strip()):
        bad("status", f"{pid or 'product'} is blocked without a block_reason")

    def listing(key: str) -> tuple[str, ...]:
        value = v.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(x, str | int) for x in value):
            bad(key, f"{key} must be a list of names")
            return ()
        return tuple(str(x).strip() for x in value if str(x).strip())

    def count_of(key: str, *, minimum: int, nullable: bool, maximum: int | None = None) -> int | None:
        value = v.get(key)
        if value is None:
            if not nullable:
                return None
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            bad(key, f"{key} must be a whole number, not {value!r}")
            return None
        if value < minimum:
            bad(
                key,
                f"{key} must be at least {minimum}, not {value}" if minimum else f"{key} can't be negative ({value})",
            )
            return None
        if maximum is not None and value > maximum:  # the database could not store it (a 500 on the console)
            bad(key, f"{key} must be at most {maximum:,}, not {value:,}; check the number of digits")
            return None
        return value

    aliases, alternatives = listing("aliases"), listing("alternatives")
    seats = count_of("seats_total", minimum=0, nullable=True, maximum=MAX_SEATS)
    price = count_of("price_cents", minimum=0, nullable=True, maximum=MAX_STORED_CENTS)
    currency = str(v.get("currency") or "USD")
    if currency not in CURRENCY_CODES:
        bad("currency", f"currency {currency[:20]!r} is not an ISO 4217 currency code such as USD, EUR or GBP")
    owner = v.get("owner")
    if owner is not None and not (isinstance(owner, str) and _EMAIL.match(owner)):
        bad("owner", f"owner {owner!r} must be an email address")

    contract: ContractTerms | None = None
    contract_keys = ("contract_start", "term_months", "auto_renew", "notice_days")
    if any(v.get(k) is not None for k in contract_keys):
        start = _parse_date(v.get("contract_start"))
        if v.get("contract_start") is None:
            bad("contract", "the contract needs a start date")
        elif start is None:
            bad("contract_start", f"contract start {v.get('contract_start')!r} is not a date (YYYY-MM-DD)")
        term = count_of("term_months", minimum=1, nullable=True)
        if v.get("term_months") is None:
            bad("contract", "the contract needs term_months")
        notice = count_of("notice_days", minimum=0, nullable=True)
        auto_renew = v.get("auto_renew", True)
        if auto_renew is None:
            auto_renew = True
        if not isinstance(auto_renew, bool):
            bad("auto_renew", f"auto_renew must be true or false, not {auto_renew!r}")
        if start is not None and term is not None and isinstance(auto_renew, bool):
            try:
                contract = ContractTerms(start, term, auto_renew, 30 if notice is None else notice)
            except ContractError as error:  # beyond what the renewal calendar can plan
                bad(_CONTRACT_FIELD.get(error.field, error.field), str(error))
    if len(problems) > count or not pid:
        return None
    return CatalogEntry(
        id=pid,
        name=str(v["name"]),
        vendor=str(v.get("vendor") or v["name"]),
        category=str(v["category"]),
        status=status,
        aliases=aliases,
        block_reason=str(reason) if reason else None,
        alternatives=alternatives,
        owner=str(owner) if owner else None,
        seats_total=seats,
        price_cents=price or 0,
        currency=currency,
        contract=contract,
        line=raw.line,
    )


def _check_across(raws: Sequence[_Raw], problems: list[CatalogProblem], existing: Mapping[str, Sequence[str]]) -> None:
    """Duplicate ids and aliases (case-insensitive, across products) and unknown alternatives.

    `existing` (id → aliases) are the products already in the database: a file may name them
    as alternatives, and the ones it does not replace keep their names, so its own ids and
    aliases must not take them."""
    ids: dict[str, int] = {}
    for raw in raws:
        pid = str(raw.values.get("id") or "").strip()
        if not pid:
            continue
        key = pid.casefold()
        if key in ids:
            problems.append(
                CatalogProblem(raw.lines.get("id", raw.line), f"duplicate id {pid!r} (first on line {ids[key]})")
            )
        else:
            ids[key] = raw.lines.get("id", raw.line)
    # Names held by database products the file leaves as they are: name → that product's id.
    kept = {pid.casefold(): pid for pid in existing if pid.casefold() not in ids}
    taken = dict(kept)
    for pid in kept.values():
        for alias in existing[pid]:
            taken.setdefault(alias.casefold(), pid)
    # Every id and alias names one product: (index of the entry, its id, the line).
    names: dict[str, tuple[int, str, int]] = {}
    for index, raw in enumerate(raws):
        pid = str(raw.values.get("id") or "").strip()
        if pid and pid.casefold() in taken:
            problems.append(
                CatalogProblem(
                    raw.lines.get("id", raw.line),
                    f"id {pid!r} is already an alias of {taken[pid.casefold()]!r} in the database",
                )
            )
        if pid and pid.casefold() not in names:
            names[pid.casefold()] = (index, pid, raw.lines.get("id", raw.line))
    for index, raw in enumerate(raws):
        aliases = raw.values.get("aliases")
        for alias in aliases if isinstance(aliases, list) else []:
            key = str(alias).strip().casefold()
            if not key:
                continue
            owner = names.get(key)
            if owner is not None and owner[0] != index:
                problems.append(
                    CatalogProblem(
                        raw.lines.get("aliases", raw.line),
                        f"alias {alias!r} is already used by {owner[1]!r} (line {owner[2]})",
                    )
                )
            elif key in taken:
                problems.append(
                    CatalogProblem(
                        raw.lines.get("aliases", raw.line),
                        f"alias {alias!r} is already used by {taken[key]!r} in the database",
                    )
                )
            elif owner is None:
                names[key] = (index, str(raw.values.get("id") or ""), raw.lines.get("aliases", raw.line))
    for raw in raws:
        pid = str(raw.values.get("id") or "").strip().casefold()
        alternatives = raw.values.get("alternatives")
        for alt in alternatives if isinstance(alternatives, list) else []:
            key = str(alt).strip().casefold()
            if key == pid:
                problems.append(
                    CatalogProblem(raw.lines.get("alternatives", raw.line), f"{alt!r} is its own alternative")
                )
            elif key not in ids and key not in kept:
                problems.append(CatalogProblem(raw.lines.get("alternatives", raw.line), f"unknown alternative {alt!r}"))


def _check(
    raws: list[_Raw], problems: list[CatalogProblem], existing: Mapping[str, Sequence[str]] | None
) -> tuple[list[CatalogEntry], list[CatalogProblem]]:
    entries = [e for e in (_entry(raw, problems) for raw in raws) if e is not None]
    _check_across(raws, problems, existing or {})
    return entries, sorted(problems, key=lambda p: p.line)


def parse_catalog_yaml(
    text: str, *, existing: Mapping[str, Sequence[str]] | None = None
) -> tuple[list[CatalogEntry], list[CatalogProblem]]:
    """The entries of a catalog YAML, and every problem in it (sorted by line).

    `existing`: the products already in the database (id → aliases), for a file that adds to
    them or changes some (see `_check_across`); without it the file must stand alone."""
    raws, problems = _raw_from_yaml(text)
    return _check(raws, problems, existing)


def parse_catalog_csv(
    text: str, *, existing: Mapping[str, Sequence[str]] | None = None
) -> tuple[list[CatalogEntry], list[CatalogProblem]]:
    raws, problems = _raw_from_csv(text)
    return _check(raws, problems, existing)


def parse_catalog(
    text: str, *, filename: str, existing: Mapping[str, Sequence[str]] | None = None
) -> tuple[list[CatalogEntry], list[CatalogProblem]]:
    if filename.lower().endswith(".csv"):
        return parse_catalog_csv(text, existing=existing)
    return parse_catalog_yaml(text, existing=existing)


# --- writing ------------------------------------------------------------------------------


def _yaml_entry(entry: CatalogEntry) -> dict[str, Any]:
    contract = (
        {
            "start": entry.contract.start_date.isoformat(),
            "term_months": entry.contract.term_months,
            "auto_renew": entry.contract.auto_renew,
            "notice_days": entry.contract.notice_days,
        }
        if entry.contract
        else None
    )
    return {
        "id": entry.id,
        "name": entry.name,
        "vendor": entry.vendor,
        "category": entry.category,
        "aliases": list(entry.aliases),
        "status": entry.status,
        "block_reason": entry.block_reason,
        "alternatives": list(entry.alternatives),
        "owner": entry.owner,
        "seats_total": entry.seats_total,
        "price_cents": entry.price_cents,
        "currency": entry.currency,
        "contract": contract,
    }


def catalog_to_yaml(entries: Iterable[CatalogEntry]) -> str:
    body = yaml.safe_dump(
        [_yaml_entry(e) for e in entries], sort_keys=False, allow_unicode=True, default_flow_style=None, width=120
    )
    return "# The product catalog (procure catalog export).\n" + body


def catalog_to_csv(entries: Iterable[CatalogEntry]) -> str:
    rows: list[list[object]] = []
    for e in entries:
        c = e.contract
        rows.append(
            [
                e.id,
                e.name,
                e.vendor,
                e.category,
                ";".join(e.aliases),
                e.status,
                e.block_reason,
                ";".join(e.alternatives),
                e.owner,
                e.seats_total,
                e.price_cents,
                e.currency,
                c.start_date.isoformat() if c else None,
                c.term_months if c else None,
                c.auto_renew if c else None,
                c.notice_days if c else None,
            ]
        )
    return render_csv(CSV_COLUMNS, rows)


# --- seat usage ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UsageRow:
    line: int
    product_id: str
    email: str
    last_active: date


def parse_usage_csv(text: str, *, as_of: date) -> tuple[list[UsageRow], list[CatalogProblem]]:
    """Seat activity (`product_id,email,last_active`; `product`/`user_email` also accepted)."""
    reader = csv.DictReader(io.StringIO(text))
    header = {h.strip().lower(): h for h in reader.fieldnames or []}
    product_col = header.get("product_id") or header.get("product")
    email_col = header.get("email") or header.get("user_email")
    active_col = header.get("last_active")
    if not (product_col and email_col and active_col):
        return [], [CatalogProblem(1, "the header must be: product_id,email,last_active")]
    rows: list[UsageRow] = []
    problems: list[CatalogProblem] = []
    seen: dict[tuple[str, str], int] = {}
    for row in reader:
        line = reader.line_num
        product = (row.get(product_col) or "").strip()
        email = (row.get(email_col) or "").strip().lower()
        when_text = (row.get(active_col) or "").strip()
        if not product and not email and not when_text:
            continue
        when = _parse_date(when_text)
        if not product:
            problems.append(CatalogProblem(line, "missing product id"))
        if not _EMAIL.match(email):
            problems.append(CatalogProblem(line, f"{email or 'empty'!r} is not an email address"))
        if when is None:
            problems.append(CatalogProblem(line, f"last_active {when_text!r} is not a date (YYYY-MM-DD)"))
        elif when > as_of:
            problems.append(CatalogProblem(line, f"last_active {when_text} is in the future"))
        key = (product, email)
        if key in seen:
            problems.append(CatalogProblem(line, f"{email} / {product} already given on line {seen[key]}"))
        seen[key] = line
        if product and _EMAIL.match(email) and when is not None and when <= as_of:
            rows.append(UsageRow(line, product, email, when))
    return rows, problems
