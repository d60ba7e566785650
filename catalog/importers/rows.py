"""What every importer shares: reading a CSV or YAML file into rows of text values, each with
the line it came from; the one problem type (`ImportProblem`: a line and a message a person can
act on); and the value parsers more than one file format needs (`parse_date`).

The catalog, directory and budget importers report problems as `ImportProblem`s; the asset
importer's `ImportIssue` also names the column (docs/decisions.md, "The catalog package").
The directory and budget files are read by `read_rows`, and their cells by `RowFields`; the
asset file keeps its own reader for its column aliases and defaults, and the catalog file for
its nested `contract` mapping (both share `yaml_entries`)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

import yaml

from catalog.money import parse_currency, parse_money
from catalog.rules.renewals import MAX_YEAR, MIN_YEAR

__all__ = [
    "MAX_ROWS",
    "ImportFileError",
    "ImportProblem",
    "ImportSummary",
    "Row",
    "RowFields",
    "Value",
    "parse_date",
    "read_rows",
    "yaml_entries",
]

MAX_ROWS = 50_000
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00)?)?", re.ASCII)
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)
_T = TypeVar("_T")


@dataclass(frozen=True)
class ImportProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class ImportFileError(ValueError):
    """The file cannot be applied; `problems` lists every one, in line order."""

    def __init__(self, problems: Sequence[ImportProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("\n".join(str(p) for p in self.problems))


# --- reading rows -------------------------------------------------------------------------


Value = str | list[str] | None


@dataclass
class Row:
    """One entry as read: each value (a stripped string, a list for YAML lists, None when
    missing or blank) and the line it came from."""

    line: int
    values: dict[str, Value] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    def text(self, key: str) -> str | None:
        value = self.values.get(key)
        if isinstance(value, list):
            return ";".join(value) or None
        return value or None

    def at(self, key: str) -> int:
        return self.lines.get(key, self.line)


def _yaml_value(node: yaml.Node) -> Value:
    if isinstance(node, yaml.ScalarNode):
        if node.tag.endswith(":null"):
            return None
        # Every scalar stays text: money, dates and ids are parsed (and checked) by the
        # importer, so "50,000.00", "2026-01-01" and "007" mean what they say.
        return node.value.strip() or None
    if isinstance(node, yaml.SequenceNode):
        return [str(_yaml_value(item) or "") for item in node.value if isinstance(item, yaml.ScalarNode)]
    return "<nested>"


def yaml_entries(
    text: str, *, what: str, entry: str = "a mapping of fields"
) -> tuple[list[tuple[int, yaml.MappingNode]], list[ImportProblem]]:
    """The entries of a YAML file that is a list of mappings, each with its line, and the
    problems of its shape (`what` names the list, `entry` one of its entries)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [], [ImportProblem(mark.line + 1 if mark else 1, f"not valid YAML: {exc}")]
    if root is None:
        return [], []
    if not isinstance(root, yaml.SequenceNode):
        return [], [ImportProblem(root.start_mark.line + 1, f"expected a list of {what}")]
    entries: list[tuple[int, yaml.MappingNode]] = []
    problems: list[ImportProblem] = []
    for item in root.value:
        line = item.start_mark.line + 1
        if isinstance(item, yaml.MappingNode):
            entries.append((line, item))
        else:
            problems.append(ImportProblem(line, f"expected {entry}"))
    return entries, problems


def _rows_from_yaml(text: str, columns: Sequence[str], what: str) -> tuple[list[Row], list[ImportProblem]]:
    entries, problems = yaml_entries(text, what=what)
    rows: list[Row] = []
    for line, item in entries:
        row = Row(line)
        for key_node, value_node in item.value:
            key = str(key_node.value).strip().lower() if isinstance(key_node, yaml.ScalarNode) else "?"
            key_line = key_node.start_mark.line + 1
            if key not in columns:
                problems.append(ImportProblem(key_line, f"unknown field {key!r}; expected {', '.join(columns)}"))
                continue
            if key in row.lines:
                problems.append(ImportProblem(key_line, f"field {key!r} given twice"))
            value = _yaml_value(value_node)
            if value == "<nested>":
                problems.append(ImportProblem(key_line, f"{key} must be a single value"))
                continue
            row.values[key], row.lines[key] = value, key_line
        rows.append(row)
    return rows, problems


def _rows_from_csv(text: str, columns: Sequence[str]) -> tuple[list[Row], list[ImportProblem]]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return [], []
    except csv.Error as exc:
        return [], [ImportProblem(1, f"not valid CSV: {exc}")]
    names = [h.strip().lower().replace(" ", "_").replace("-", "_") for h in header]
    problems = [
        ImportProblem(1, f"unknown column {h!r}; expected {', '.join(columns)}") for h in names if h not in columns
    ]
    problems += [ImportProblem(1, f"column {h!r} given twice") for i, h in enumerate(names) if h in names[:i]]
    rows: list[Row] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(names):
                problems.append(ImportProblem(line, f"{len(cells)} cells for {len(names)} columns"))
                continue
            row = Row(line)
            for name, cell in zip(names, cells, strict=False):
                if name in columns:
                    row.values[name], row.lines[name] = cell.strip() or None, line
            rows.append(row)
    except csv.Error as exc:
        problems.append(ImportProblem(reader.line_num, f"not valid CSV: {exc}"))
    return rows, problems


def read_rows(
    text: str, *, filename: str, columns: Sequence[str], what: str = "entries"
) -> tuple[list[Row], list[ImportProblem]]:
    """The rows of a CSV (by extension) or YAML file, and the problems of its shape."""
    text = text.removeprefix("\ufeff")
    if filename.lower().endswith(".csv"):
        rows, problems = _rows_from_csv(text, columns)
    else:
        rows, problems = _rows_from_yaml(text, columns, what)
    if len(rows) > MAX_ROWS:
        problems.append(ImportProblem(rows[MAX_ROWS].line, f"more than {MAX_ROWS:,} rows; split the file"))
    return rows, problems


def parse_date(text: str) -> date:
    """YYYY-MM-DD (optionally with a midnight time, as Snipe-IT exports it) or MM/DD/YYYY."""
    text = text.strip()
    iso = _ISO_DATE.fullmatch(text)
    us = _US_DATE.fullmatch(text)
    try:
        if iso:
            value = date(int(iso[1]), int(iso[2]), int(iso[3]))
        elif us:
            value = date(int(us[3]), int(us[1]), int(us[2]))
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a date; use YYYY-MM-DD or MM/DD/YYYY") from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"{value} is outside the years {MIN_YEAR}–{MAX_YEAR}")
    return value


@dataclass
class ImportSummary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged"


class RowFields:
    """Reads the fields of one row, collecting a problem per bad value."""

    def __init__(self, row: Row, problems: list[ImportProblem]) -> None:
        self.row, self.problems, self.count = row, problems, len(problems)

    @property
    def ok(self) -> bool:
        return len(self.problems) == self.count

    def bad(self, key: str, message: str) -> None:
        self.problems.append(ImportProblem(self.row.at(key), message))

    def text(self, key: str, *, limit: int, required: bool = True) -> str | None:
        value = self.row.text(key)
        if value is None:
            if required:
                self.problems.append(ImportProblem(self.row.line, f"missing {key}"))
            return None
        if len(value) > limit:
            self.bad(key, f"{key} is longer than {limit} characters")
            return None
        return value

    def money(self, key: str, *, required: bool = True, allow_negative: bool = False) -> int | None:
        """The amount in `key`, in the row's currency (its `currency` cell, USD when none): an
        amount that names another currency ("1200 EUR" on a USD row) is refused."""
        recorded_in = (self.row.text("currency") or "USD").strip()
        return self.parsed(
            key,
            self.text(key, limit=60, required=required),
            lambda value: parse_money(value, allow_negative=allow_negative, currency=recorded_in),
        )

    def day(self, key: str, *, required: bool = True) -> date | None:
        return self.parsed(key, self.text(key, limit=40, required=required), parse_date)

    def currency(self, key: str = "currency", *, default: str | None = "USD") -> str | None:
        value = self.row.text(key)
        if value is None:
            if default is None:
                self.problems.append(ImportProblem(self.row.line, f"missing {key}"))
            return default
        return self.parsed(key, value, parse_currency, joiner=" ")

    def parsed(self, key: str, value: str | None, parse: Callable[[str], _T], *, joiner: str = ": ") -> _T | None:
        """`parse(value)`; None when there is no value, or when `parse` refuses it, with a
        problem at `key` that reads "<key><joiner><why>"."""
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as error:
            self.bad(key, f"{key}{joiner}{error}")
            return None

    def choice(self, key: str, options: Sequence[str]) -> str | None:
        value = self.text(key, limit=40)
        if value is None:
            return None
        lowered = value.strip().lower()
        if lowered not in options:
            self.bad(key, f"{key} {value!r} must be one of {', '.join(options)}")
            return None
        return lowered
