"""Lists for people at a terminal: aligned columns (rich) that stay readable when it is narrow.

Every cell is a `rich.text.Text`, never a markup string, so user text such as a product named
`[bold]x[/]` prints literally (stronger than `rich.markup.escape`, which still has to be
remembered at every call); control characters (an ESC that would recolour the terminal, a
newline that would fake a row) are shown as `�`.

How a table meets a narrow terminal, in order:

1. Identifiers, emails, dates and amounts never wrap (a folded email or amount is unreadable
   and breaks `grep`); only free-text columns (names, audit details) wrap.
2. Columns marked `optional` are left out, the last one first, and a line under the table says
   which (`--json` and `… show` have every field).
3. When even that does not fit, each row is printed as `header  value` lines.

Written to a pipe or a file (no terminal, no `COLUMNS`), the table is as wide as it needs to be:
nothing wraps and nothing is left out.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import textwrap
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

T = TypeVar("T")

#: The narrowest a wrapping column gets by default before the table gives up a column.
MIN_WRAPPED_WIDTH = 12
_GAP = 2  # spaces between columns


@dataclass(frozen=True)
class Column:
    header: str
    numeric: bool = False  # right-aligned
    wrap: bool = False  # free text that may wrap; every other column stays on one line
    optional: bool = False  # left out (the last one first) when the terminal is too narrow
    min_width: int = MIN_WRAPPED_WIDTH  # a wrapping column narrower than this is not worth reading


def _plain(value: object) -> str:
    text = "" if value is None else str(value)
    return "".join("\ufffd" if unicodedata.category(ch) == "Cc" else ch for ch in text)


def terminal_width() -> int | None:
    """The terminal's width (`COLUMNS` wins), or None when stdout is not a terminal."""
    if os.environ.get("COLUMNS", "").strip().isdigit() or sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def render_table(columns: Sequence[Column], rows: Iterable[Sequence[object]], *, width: int | None) -> str:
    """The rows as an aligned table at most `width` wide (None: as wide as needed)."""
    cells = [[_plain(v) for v in row] for row in rows]
    natural = [max([cell_len(c.header), *(cell_len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    least = [min(n, c.min_width) if c.wrap else n for c, n in zip(columns, natural, strict=True)]
    shown = list(range(len(columns)))

    def needed() -> int:
        widths = [least[i] for i in shown]
        return sum(widths) + _GAP * (len(shown) - 1)

    optional = [i for i in shown if columns[i].optional]
    while width is not None and needed() > width and optional:
        shown.remove(optional.pop())
    if width is not None and needed() > width:
        return _render_records(columns, cells, width)
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for i in shown:
        table.add_column(
            Text(columns[i].header),
            justify="right" if columns[i].numeric else "left",
            no_wrap=not columns[i].wrap,
            overflow="fold",
            min_width=least[i],
        )
    for row in cells:
        table.add_row(*(Text(row[i]) for i in shown))
    out = io.StringIO()
    total = sum(natural[i] for i in shown) + _GAP * (len(shown) - 1)
    console = Console(
        file=out,
        width=total if width is None else min(width, total),
        color_system=None,
        highlight=False,
        emoji=False,
        markup=False,
    )
    console.print(table)
    text = "".join(line.rstrip() + "\n" for line in out.getvalue().splitlines())
    left_out = [columns[i].header for i in range(len(columns)) if i not in shown]
    if left_out:
        text += _wrap(f"(not shown at this width: {', '.join(left_out)}; --json has every field)", width) + "\n"
    return text


def _render_records(columns: Sequence[Column], cells: list[list[str]], width: int) -> str:
    label = max(cell_len(c.header) for c in columns)
    room = max(width - label - _GAP, MIN_WRAPPED_WIDTH)  # a value too long for the terminal wraps
    blocks = []
    for row in cells:
        lines = []
        for column, value in zip(columns, row, strict=True):
            parts = textwrap.wrap(value, room, break_on_hyphens=False) if column.wrap and value else [value]
            head = column.header + " " * (label - cell_len(column.header) + _GAP)
            lines += [(head if i == 0 else " " * len(head)) + part for i, part in enumerate(parts)]
        blocks.append("".join(line.rstrip() + "\n" for line in lines))
    return "\n".join(blocks)


def _wrap(text: str, width: int | None) -> str:
    return text if width is None else textwrap.fill(text, width=width, break_on_hyphens=False)


def print_table(columns: Sequence[Column], rows: Iterable[Sequence[object]], *, empty: str) -> None:
    """Print the rows as a table sized to the terminal, or `empty` (to stderr) when there are none."""
    materialised = list(rows)
    if not materialised:
        typer.echo(empty, err=True)
        return
    typer.echo(render_table(columns, materialised, width=terminal_width()), nl=False)


def print_rows(
    records: Sequence[T],
    columns: Sequence[Column],
    cells: Callable[[T], Sequence[object]],
    *,
    as_json: bool,
    empty: str,
) -> None:
    """A `… list` command's output: with --json one JSON object per record and line, otherwise
    a table of `cells(record)` for each record (`print_table`)."""
    if as_json:
        for record in records:
            typer.echo(json.dumps(record))
        return
    print_table(columns, (cells(record) for record in records), empty=empty)


def print_note(text: str) -> None:
    """A line of explanation under a table, wrapped to the terminal."""
    typer.echo(_wrap(text, terminal_width()))
