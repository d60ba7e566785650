"""CSV that a spreadsheet shows and never evaluates: the one writer every CSV export uses.

A cell whose text begins with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to
Excel, LibreOffice and Google Sheets (`=HYPERLINK("http://evil.example/x","Click")`,
`@SUM(1+1)`). Following OWASP's CSV-injection guidance, such text is written with a leading
single quote, which spreadsheets take as "this is text" and do not display.

Two choices, both for the file to stay useful:

* **Only text is neutralised.** A cell written from an `int` or a `float` (a credit of
  `-1250` cents, a negative `remaining_cents`) is a number, and a spreadsheet reading `-1250`
  sees the number, not a formula; it stays importable and summable. Text that merely looks
  like a number (a product named "-12.50") is still quoted: it is text, and text is where
  formulas hide.
* **It round-trips.** `restore` undoes `neutralise` exactly: our importers call it on every
  cell they read, so an export imports back unchanged. Text that already starts with quotes
  before a trigger (`'=x`) gets one more quote on the way out and loses exactly one on the way
  in; a cell like `'Quoted` (no trigger after the quotes) is never touched by either side.

The csv module quotes cells that hold the delimiter, quotes or line breaks and doubles embedded
quotes, so a cell cannot end early and start a new, unquoted one.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["FORMULA_TRIGGERS", "neutralise", "render_csv", "restore", "safe_cell"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NEEDS_QUOTE = re.compile(r"'*[=+\-@\t\r]")
_QUOTED = re.compile(r"'+[=+\-@\t\r]")


def neutralise(text: str) -> str:
    """`text` as a spreadsheet must show it: a leading `'` when it would start a formula."""
    return "'" + text if _NEEDS_QUOTE.match(text) else text


def restore(text: str) -> str:
    """The stored text of a cell written by `neutralise` (any other cell is returned as is)."""
    return text[1:] if _QUOTED.match(text) else text


def safe_cell(value: object) -> str:
    """One cell: empty for None, `true`/`false` for booleans, numbers as numbers, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return neutralise(str(value))


def render_csv(columns: Sequence[str], rows: Iterable[Sequence[object] | Mapping[str, object]]) -> str:
    """A whole CSV file: the header, then each row (a sequence in column order, or a mapping
    by column name), every cell through `safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        if isinstance(row, Mapping):
            unknown = set(row) - set(columns)
            if unknown:
                raise ValueError(f"a row has values for unknown columns {sorted(unknown)}")
            values = [row.get(c) for c in columns]
        else:
            values = list(row)
        if len(values) != len(columns):
            raise ValueError(f"a row has {len(values)} values for {len(columns)} columns")
        writer.writerow([safe_cell(v) for v in values])
    return out.getvalue()
