"""Card and expense exports (`procure spend import FILE --format card`): columns `date,
merchant, amount, currency, employee_email[, cost_center, memo, transaction_id]`, or any
export's own headers through a column map (`catalog/data/card_maps.yaml`, `--map`).

The merchant is kept as the bank printed it (`SQ *NOTION LABS`); discovery recognises it.
Refunds are negative amounts and count with their sign. Parsing is pure; every problem
comes back with its line number and then nothing is imported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from catalog.importers.directory import ImportProblem
from catalog.importers.spend_lines import MAX_LINES, LineKeys, SpendLineRow, cached_date, cached_money, read_table

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
_CURRENCY = re.compile(r"[A-Z]{3}")
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


def parse_card(
    text: str,
    *,
    preset: str | None = None,
    overrides: Mapping[str, str] | None = None,
    default_currency: str = "USD",
) -> tuple[list[SpendLineRow], list[ImportProblem]]:
    header, rows, problems = read_table(text)
    if problems:
        return [], problems
    chosen = column_map(header, preset=preset, overrides=overrides)
    if isinstance(chosen, ImportProblem):
        return [], [chosen]
    position = {h.casefold(): i for i, h in reversed(list(enumerate(header)))}
    at = {c: position[h.casefold()] for c, h in chosen.headers.items() if h.casefold() in position}
    fallback_currency = chosen.default_currency or default_currency
    keys = LineKeys("card")
    records: list[SpendLineRow] = []
    for line, values in rows:
        if len(records) >= MAX_LINES:
            problems.append(ImportProblem(line, f"more than {MAX_LINES:,} lines; split the file"))
            break
        get = {c: (values[i].strip() if i < len(values) else "") for c, i in at.items()}
        count = len(problems)
        for column in _REQUIRED:
            if not get.get(column):
                problems.append(ImportProblem(line, f"missing {column} ({chosen.headers[column]})"))
        for column, limit in _LIMITS.items():
            if len(get.get(column, "")) > limit:
                problems.append(ImportProblem(line, f"{column} is longer than {limit} characters"))
        spent_on, amount = None, None
        try:
            spent_on = cached_date(get["date"]) if get.get("date") else None
        except ValueError as error:
            problems.append(ImportProblem(line, f"date: {error}"))
        try:
            amount = cached_money(get["amount"]) if get.get("amount") else None
        except ValueError as error:
            problems.append(ImportProblem(line, f"amount: {error}"))
        currency = (get.get("currency") or fallback_currency).upper()
        if not _CURRENCY.fullmatch(currency):
            problems.append(ImportProblem(line, f"currency {currency[:20]!r} is not a three-letter ISO code"))
        email = get.get("employee_email", "").lower()
        if email and not _EMAIL.fullmatch(email):
            problems.append(ImportProblem(line, f"employee_email {email[:60]!r} is not an email address"))
        if len(problems) > count or spent_on is None or amount is None:
            continue
        transaction_id = get.get("transaction_id") or None
        if transaction_id is not None:
            key = keys.by_id(transaction_id, line)
            if isinstance(key, int):
                problems.append(ImportProblem(line, f"transaction_id {transaction_id!r} is already on line {key}"))
                continue
        else:
            key = keys.by_content(spent_on, get["merchant"], amount, currency, email)
        records.append(
            SpendLineRow(
                source="card",
                source_key=key,
                spent_on=spent_on,
                descriptor=get["merchant"],
                amount_cents=amount,
                currency=currency,
                line=line,
                payer_email=email,
                cost_center=get.get("cost_center") or None,
                transaction_id=transaction_id,
                memo=get.get("memo") or None,
            )
        )
    if not records and not problems:
        problems.append(ImportProblem(0, "the file has no lines"))
    return records, problems
