"""Budgets, actual spend and cloud commitments from files: whole file or nothing, every
problem with its line number, idempotent, audited.

* Budgets (`cost_center, fiscal_year, annual[, currency]`): one line per cost center and
  fiscal year; `annual` in major units ("50000", "50,000.00"). A line in the file sets the
  annual amount; committed and actual are left alone.
* Spend (`date, cost_center, vendor, amount, currency`): each row becomes a `SpendRecord`
  keyed by a digest of the normalised row and its occurrence among identical rows, so
  importing the same file (or an overlapping export) again adds nothing. The `actual` of
  every budget line the file touches is then recomputed as the sum of its records, in the
  line's currency: records in another currency are summed per currency and converted with
  the policy's rates (a currency without a rate is refused). Negative amounts are credits.
* Commitments (`name, provider, kind, currency, total, remaining, start, end`): upserted by
  name. `remaining` (default: `total`) is what was left before the marketplace purchases the
  bot approves; what is left is always that less what those purchases drew, so importing the
  same file again keeps the drawdowns. The summary says what an import changes, field by field.

Parsing is pure; `apply_*` take the session and raise `BudgetImportError` (nothing written
by them) when a row does not fit the database, e.g. a cost center nobody knows.

Over 400 lines: the three kinds of file share the error, the currency and fiscal-year rules
and the audit of what an import changed; spend's functions stay here, with their signatures,
because other modules build on them.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from catalog import repository
from catalog.importers.rows import ImportFileError, ImportProblem, ImportSummary, RowFields, read_rows
from catalog.models import Budget, Commitment, SpendRecord
from catalog.money import format_money, parse_money
from catalog.projection import copy_fields, field_names
from catalog.rules.budget import (
    COMMITMENT_KINDS,
    PROVIDERS,
    BudgetError,
    CommitmentTerms,
    convert,
    fiscal_year_bounds,
    fiscal_year_of,
)

__all__ = [
    "BUDGET_COLUMNS",
    "COMMITMENT_COLUMNS",
    "SPEND_COLUMNS",
    "BudgetImportError",
    "BudgetRecord",
    "CommitmentRecord",
    "SpendRow",
    "apply_budgets",
    "apply_commitments",
    "apply_spend",
    "parse_budgets",
    "parse_commitments",
    "parse_money",
    "parse_spend",
]

BUDGET_COLUMNS = ("cost_center", "fiscal_year", "annual", "currency", "owner")
SPEND_COLUMNS = ("date", "cost_center", "vendor", "amount", "currency")
COMMITMENT_COLUMNS = ("name", "provider", "kind", "currency", "total", "remaining", "start", "end")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_YEAR = re.compile(r"(?:FY)?(\d{4})", re.ASCII | re.IGNORECASE)


class BudgetImportError(ImportFileError):
    """A budget, spend or commitment file that cannot be applied."""


# --- budgets -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetRecord:
    cost_center: str
    fiscal_year: int
    annual_cents: int
    currency: str
    line: int = field(default=0, compare=False)
    owner_email: str | None = None  # None: the file names no owner; the line keeps its own

    def new_budget(self) -> Budget:
        """The budget line this record creates where there is none yet."""
        return copy_fields(Budget, self)


def parse_budgets(text: str, *, filename: str) -> tuple[list[BudgetRecord], list[ImportProblem]]:
    rows, problems = read_rows(text, filename=filename, columns=BUDGET_COLUMNS, what="budget lines")
    records: list[BudgetRecord] = []
    seen: dict[tuple[str, int], int] = {}
    for row in rows:
        fields = RowFields(row, problems)
        cost_center = fields.text("cost_center", limit=64)
        year_text = fields.text("fiscal_year", limit=10)
        year: int | None = None
        if year_text is not None:
            match = _YEAR.fullmatch(year_text.strip())
            if match is None or not 1901 <= int(match[1]) <= 9998:
                fields.bad("fiscal_year", f"fiscal_year {year_text!r} is not a year such as 2026")
            else:
                year = int(match[1])
        annual = fields.money("annual")
        currency = fields.currency()
        owner = fields.text("owner", limit=320, required=False)
        if owner is not None:
            owner = owner.strip().lower()
            if not _EMAIL.fullmatch(owner):
                fields.bad("owner", f"owner {owner[:60]!r} is not an email address")
        if cost_center is not None and year is not None:
            key = (cost_center, year)
            if key in seen:
                fields.bad("cost_center", f"{cost_center} FY{year} is listed twice (first on line {seen[key]})")
            else:
                seen[key] = row.line
        if fields.ok and cost_center and year is not None and annual is not None and currency:
            records.append(BudgetRecord(cost_center, year, annual, currency, row.line, owner or None))
    return records, sorted(problems, key=lambda p: p.line)


def apply_budgets(session: Session, *, records: Sequence[BudgetRecord], actor: str, at: datetime) -> ImportSummary:
    """Set the annual amount of each line (creating lines that are new). Changing the currency
    of a line that already has commitments or spend is refused: its amounts would be wrong."""
    problems: list[ImportProblem] = []
    existing = {
        r: repository.get_budget(session, cost_center=r.cost_center, fiscal_year=r.fiscal_year) for r in records
    }
    for record, budget in existing.items():
        if (
            budget is not None
            and budget.currency != record.currency
            and (budget.committed_cents or budget.actual_cents)
        ):
            problems.append(
                ImportProblem(
                    record.line,
                    f"{record.cost_center} FY{record.fiscal_year} is in {budget.currency} and already has committed "
                    f"or actual amounts; it can't change to {record.currency}",
                )
            )
    if problems:
        raise BudgetImportError(problems)
    summary = ImportSummary()
    for record, budget in existing.items():
        key = f"{record.cost_center} FY{record.fiscal_year}"
        before = repository.budget_snapshot(budget)
        if budget is None:
            budget = record.new_budget()
            summary.created.append(key)
        elif (budget.annual_cents, budget.currency) == (record.annual_cents, record.currency) and (
            record.owner_email is None or record.owner_email == budget.owner_email
        ):
            summary.unchanged.append(key)
            continue
        else:
            budget.annual_cents, budget.currency = record.annual_cents, record.currency
            if record.owner_email is not None:
                budget.owner_email = record.owner_email
            summary.updated.append(key)
        repository.save_budget(session, budget=budget)
        repository.audit(
            session,
            idem_key=(
                f"budget:{record.cost_center}:{record.fiscal_year}:import:{at.isoformat()}:"
                f"{record.annual_cents}{record.currency}:{record.owner_email or ''}"
            )[:200],
            at=at,
            entity="budget",
            entity_id=f"{record.cost_center}:{record.fiscal_year}"[:64],
            action="budget_imported" if before is None else "budget_updated",
            actor=actor,
            detail={"before": before, "budget": repository.budget_snapshot(budget), "owner": budget.owner_email},
        )
    return summary


# --- spend -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpendRow:
    spent_on: date
    cost_center: str
    vendor: str
    amount_cents: int
    currency: str
    source_key: str
    line: int = field(default=0, compare=False)


def _normalised(spent_on: date, cost_center: str, vendor: str, amount: int, currency: str) -> str:
    return "|".join((spent_on.isoformat(), cost_center, " ".join(vendor.split()).casefold(), str(amount), currency))


def parse_spend(text: str, *, filename: str) -> tuple[list[SpendRow], list[ImportProblem]]:
    rows, problems = read_rows(text, filename=filename, columns=SPEND_COLUMNS, what="spend lines")
    records: list[SpendRow] = []
    occurrences: Counter[str] = Counter()
    for row in rows:
        fields = RowFields(row, problems)
        spent_on = fields.day("date")
        cost_center = fields.text("cost_center", limit=64)
        vendor = fields.text("vendor", limit=200)
        amount = fields.money("amount", allow_negative=True)
        currency = fields.currency(default=None)
        if not (fields.ok and spent_on and cost_center and vendor and amount is not None and currency):
            continue
        normalised = _normalised(spent_on, cost_center, vendor, amount, currency)
        occurrences[normalised] += 1
        # The same purchase twice on one day is two rows: the occurrence number tells them apart.
        key = hashlib.sha256(f"{normalised}#{occurrences[normalised]}".encode()).hexdigest()
        records.append(SpendRow(spent_on, cost_center, vendor, amount, currency, key, row.line))
    return records, sorted(problems, key=lambda p: p.line)


@dataclass
class SpendSummary:
    added: int = 0
    already_imported: int = 0
    #: "CC FY" → (actual before, actual after, currency) of every budget line the file touched.
    actuals: dict[str, tuple[int, int, str]] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"{self.added} spend lines added, {self.already_imported} already imported"]
        for key, (before, after, currency) in sorted(self.actuals.items()):
            now = format_money(after, currency)
            change = f"{now} (unchanged)" if before == after else f"{format_money(before, currency)} → {now}"
            lines.append(f"  {key}: actual {change}")
        return "\n".join(lines)


def apply_spend(
    session: Session,
    *,
    rows: Sequence[SpendRow],
    start_month: int,
    actor: str,
    at: datetime,
    rates: Mapping[str, Decimal] | None = None,
    line_currency: str | None = None,
) -> SpendSummary:
    """Record the spend rows not seen before and recompute `actual` of the budget lines they
    fall in (a cost center known but without a line that year gets one with annual 0, in
    `line_currency`, the policy's; default: the currency of its first row).

    `actual` is in the line's currency: spend in another currency is converted with `rates`
    (the policy's), one sum per currency, and a row no rate can convert is a problem."""
    known = repository.known_cost_centers(session)
    problems: list[ImportProblem] = []
    # The currency of each (cost center, year): its budget line's, `line_currency` or the first
    # row's (line 0: not a row's). A line holds one currency; spend in any other is converted.
    expected: dict[tuple[str, int], tuple[str, int]] = {}
    first_row: dict[tuple[str, int], int] = {}
    for row in rows:
        if row.cost_center not in known:
            problems.append(
                ImportProblem(
                    row.line, f"unknown cost center {row.cost_center}; known: {', '.join(sorted(known)) or 'none'}"
                )
            )
            continue
        key = (row.cost_center, fiscal_year_of(row.spent_on, start_month))
        first_row.setdefault(key, row.line)
        if key not in expected:
            budget = repository.get_budget(session, cost_center=key[0], fiscal_year=key[1])
            if budget is not None or line_currency is not None:
                expected[key] = (budget.currency if budget else str(line_currency).upper(), 0)
            else:
                expected[key] = (row.currency, row.line)
        currency, line = expected[key]
        if not _convertible(row.currency, currency, rates):
            where = f"line {line} has {key[0]} FY{key[1]} spend in" if line else f"the {key[0]} FY{key[1]} budget is in"
            problems.append(
                ImportProblem(
                    row.line,
                    f"spend in {row.currency}, but {where} {currency}, and currency_rates in policy.yaml "
                    f"can't convert {row.currency} to {currency}",
                )
            )
    if problems:
        raise BudgetImportError(problems)
    summary = SpendSummary()
    for row in rows:
        _, added = repository.add_spend_record(
            session,
            record=copy_fields(SpendRecord, row, imported_at=at),
        )
        if added:
            summary.added += 1
        else:
            summary.already_imported += 1
    for (cost_center, year), (currency, _) in sorted(expected.items()):
        budget = repository.ensure_budget_line(session, cost_center=cost_center, fiscal_year=year, currency=currency)
        start, stop = fiscal_year_bounds(year, start_month)
        before = budget.actual_cents
        sums = repository.spend_totals(session, cost_center=cost_center, start=start, stop=stop)
        stranded = sorted(cur for cur in sums if not _convertible(cur, budget.currency, rates))
        if stranded:  # spend imported earlier, in a currency the policy has no rate for any more
            raise BudgetImportError(
                [
                    ImportProblem(
                        first_row[(cost_center, year)],
                        f"{cost_center} FY{year} has spend in {', '.join(stranded)} and currency_rates in "
                        f"policy.yaml can't convert it to {budget.currency}",
                    )
                ]
            )
        budget.actual_cents = sum(convert(cents, cur, budget.currency, rates) for cur, cents in sorted(sums.items()))
        repository.save_budget(session, budget=budget)
        summary.actuals[f"{cost_center} FY{year}"] = (before, budget.actual_cents, budget.currency)
        if before != budget.actual_cents:
            repository.audit(
                session,
                idem_key=f"budget:{cost_center}:{year}:actual:{at.isoformat()}:{before}:{budget.actual_cents}"[:200],
                at=at,
                entity="budget",
                entity_id=f"{cost_center}:{year}"[:64],
                action="budget_actual_updated",
                actor=actor,
                detail={
                    "actual_before_cents": before,
                    "spend_by_currency": dict(sorted(sums.items())),
                    "budget": repository.budget_snapshot(budget),
                },
            )
    return summary


def _convertible(currency: str, to_currency: str, rates: Mapping[str, Decimal] | None) -> bool:
    try:
        convert(1, currency, to_currency, rates)
    except BudgetError:
        return False
    return True


# --- commitments -------------------------------------------------------------------------


@dataclass(frozen=True)
class CommitmentRecord(CommitmentTerms):
    """One commitment as the file gives it. `remaining_cents` is what was left before the
    purchases the bot records (the file's `remaining`, or the total when it has none)."""

    line: int = field(default=0, compare=False)
    remaining_given: bool = field(default=True, compare=False)

    def values(self) -> dict[str, Any]:
        """The Commitment columns this record sets (`name` is the key it is found by)."""
        return {name: getattr(self, name) for name in field_names(Commitment) if name not in ("id", "name")}


def parse_commitments(text: str, *, filename: str) -> tuple[list[CommitmentRecord], list[ImportProblem]]:
    rows, problems = read_rows(text, filename=filename, columns=COMMITMENT_COLUMNS, what="commitments")
    records: list[CommitmentRecord] = []
    seen: dict[str, int] = {}
    for row in rows:
        fields = RowFields(row, problems)
        name = fields.text("name", limit=100)
        provider = fields.choice("provider", PROVIDERS)
        kind = fields.choice("kind", COMMITMENT_KINDS)
        currency = fields.currency()
        total = fields.money("total")
        remaining = fields.money("remaining", required=False)
        start = fields.day("start", required=False)
        end = fields.day("end")
        if total is not None and total <= 0:
            fields.bad("total", "total must be more than zero")
        if remaining is not None and total is not None and remaining > total:
            fields.bad("remaining", "remaining can't be more than the total")
        if start and end and end < start:
            fields.bad("end", f"end {end} is before start {start}")
        if name is not None:
            if name.casefold() in seen:
                fields.bad("name", f"{name} is listed twice (first on line {seen[name.casefold()]})")
            else:
                seen[name.casefold()] = row.line
        if fields.ok and name and provider and kind and currency and total is not None and end:
            records.append(
                CommitmentRecord(
                    name,
                    provider,
                    kind,
                    currency,
                    total,
                    total if remaining is None else remaining,
                    start,
                    end,
                    row.line,
                    remaining_given=remaining is not None,
                )
            )
    return records, sorted(problems, key=lambda p: p.line)


@dataclass
class CommitmentImportSummary(ImportSummary):
    #: name → what the import changes (or, in a dry run, would change), one phrase per field,
    #: and how the remaining amount keeps the bot's drawdowns.
    details: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [super().__str__()]
        lines += [f"  {name}: {'; '.join(phrases)}" for name, phrases in self.details.items()]
        return "\n".join(lines)


_COMMITMENT_LABELS = {
    "provider": "provider",
    "kind": "kind",
    "currency": "currency",
    "total_cents": "total",
    "remaining_cents": "remaining",
    "start_date": "start",
    "end_date": "end",
}


def _commitment_value(key: str, value: Any, currency: str) -> str:
    if value is None:
        return "none"
    if key.endswith("_cents"):
        return format_money(int(value), currency)
    return value.isoformat() if isinstance(value, date) else str(value)


def apply_commitments(
    session: Session, *, records: Sequence[CommitmentRecord], actor: str, at: datetime
) -> CommitmentImportSummary:
    """Add or update commitments by name. What is left is the file's `remaining` (default: the
    total) less what the bot's approved purchases drew, so importing a file again keeps the
    drawdowns. A commitment with drawdowns can't change currency: they are in the old one."""
    found = {r.name: repository.get_commitment(session, name=r.name) for r in records}
    drawn: dict[str, tuple[int, int]] = {
        name: repository.commitment_drawn(session, commitment_id=c.id) if c is not None and c.id else (0, 0)
        for name, c in found.items()
    }
    problems = [
        ImportProblem(
            r.line,
            f"{r.name} is in {commitment.currency} and purchases have drawn from it; it can't change to {r.currency}",
        )
        for r in records
        if (commitment := found[r.name]) is not None and commitment.currency != r.currency and drawn[r.name][1]
    ]
    if problems:
        raise BudgetImportError(problems)
    summary = CommitmentImportSummary()
    for record in records:
        commitment = found[record.name]
        drawn_cents, purchases = drawn[record.name]
        wanted = {**record.values(), "remaining_cents": record.remaining_cents - drawn_cents}
        if commitment is None:
            commitment = Commitment(name=record.name, **wanted)
            changes: dict[str, tuple[Any, Any]] = {k: (None, v) for k, v in wanted.items()}
            summary.created.append(record.name)
            phrases = [
                f"new, {format_money(record.remaining_cents, record.currency)} left of "
                f"{format_money(record.total_cents, record.currency)}"
            ]
        else:
            changes = repository.changes_of(commitment, wanted)
            phrases = [
                f"{_COMMITMENT_LABELS[k]} {_commitment_value(k, old, commitment.currency)} → "
                f"{_commitment_value(k, new, record.currency)}"
                for k, (old, new) in changes.items()
            ]
        if purchases:
            source = "in the file" if record.remaining_given else "total"
            plural = "" if purchases == 1 else "s"
            phrases.append(
                f"remaining {format_money(wanted['remaining_cents'], record.currency)} = "
                f"{format_money(record.remaining_cents, record.currency)} {source} − "
                f"{format_money(drawn_cents, record.currency)} drawn by {purchases} approved purchase{plural}"
            )
            if wanted["remaining_cents"] < 0:
                phrases.append("more has been drawn than the file leaves")
        if not changes:
            summary.unchanged.append(record.name)
            if purchases:
                summary.details[record.name] = ["unchanged", *phrases]
            continue
        summary.details[record.name] = phrases
        if record.name not in summary.created:
            summary.updated.append(record.name)
        for key, (_, value) in changes.items():
            setattr(commitment, key, value)
        repository.save_commitment(session, commitment=commitment)
        detail = repository.change_detail(changes)
        if purchases:
            detail["drawn_cents"] = drawn_cents
        created = record.name in summary.created
        repository.audit_import(
            session, entity="commitment", name=record.name, created=created, detail=detail, actor=actor, at=at
        )
    return summary
