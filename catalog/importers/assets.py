"""Contracts bought before the bot existed: parse an asset register file into validated records.

Pure: takes the file's text, returns `AssetRecord`s or raises `AssetImportError` listing *every*
problem with its line number and field, so a person fixes the file once, not once per run.

Two formats:

* **CSV** with Snipe-IT's license import/export columns (`Name`, `Seats`, `Manufacturer`,
  `Purchase Date`, `Purchase Cost`, `Expiration Date`, `Termination Date`, `Licensed to Email`,
  `Order Number`, …) and/or our own field names (`term_months`, `auto_renew`, `notice_days`,
  `notice_basis`, `billing_period`, `currency`, `channel`, `cost_center`, `unit_price_cents`,
  `annual_cost_cents`, `product_id`, `request_id`, `external_id` — what `procure assets export`
  writes). Headers match case-insensitively; spaces, `_` and `-` are interchangeable.
* **YAML**: a list of mappings with our field names.

Snipe-IT's `Purchase Cost` is read as the price of all seats for one term (it has no billing
period); it is annualised and split per seat. `unit_price_cents` (per seat per year) or
`annual_cost_cents` win when given (an export carries both; the annual cost is kept while it
agrees with seats × unit price, so a flat-priced product's exact yearly price survives).
Product keys and serial numbers are never imported: they are secrets the register does not need.

A **usage-based** contract (cloud, observability, data warehouse, API credits) has no seat count:
`seats` empty, null or left out, and a contract value given instead — `annual_cost_cents`, or
`unit_price_cents` / `Purchase Cost` read as the price of the whole term and annualised. It is
recorded with `seats` None and its unit price equal to its annual cost (docs/decisions.md, 52).
A row with neither seats nor a contract value is refused.

Every record gets a stable `external_id`: the file's own (`external_id` column), or a digest of
what identifies the purchase (product, vendor, order number, start date, cost center), so that
importing the same file twice changes nothing.

Over 400 lines: the column aliases, the value parsers and the row rules of one file format
(what the shared `catalog.importers.rows` reader does not read) belong together.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

import yaml

from catalog.importers.csv_safe import restore
from catalog.importers.rows import parse_date
from catalog.money import parse_currency
from catalog.money import parse_money as _parse_file_money
from catalog.rules.assets import MAX_EMAIL_LENGTH, MAX_STORED_CENTS, AssetRecord, normalise_email
from catalog.rules.renewals import MAX_NOTICE_DAYS, MAX_TERM_MONTHS, MAX_YEAR, MIN_YEAR, add_months
from catalog.rules.requests import CHANNELS, MAX_SEATS

__all__ = [
    "BILLING_PERIODS",
    "FIELDS",
    "MAX_STORED_CENTS",
    "AssetImportError",
    "AssetRecord",
    "ImportDefaults",
    "ImportIssue",
    "ParsedFile",
    "normalise_email",
    "parse_bool",
    "parse_csv",
    "parse_date",
    "parse_file",
    "parse_money",
    "parse_yaml",
]

BILLING_PERIODS = ("monthly", "quarterly", "annual", "multi_year")
NOTICE_BASES = ("calendar", "business")
MAX_ROWS = 50_000

#: Column headers (normalised) → our field. Snipe-IT's names first, then ours.
_ALIASES: dict[str, str] = {
    "name": "product",
    "item name": "product",
    "software name": "product",
    "license name": "product",
    "product": "product",
    "product name": "product",
    "manufacturer": "vendor",
    "vendor": "vendor",
    "seats": "seats",
    "total seats": "seats",
    "quantity": "seats",
    "licensed to email": "owner_email",
    "owner email": "owner_email",
    "owner": "owner_email",
    "purchase date": "start_date",
    "start date": "start_date",
    "expiration date": "renewal_date",
    "renewal date": "renewal_date",
    "termination date": "termination_date",
    "purchase cost": "purchase_cost",
    "unit price cents": "unit_price_cents",
    "order number": "order_number",
    "cost center": "cost_center",
    "cost centre": "cost_center",
    "external id": "external_id",
    "term months": "term_months",
    "auto renew": "auto_renew",
    "notice days": "notice_days",
    "notice basis": "notice_basis",
    "billing period": "billing_period",
    "currency": "currency",
    "channel": "channel",
    "product id": "product_id",
    "request id": "request_id",
    "annual cost cents": "annual_cost_cents",
}
#: Snipe-IT columns we read past on purpose (no place in the register, or secrets).
_IGNORED = frozenset(
    {
        "company",
        "category",
        "supplier",
        "maintained",
        "reassignable",
        "notes",
        "licensed to name",
        "product key",
        "serial number",
        "serial",
        "purchase order",
        "min amt",
        "depreciation",
        "id",
        "created at",
        "updated at",
    }
)
FIELDS = tuple(sorted(set(_ALIASES.values())))

#: A row without seats that gives one of these is a usage-based contract.
_CONTRACT_VALUE_FIELDS = ("annual_cost_cents", "unit_price_cents", "purchase_cost")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_INT = re.compile(r"[+]?\d{1,12}", re.ASCII)
_TRUE = frozenset({"true", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})
_LENGTHS = {
    "product": 200,
    "vendor": 200,
    "owner_email": MAX_EMAIL_LENGTH,
    "cost_center": 64,
    "external_id": 64,
    "product_id": 64,
    "request_id": 32,
}


@dataclass(frozen=True)
class ImportIssue:
    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class AssetImportError(ValueError):
    """The file cannot be imported; `issues` lists every problem found, in line order."""

    def __init__(self, issues: Iterable[ImportIssue]) -> None:
        self.issues = tuple(sorted(issues, key=lambda i: (i.line, i.field or "")))
        super().__init__("\n".join(str(issue) for issue in self.issues))


@dataclass(frozen=True)
class ImportDefaults:
    """Values for columns a file leaves out (`procure assets import --cost-center …`)."""

    cost_center: str | None = None
    owner_email: str | None = None
    currency: str = "USD"
    term_months: int = 12
    notice_days: int = 30


@dataclass(frozen=True)
class ParsedFile:
    records: tuple[AssetRecord, ...]
    ignored_columns: tuple[str, ...] = field(default=())


_T = TypeVar("_T")


# --- value parsers (each raises ValueError with a message a person can act on) --------------


def parse_money(text: str, currency: str | None = None) -> int:
    """An amount as written in a spreadsheet ("1,234.50", "$99", "1200 USD") → cents: what
    `catalog.money.parse_money` reads, up to what the money columns hold; an amount naming
    another currency than the row's `currency` is refused."""
    return _parse_file_money(
        text, max_cents=MAX_STORED_CENTS, example="1234.50 (no negative amounts)", currency=currency
    )


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{text.strip()[:40]!r} is not yes/no (true/false, 1/0)")


def _int_in(text: str, low: int, high: int) -> int:
    if not _INT.fullmatch(text.strip()):
        raise ValueError(f"{text.strip()[:40]!r} is not a whole number")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{value} is not between {low:,} and {high:,}")
    return value


def _round_div(numerator: int, denominator: int) -> int:
    """Integer division rounding halves up, so cents never go through a float."""
    return (2 * numerator + denominator) // (2 * denominator)


def _months_between(start: date, end: date) -> int:
    """Whole months from `start` to `end`, to the nearest month (at least one): a licence
    bought on Feb 1 that expires on Jan 31 next year is a 12-month term."""
    months = (end.year - start.year) * 12 + end.month - start.month
    candidates = [k for k in (months - 1, months, months + 1) if 1 <= k <= MAX_TERM_MONTHS]
    if not candidates:
        return max(1, min(months, MAX_TERM_MONTHS))
    return min(candidates, key=lambda k: (abs((add_months(start, k) - end).days), k))


# --- a row → a record --------------------------------------------------------------------------


class _Row:
    """One row's raw values by field, collecting every problem instead of stopping at the first."""

    def __init__(self, line: int, values: Mapping[str, str]) -> None:
        self.line = line
        self.values = values
        self.issues: list[ImportIssue] = []

    def raw(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def get(self, name: str, parse: Callable[[str], _T], default: _T) -> _T:
        raw = self.raw(name)
        if raw is None:
            return default
        try:
            return parse(raw)
        except ValueError as error:
            self.issues.append(ImportIssue(self.line, name, str(error)))
            return default

    def fail(self, name: str, message: str) -> None:
        self.issues.append(ImportIssue(self.line, name, message))

    def require(self, name: str, message: str) -> None:
        """Report `name` missing, unless its value was already reported as unusable."""
        if self.raw(name) is None and not any(issue.field == name for issue in self.issues):
            self.fail(name, message)


def _text(limit: int) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if len(text) > limit:
            raise ValueError(f"is longer than {limit} characters")
        if any(ord(c) < 32 for c in text):
            raise ValueError("contains control characters")
        return text

    return parse


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower().replace("-", "_").replace(" ", "_")
        if value not in options:
            raise ValueError(f"{text[:40]!r} is not one of {', '.join(options)}")
        return value

    return parse


def _currency(text: str) -> str:
    return parse_currency(text)


def external_id_for(product: str, vendor: str | None, order_number: str | None, start: date, cost_center: str) -> str:
    """A stable key for a purchase whose file carries no id of its own."""
    identity = "\x1f".join(
        [product.casefold(), (vendor or "").casefold(), order_number or "", start.isoformat(), cost_center.casefold()]
    )
    return "h-" + hashlib.sha256(identity.encode()).hexdigest()[:32]


def _record(row: _Row, defaults: ImportDefaults) -> AssetRecord | None:
    product = row.get("product", _text(_LENGTHS["product"]), None)
    row.require("product", "missing (column Name / Software Name / product)")
    vendor = row.get("vendor", _text(_LENGTHS["vendor"]), None)
    product_id = row.get("product_id", _text(_LENGTHS["product_id"]), None)
    seats = row.get("seats", lambda t: _int_in(t, 1, MAX_SEATS), None)
    usage_based = row.raw("seats") is None and any(row.raw(name) is not None for name in _CONTRACT_VALUE_FIELDS)
    if not usage_based:
        row.require(
            "seats",
            "missing (column Seats); a usage-based contract with no seat count gives its contract value instead "
            "(annual_cost_cents, unit_price_cents or Purchase Cost)",
        )
    owner = row.get("owner_email", normalise_email, defaults.owner_email)
    if owner is None:
        row.require("owner_email", "missing (column Licensed to Email / owner_email, or --owner)")
    cost_center = row.get("cost_center", _text(_LENGTHS["cost_center"]), defaults.cost_center)
    if cost_center is None:
        row.require("cost_center", "missing (column cost_center, or --cost-center)")
    channel = row.get("channel", _choice(CHANNELS), "direct")
    currency = row.get("currency", _currency, defaults.currency)
    billing = row.get("billing_period", _choice(BILLING_PERIODS), "annual")
    notice_basis = row.get("notice_basis", _choice(NOTICE_BASES), "calendar")
    notice_days = row.get("notice_days", lambda t: _int_in(t, 0, MAX_NOTICE_DAYS), defaults.notice_days)
    term_given = row.get("term_months", lambda t: _int_in(t, 1, MAX_TERM_MONTHS), None)
    start = row.get("start_date", parse_date, None)
    renewal = row.get("renewal_date", parse_date, None)
    termination = row.get("termination_date", parse_date, None)
    order_number = row.get("order_number", _text(100), None)
    external_id = row.get("external_id", _text(_LENGTHS["external_id"]), None)
    request_id = row.get("request_id", _text(_LENGTHS["request_id"]), None)
    unit_cents = row.get("unit_price_cents", lambda t: _int_in(t, 0, MAX_STORED_CENTS), None)
    annual_given = row.get("annual_cost_cents", lambda t: _int_in(t, 0, MAX_STORED_CENTS), None)
    purchase_cents = row.get("purchase_cost", lambda t: parse_money(t, currency), None)
    # A terminated license does not renew; without an expiration date it ends on termination.
    auto_renew = row.get("auto_renew", parse_bool, termination is None)
    renewal = renewal or termination

    if (
        start is None
        and renewal is None
        and not any(i.field in ("start_date", "renewal_date", "termination_date") for i in row.issues)
    ):
        row.fail("start_date", "missing: give Purchase Date (start) or Expiration Date (renewal), or both")
    term = term_given
    if term is None:
        term = _months_between(start, renewal) if start and renewal and renewal > start else defaults.term_months
    if start is None and renewal is not None:
        start = add_months(renewal, -term)
    if renewal is None and start is not None:
        renewal = add_months(start, term)
    if start is not None and renewal is not None and renewal <= start:
        row.fail("renewal_date", f"renewal/expiration date {renewal} must be after the start date {start}")
    if renewal is not None and not MIN_YEAR <= renewal.year <= MAX_YEAR:
        row.fail("renewal_date", f"{renewal} is outside the years {MIN_YEAR}–{MAX_YEAR}")
    if start is not None and not MIN_YEAR <= start.year <= MAX_YEAR:
        row.fail("start_date", f"{start} (the renewal date less the term) is before {MIN_YEAR}")

    annual = unit = 0
    if seats is not None:
        if unit_cents is not None:
            unit, annual = unit_cents, unit_cents * seats
            # A flat yearly price split per seat rounds the unit price down (catalog.rules.requests.quote):
            # keep the exact annual cost while it still agrees with seats and unit price.
            if annual_given is not None and annual_given // seats == unit_cents:
                annual = annual_given
        elif annual_given is not None:
            unit, annual = annual_given // seats, annual_given
        elif purchase_cents is not None:
            annual = _round_div(purchase_cents * 12, term)
            unit = _round_div(annual, seats)
        if annual > MAX_STORED_CENTS:
            source = "purchase_cost" if unit_cents is None else "unit_price_cents"
            row.fail(source, "the annual cost is implausibly large; check the number of digits")
    elif usage_based:
        # The contract value: the annual cost as given, or the price of the whole term annualised.
        term_cents = unit_cents if unit_cents is not None else purchase_cents
        if annual_given is not None:
            annual = annual_given
        elif term_cents is not None:
            annual = _round_div(term_cents * 12, term)
        unit = annual
        if annual > MAX_STORED_CENTS:
            source = "purchase_cost" if unit_cents is None else "unit_price_cents"
            row.fail(source, "the annual cost is implausibly large; check the number of digits")

    if row.issues:
        return None
    assert product is not None and (seats is not None or usage_based)
    assert owner is not None and cost_center is not None
    assert start is not None and renewal is not None
    return AssetRecord(
        line=row.line,
        external_id=external_id or external_id_for(product, vendor, order_number, start, cost_center),
        product_name=product,
        vendor=vendor,
        product_id=product_id,
        owner_email=owner,
        cost_center=cost_center,
        channel=channel,
        seats=seats,
        unit_price_cents=unit,
        annual_cost_cents=annual,
        currency=currency,
        start_date=start,
        term_months=term,
        billing_period=billing,
        auto_renew=auto_renew,
        notice_days=notice_days,
        notice_basis=notice_basis,
        renewal_date=renewal,
        request_id=request_id,
    )


def _collect(rows: Iterable[_Row], defaults: ImportDefaults, issues: list[ImportIssue]) -> list[AssetRecord]:
    records: list[AssetRecord] = []
    first_line: dict[str, int] = {}
    for row in rows:
        record = _record(row, defaults)
        issues.extend(row.issues)
        if record is None:
            continue
        seen = first_line.get(record.external_id)
        if seen is not None:
            issues.append(
                ImportIssue(
                    row.line,
                    "external_id",
                    f"same purchase as line {seen} (product, vendor, order number, start date and cost center "
                    "match); give each row an Order Number or an external_id",
                )
            )
            continue
        first_line[record.external_id] = row.line
        records.append(record)
    return records


def _normalise_header(header: str) -> str:
    return re.sub(r"[\s_\-]+", " ", header.strip().lstrip("\ufeff").lower()).strip()


def parse_csv(text: str, *, defaults: ImportDefaults | None = None) -> ParsedFile:
    """Parse a CSV register (header on the first line). Raises `AssetImportError`."""
    defaults = defaults or ImportDefaults()
    issues: list[ImportIssue] = []
    if "\x00" in text:
        raise AssetImportError([ImportIssue(0, None, "this is not a text CSV file (it contains NUL bytes)")])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise AssetImportError([ImportIssue(1, None, f"not valid CSV: {error}")]) from None
    if header is None or not any(h.strip() for h in header):
        raise AssetImportError([ImportIssue(1, None, "the file is empty; expected a header line with column names")])
    columns: dict[int, str] = {}
    ignored: list[str] = []
    for index, raw_name in enumerate(header):
        name = _normalise_header(raw_name)
        target = _ALIASES.get(name)
        if target is None:
            if name and name not in _IGNORED:
                ignored.append(raw_name.strip())
            continue
        if target in columns.values():
            issues.append(ImportIssue(1, target, f"more than one column means {target} ({raw_name.strip()!r})"))
            continue
        columns[index] = target
    if issues:
        raise AssetImportError(issues)

    rows: list[_Row] = []
    try:
        last_line = reader.line_num
        for values in reader:
            # A quoted cell may span lines: report the line the row starts on.
            line, last_line = last_line + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= MAX_ROWS:
                raise AssetImportError([ImportIssue(line, None, f"more than {MAX_ROWS:,} rows; split the file")])
            if len(values) > len(header):
                issues.append(ImportIssue(line, None, f"{len(values)} values but the header has {len(header)} columns"))
                continue
            # `restore`: a cell our export quoted so a spreadsheet would not run it (csv_safe).
            rows.append(_Row(line, {columns[i]: restore(v) for i, v in enumerate(values) if i in columns}))
    except csv.Error as error:
        issues.append(ImportIssue(reader.line_num, None, f"not valid CSV: {error}"))
    records = _collect(rows, defaults, issues)
    if issues:
        raise AssetImportError(issues)
    return ParsedFile(tuple(records), tuple(ignored))


_YAML_NULL = "tag:yaml.org,2002:null"


def _yaml_scalar(node: yaml.Node) -> str | None:
    """The scalar's text as written: no implicit typing, so `2026-02-30` is reported by our date
    parser with its field name instead of failing inside the YAML constructor."""
    if not isinstance(node, yaml.ScalarNode):
        raise ValueError("expected a single value, not a list or mapping")
    if node.tag == _YAML_NULL:
        return None
    return str(node.value)


def parse_yaml(text: str, *, defaults: ImportDefaults | None = None) -> ParsedFile:
    """Parse a YAML register: a list of mappings with our field names. Raises `AssetImportError`."""
    defaults = defaults or ImportDefaults()
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        root = loader.get_single_node()
        if root is None:
            raise AssetImportError([ImportIssue(1, None, "the file is empty; expected a list of assets")])
        if not isinstance(root, yaml.SequenceNode):
            raise AssetImportError(
                [ImportIssue(root.start_mark.line + 1, None, "expected a list of assets (lines starting with '- ')")]
            )
        issues: list[ImportIssue] = []
        rows: list[_Row] = []
        for node in root.value[: MAX_ROWS + 1]:
            line = node.start_mark.line + 1
            if len(rows) >= MAX_ROWS:
                raise AssetImportError([ImportIssue(line, None, f"more than {MAX_ROWS:,} entries; split the file")])
            if not isinstance(node, yaml.MappingNode):
                issues.append(ImportIssue(line, None, "expected a mapping of field: value"))
                continue
            values: dict[str, str] = {}
            row = _Row(line, values)
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                name = _ALIASES.get(_normalise_header(key)) if isinstance(key, str) else None
                if name is None and isinstance(key, str) and _normalise_header(key) in _IGNORED:
                    continue
                if name is None:
                    known = ", ".join(FIELDS)
                    issues.append(
                        ImportIssue(key_node.start_mark.line + 1, str(key)[:40], f"unknown field; known: {known}")
                    )
                    continue
                try:
                    scalar = _yaml_scalar(value_node)
                except ValueError as error:
                    row.issues.append(ImportIssue(value_node.start_mark.line + 1, name, str(error)))
                    continue
                if scalar is not None:
                    values[name] = scalar
            rows.append(row)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(error, "problem", None) or error
        raise AssetImportError([ImportIssue(line, None, f"not valid YAML: {problem}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    records = _collect(rows, defaults, issues)
    if issues:
        raise AssetImportError(issues)
    return ParsedFile(tuple(records))


def parse_file(name: str, text: str, *, defaults: ImportDefaults | None = None) -> ParsedFile:
    """Dispatch on the file name: `.yaml`/`.yml` is YAML, anything else CSV."""
    if name.lower().endswith((".yaml", ".yml")):
        return parse_yaml(text, defaults=defaults)
    return parse_csv(text, defaults=defaults)
