"""Charts of the console as data: Chart.js configurations built from the read models, one
chart per currency (amounts are never drawn on one axis across currencies).

Every chart is also shown as a table next to it (the templates do that from the same rows),
so the figures are readable without the canvas, by a screen reader, or printed. Values are
in major units for the axis only; tables show `format_money`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

#: Colours that stay apart for the common kinds of colour blindness (Okabe–Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")


def major(cents: int) -> float:
    return cents / 100


def _chart(
    kind: str, labels: Sequence[str], datasets: list[dict[str, Any]], *, currency: str, stacked: bool
) -> dict[str, Any]:
    return {
        "type": kind,
        "currency": currency,
        "data": {"labels": list(labels), "datasets": datasets},
        "stacked": stacked,
    }


def bar_chart(
    labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], *, currency: str, stacked: bool = False
) -> dict[str, Any]:
    """Grouped (or stacked) bars: one dataset per (name, cents per label)."""
    datasets = [
        {"label": name, "data": [major(c) for c in values], "backgroundColor": PALETTE[i % len(PALETTE)]}
        for i, (name, values) in enumerate(series)
    ]
    return _chart("bar", labels, datasets, currency=currency, stacked=stacked)


def line_chart(
    labels: Sequence[str], series: Sequence[tuple[str, Sequence[int | None]]], *, currency: str
) -> dict[str, Any]:
    """Lines over time: one dataset per (name, cents per label; None leaves a gap)."""
    datasets = [
        {
            "label": name,
            "data": [None if c is None else major(c) for c in values],
            "borderColor": PALETTE[i % len(PALETTE)],
            "backgroundColor": PALETTE[i % len(PALETTE)],
            "spanGaps": False,
        }
        for i, (name, values) in enumerate(series)
    ]
    return _chart("line", labels, datasets, currency=currency, stacked=False)


def by_currency(items: Iterable[T], currency_of: Callable[[T], str]) -> list[tuple[str, list[T]]]:
    """Items grouped by currency, in currency order: one chart (and one table) each."""
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(currency_of(item), []).append(item)
    return sorted(groups.items())
