"""What the card and FOCUS importers share: the line they produce, the column reader they
read with, the key that makes a re-import add nothing, and `apply_spend_lines`, which
writes a parsed file in one go.

Keys: a transaction id when the export has one, else a digest of the normalised line and
its occurrence among identical lines (the same coffee bought twice on one day is two
lines), as the AP importer keys its rows. Rows are inserted with `ON CONFLICT DO NOTHING`
in batches, on SQLite and PostgreSQL alike: a million-line card export is imported in
seconds, and importing it again adds nothing.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gc
import hashlib
import io
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from catalog import repository
from catalog.importers.assets import parse_date
from catalog.importers.directory import ImportProblem
from catalog.models import Commitment, SpendLine
from catalog.money import MAX_CENTS, format_amounts, parse_money

__all__ = [
    "MAX_LINES",
    "LineKeys",
    "SpendLineRow",
    "SpendLinesSummary",
    "apply_spend_lines",
    "bulk",
    "cached_date",
    "cached_money",
    "read_table",
]

MAX_LINES = 2_000_000
_BATCH = 5_000
_PLAIN_AMOUNT = re.compile(r"(-?)(\d+)(?:\.(\d{1,2}))?", re.ASCII)


@dataclass(slots=True)
class SpendLineRow:
    """One line of a card or FOCUS export, parsed; the columns of `SpendLine`."""

    source: str  # card | focus
    source_key: str
    spent_on: date
    descriptor: str
    amount_cents: int
    currency: str
    line: int = 0
    payer_email: str | None = None
    cost_center: str | None = None
    transaction_id: str | None = None
    memo: str | None = None
    marketplace: bool = False
    provider: str | None = None
    publisher: str | None = None
    service_name: str | None = None
    sub_account_id: str | None = None


_COLUMNS = tuple(f.name for f in fields(SpendLineRow) if f.name != "line")
_INSERT = (*_COLUMNS, "commitment_id", "imported_at")


@functools.lru_cache(maxsize=8192)
def cached_date(text: str) -> date:
    """`parse_date` of the asset importer, remembered: an export repeats a few hundred dates."""
    return parse_date(text[:10] if len(text) > 10 and text[10] in " T" else text)


@functools.lru_cache(maxsize=65536)
def cached_money(text: str) -> int:
    """`parse_money` (negative allowed), remembered. A plain amount ("-12.5", "1200.00"), what
    exports write, is read here: a million lines hold far more distinct amounts than the
    cache keeps, and `parse_money`'s general path was a third of the card parser's time.
    Anything else (symbols, codes, thousands separators, what is not an amount, what is
    too large) goes to `parse_money`, which says what is wrong."""
    plain = _PLAIN_AMOUNT.fullmatch(text)
    if plain is not None:
        cents = int(plain[2]) * 100 + int((plain[3] or "0").ljust(2, "0"))
        if cents <= MAX_CENTS:
            return -cents if plain[1] else cents
    return parse_money(text, allow_negative=True)


def read_table(text: str) -> tuple[list[str], Iterator[tuple[int, list[str]]], list[ImportProblem]]:
    """The header of a CSV export and its data rows with their line numbers (blank rows left out)."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        header = [h.strip() for h in next(reader, [])]
    except csv.Error as error:
        return [], iter(()), [ImportProblem(1, f"not valid CSV: {error}")]
    if not any(header):
        return [], iter(()), [ImportProblem(1, "the file is empty; the first line must name the columns")]

    def rows() -> Iterator[tuple[int, list[str]]]:
        for values in reader:
            if "".join(values).strip():  # some value is not blank; one call, not one per value
                yield reader.line_num, values

    return header, rows(), []


def _digest(text: str) -> str:
    # 128 bits are plenty to tell lines apart, and half the size of the key's index.
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """No cyclic garbage collection while a file's lines are built and written: a million
    small objects made the collector rescan the whole heap again and again (a 100,000-line
    file parsed in 3 s, a million in 90)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class LineKeys:
    """The key of each line: its transaction id, or a digest of its normalised fields and
    its occurrence among identical lines of the file."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._id_prefix = f"{source}|id|"
        self._occurrences: Counter[str] = Counter()
        self._ids: dict[str, int] = {}

    def by_id(self, transaction_id: str, line: int) -> str | int:
        """The key of a line with a transaction id, or the line that already gave that id."""
        if transaction_id in self._ids:
            return self._ids[transaction_id]
        self._ids[transaction_id] = line
        return _digest(self._id_prefix + transaction_id)

    def by_content(self, *parts: object) -> str:
        normalised = "|".join((self.source, *(" ".join(str(p).split()).casefold() for p in parts)))
        self._occurrences[normalised] += 1
        return _digest(f"{normalised}#{self._occurrences[normalised]}")


@dataclass
class SpendLinesSummary:
    added: int = 0
    already_imported: int = 0
    #: Lines of the file that are not purchases (tax, credits, the cloud's own usage …), by reason.
    skipped: dict[str, int] = field(default_factory=dict)
    marketplace_lines: int = 0
    #: Commitment name → currency → what the new marketplace lines drew from it.
    drawn: dict[str, dict[str, int]] = field(default_factory=dict)

    def __str__(self) -> str:
        text = f"{self.added} lines added, {self.already_imported} already imported"
        if self.skipped:
            text += "; left out: " + ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
        if self.marketplace_lines:
            text += f"; {self.marketplace_lines} marketplace lines"
        for name, amounts in sorted(self.drawn.items()):
            text += f"\n  {name}: actual drawdown " + format_amounts(amounts)
        return text


def _commitment_for(commitments: Sequence[Commitment], provider: str | None, on: date) -> Commitment | None:
    """The provider's commitment a marketplace line bills against: the one active that day that
    ends first (ties by name), as an approved marketplace purchase picks it."""
    active = [
        c
        for c in commitments
        if c.provider == provider and (c.start_date is None or c.start_date <= on) and on <= c.end_date
    ]
    return min(active, key=lambda c: (c.end_date, c.name), default=None)


def _insert_ignoring_duplicates(session: Session, values: list[tuple[Any, ...]]) -> None:
    """`INSERT … ON CONFLICT (source_key) DO NOTHING` of `_INSERT` tuples, straight to the
    driver's executemany: the ORM's and even Core's per-row parameter handling took longer
    than SQLite's insert itself at a million lines. Dates, timestamps and booleans go through
    the dialect's own bind processors of the column types (`dialect_impl`: on SQLite the
    generic types have none, and the driver's own adapters wrote timestamps with "+00:00"),
    so the rows are stored as ORM-written ones. Those columns hold few distinct values (one
    timestamp, a few hundred days), so each is converted once, a batch's column at a time."""
    connection = session.connection()
    dialect = connection.dialect
    cache_size = None
    if dialect.name == "sqlite":  # the key's index outgrows SQLite's 2 MB page cache at ~20,000 lines
        cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        connection.exec_driver_sql("PRAGMA cache_size = -131072")
    # In key order, each page of the key's index is written once (row[0] is the source, the
    # same on every line: sorting by it left a million lines in file order, and SQLite's
    # insert took 7.6 s of CPU instead of 5.7).
    key = _INSERT.index("source_key")
    values.sort(key=operator.itemgetter(key))
    table = SpendLine.__table__  # type: ignore[attr-defined]
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in _INSERT]
    converting: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = [
        (i, p, {}) for i, p in enumerate(processors) if p is not None
    ]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    # The table's own column names and the driver's placeholder: no input goes into the text.
    columns, markers = ", ".join(_INSERT), ", ".join([marker] * len(_INSERT))
    statement = f"INSERT INTO spend_line ({columns}) VALUES ({markers}) ON CONFLICT (source_key) DO NOTHING"  # noqa: S608
    try:
        for start in range(0, len(values), _BATCH):
            batch = values[start : start + _BATCH]
            if converting:
                by_column = list(zip(*batch, strict=True))
                for i, process, seen in converting:
                    for value in set(by_column[i]):  # not `- seen.keys()`: that walks all of `seen`
                        if value not in seen:
                            seen[value] = process(value)
                    by_column[i] = tuple(map(seen.__getitem__, by_column[i]))
                batch = list(zip(*by_column, strict=True))
            connection.exec_driver_sql(statement, batch)
    finally:
        if cache_size is not None:
            # Back to what the pooled connection had: with 128 MB, the GROUP BY of a million
            # lines that discovery runs next on it took half as long again (1.6 s of CPU → 2.5).
            connection.exec_driver_sql(f"PRAGMA cache_size = {int(cache_size)}")


@bulk()
def apply_spend_lines(
    session: Session,
    *,
    rows: Sequence[SpendLineRow],
    actor: str,
    at: datetime,
    file_digest: str,
    skipped: Mapping[str, int] | None = None,
) -> SpendLinesSummary:
    """Record the lines not seen before (all in this transaction), each marketplace line with
    the commitment it draws from, and audit the import once per file content."""
    summary = SpendLinesSummary(skipped=dict(skipped or {}))
    commitments = list(repository.list_commitments(session))
    known = {row.source_key for row in rows if row.marketplace}
    if known:  # which marketplace lines are new, to say what they draw
        known = set(session.exec(select(SpendLine.source_key).where(col(SpendLine.source_key).in_(known))).all())
    values: list[tuple[Any, ...]] = []
    columns_of = operator.attrgetter(*_COLUMNS)  # one call per line, not one per column
    for row in rows:
        commitment_id = None
        if row.marketplace:
            summary.marketplace_lines += 1
            commitment = _commitment_for(commitments, row.provider, row.spent_on)
            commitment_id = commitment.id if commitment else None
            if commitment is not None and row.source_key not in known:
                per_currency = summary.drawn.setdefault(commitment.name, {})
                per_currency[row.currency] = per_currency.get(row.currency, 0) + row.amount_cents
        values.append((*columns_of(row), commitment_id, at))
    before = session.exec(select(func.count()).select_from(SpendLine)).one()
    _insert_ignoring_duplicates(session, values)
    after = session.exec(select(func.count()).select_from(SpendLine)).one()
    summary.added = int(after) - int(before)
    summary.already_imported = len(rows) - summary.added
    if summary.added:
        repository.audit(
            session,
            idem_key=f"spend_lines:{file_digest}:{at.isoformat()}"[:200],
            at=at,
            entity="spend_lines",
            entity_id=file_digest[:64],
            action="spend_lines_imported",
            actor=actor,
            detail={
                "source": rows[0].source,
                "added": summary.added,
                "already_imported": summary.already_imported,
                "skipped": summary.skipped,
                "marketplace_lines": summary.marketplace_lines,
                "drawn": summary.drawn,
            },
        )
    return summary
