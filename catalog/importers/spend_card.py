"""Card and expense exports (`procure spend import FILE --format card`): columns `date,
merchant, amount, currency, employee_email[, cost_center, memo, transaction_id]`, or any
export's own headers through a column map (`catalog/data/card_maps.yaml`, `--map`).

The merchant is kept as the bank printed it (`SQ *NOTION LABS`); discovery recognises it.
Refunds are negative amounts and count with their sign. Parsing is pure; every problem
comes back with its line number and then nothing is imported.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from catalog.importers.directory import ImportProblem
from catalog.importers.spend_lines import MAX_LINES, LineKeys, SpendLineRow, bulk, cached_date, cached_money, read_table
from catalog.money import CURRENCY_CODES

__all__ = [
    "CARD_COLUMNS",
    "CARD_MAPS",
    "ColumnMap",
    "column_map",
    "load_presets",
    "parse_card",
]

CARD_COLUMNS = ("date", "merchant", "amount", "currency", "employee_email", "cost_center", "memo", "transaction_id")
_REQUIRED = ("date", "merchant", "amount", "employee_email")
CARD_MAPS = Path(__file__).resolve().parents[1] / "data" / "card_maps.yaml"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_LIMITS = {"merchant": 300, "employee_email": 320, "cost_center": 64, "memo": 300, "transaction_id": 128}


@dataclass(frozen=True)
class ColumnMap:
    """Which header of the file holds each card column; `default_currency` for exports in one currency."""

    headers: Mapping[str, str]
    default_currency: str | None = None
    name: str = "card columns"


def load_presets(path: Path = CARD_MAPS) -> dict[str, ColumnMap]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    presets: dict[str, ColumnMap] = {}
    for name, entry in raw.items():
        mapping: dict[str, Any] = dict(entry)
        default = mapping.pop("default_currency", None)
        unknown = set(mapping) - set(CARD_COLUMNS)
        if unknown:
            raise ValueError(f"{path.name}: preset {name}: unknown columns {sorted(unknown)}")
        presets[str(name)] = ColumnMap({k: str(v) for k, v in mapping.items()}, default, str(name))
    return presets


def column_map(
    header: list[str],
    *,
    preset: str | None = None,
    overrides: Mapping[str, str] | None = None,
    presets: Mapping[str, ColumnMap] | None = None,
) -> ColumnMap | ImportProblem:
    """The map to read a file with this header: the named preset, else the card columns
    themselves when the header has them, else the one preset whose headers it has; then
    `overrides` (column → header) on top. A problem (line 1) when none fits."""
    presets = load_presets() if presets is None else presets
    present = {h.casefold() for h in header}
    own = ColumnMap({c: c for c in CARD_COLUMNS})
    if preset is not None:
        if preset not in presets:
            return ImportProblem(1, f"no column map {preset!r}; shipped: {', '.join(sorted(presets))}")
        chosen = presets[preset]
    elif all(c in present for c in _REQUIRED) or overrides:
        chosen = own
    else:
        fitting = [p for p in presets.values() if all(p.headers.get(c, "").casefold() in present for c in _REQUIRED)]
        if len(fitting) != 1:
            which = "no shipped column map fits it" if not fitting else "it fits " + ", ".join(p.name for p in fitting)
            return ImportProblem(
                1,
                f"the header must name the columns {', '.join(_REQUIRED)} (currency, cost_center, memo, "
                f"transaction_id optional); {which}: use --map-preset NAME or --map column=Header",
            )
        chosen = fitting[0]
    unknown = set(overrides or {}) - set(CARD_COLUMNS)
    if unknown:
        return ImportProblem(0, f"--map names unknown columns {sorted(unknown)}; columns: {', '.join(CARD_COLUMNS)}")
    headers = {**chosen.headers, **(overrides or {})}
    missing = [
        f"{c} ({headers[c]!r})" if c in headers else c for c in _REQUIRED if headers.get(c, c).casefold() not in present
    ]
    if missing:
        return ImportProblem(1, f"the header has no column for {', '.join(missing)} (reading it as {chosen.name})")
    return ColumnMap(headers, chosen.default_currency, chosen.name)


@functools.lru_cache(maxsize=65536)
def _email_ok(email: str) -> bool:
    return len(email) <= _LIMITS["employee_email"] and _EMAIL.fullmatch(email) is not None


def _line_problems(line: int, get: Mapping[str, str], chosen: ColumnMap, currency: str) -> list[ImportProblem]:
    """Every problem of a line the fast path refused, each said once."""
    problems = [ImportProblem(line, f"missing {c} ({chosen.headers[c]})") for c in _REQUIRED if not get.get(c)]
    problems += [
        ImportProblem(line, f"{c} is longer than {limit} characters")
        for c, limit in _LIMITS.items()
        if len(get.get(c, "")) > limit
    ]
    for column, parse in (("date", cached_date), ("amount", cached_money)):
        try:
            if get.get(column):
                parse(get[column])
        except ValueError as error:
            problems.append(ImportProblem(line, f"{column}: {error}"))
    if currency not in CURRENCY_CODES:
        problems.append(ImportProblem(line, f"currency {currency[:20]!r} is not an ISO 4217 currency code"))
    email = get.get("employee_email", "").lower()
    if email and not _EMAIL.fullmatch(email):
        problems.append(ImportProblem(line, f"employee_email {email[:60]!r} is not an email address"))
    return problems


@bulk()
def parse_card(
    text: str,
    *,
    preset: str | None = None,
    overrides: Mapping[str, str] | None = None,
    default_currency: str = "USD",
) -> tuple[list[SpendLineRow], list[ImportProblem]]:
    """The lines of a card export and every problem, with its line number. The loop is the
    import's hot path (a million lines): a line that is fine costs a few cached look-ups, and
    only a line that is not is looked at again to say everything wrong with it."""
    header, rows, problems = read_table(text)
    if problems:
        return [], problems
    chosen = column_map(header, preset=preset, overrides=overrides)
    if isinstance(chosen, ImportProblem):
        return [], [chosen]
    position = {h.casefold(): i for i, h in reversed(list(enumerate(header)))}
    at = {c: position[h.casefold()] for c, h in chosen.headers.items() if h.casefold() in position}
    width = len(header)
    blank = width  # an index past the end of every padded row: reads as ""
    i_date, i_merchant, i_amount, i_currency, i_email, i_center, i_memo, i_id = (at.get(c, blank) for c in CARD_COLUMNS)
    fallback_currency = (chosen.default_currency or default_currency).upper()
    keys = LineKeys("card")
    records: list[SpendLineRow] = []
    for line, values in rows:
        if len(records) >= MAX_LINES:
            problems.append(ImportProblem(line, f"more than {MAX_LINES:,} lines; split the file"))
            break
        if len(values) <= width:
            values = [*values, *[""] * (width + 1 - len(values))]
        merchant, email = values[i_merchant].strip(), values[i_email].strip().lower()
        currency = values[i_currency].strip().upper() or fallback_currency
        center, memo, transaction_id = values[i_center].strip(), values[i_memo].strip(), values[i_id].strip()
        try:
            spent_on, amount = cached_date(values[i_date].strip()), cached_money(values[i_amount].strip())
            fine = (
                merchant
                and len(merchant) <= _LIMITS["merchant"]
                and _email_ok(email)
                and len(center) <= _LIMITS["cost_center"]
                and len(memo) <= _LIMITS["memo"]
                and len(transaction_id) <= _LIMITS["transaction_id"]
                and currency in CURRENCY_CODES
            )
        except ValueError:
            fine = False
        if not fine:
            get = {c: values[i].strip() for c, i in at.items()}
            problems.extend(_line_problems(line, get, chosen, currency))
            continue
        if transaction_id:
            key = keys.by_id(transaction_id, line)
            if isinstance(key, int):
                problems.append(ImportProblem(line, f"transaction_id {transaction_id!r} is already on line {key}"))
                continue
        else:
            key = keys.by_content(spent_on, merchant, amount, currency, email)
        records.append(
            SpendLineRow(
                "card",
                key,
                spent_on,
                merchant,
                amount,
                currency,
                line,
                email,
                center or None,
                transaction_id or None,
                memo or None,
            )
        )
    if not records and not problems:
        problems.append(ImportProblem(0, "the file has no lines"))
    return records, problems
