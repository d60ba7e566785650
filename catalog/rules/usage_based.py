"""Usage-based contracts: cloud platforms, observability, data warehouses and API credits have no
seat count (docs/decisions.md, 52). Such an asset's `seats` is None and its contract value is its
annual cost; its unit price is the same value (one contract a year). Pure.

Every reader of a seat count goes through these, so a usage-based contract is handled on
purpose: money is `units(seats) × unit price` (one unit: the contract), and a person reads
"usage-based" where a seat count would stand."""

from __future__ import annotations

__all__ = ["USAGE_BASED", "is_usage_based", "seats_text", "units"]

#: What a person reads where a seat count would stand.
USAGE_BASED = "usage-based"


def is_usage_based(seats: int | None) -> bool:
    return seats is None


def units(seats: int | None) -> int:
    """What a unit price multiplies: the seats, or one contract for a usage-based one."""
    return 1 if seats is None else seats


def seats_text(seats: int | None) -> str:
    """`3 seats`, `1 seat`, or `usage-based`."""
    if seats is None:
        return USAGE_BASED
    return f"{seats} {'seat' if seats == 1 else 'seats'}"
