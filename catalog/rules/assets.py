"""What a valid asset is, whoever writes it (the asset importer, an edit, the repository):
the record of one asset and its contract, and the checks its values pass. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from catalog.rules.requests import MAX_ANNUAL_CENTS

__all__ = ["MAX_EMAIL_LENGTH", "MAX_STORED_CENTS", "AssetRecord", "normalise_email"]

#: The money columns are 32-bit integers in the database (PostgreSQL `integer`), so an amount
#: above this (about 21 million a year) cannot be stored, whatever the request rules allow.
MAX_STORED_CENTS = min(MAX_ANNUAL_CENTS, 2**31 - 1)
MAX_EMAIL_LENGTH = 320
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class AssetRecord:
    """One asset and its contract, validated; money in cents, `unit_price_cents` per seat per year.

    `seats` None: a usage-based contract with no seat count, whose contract value is
    `annual_cost_cents` (and `unit_price_cents` the same; docs/decisions.md, 52)."""

    line: int
    external_id: str
    product_name: str
    vendor: str | None
    product_id: str | None
    owner_email: str
    cost_center: str
    channel: str
    seats: int | None
    unit_price_cents: int
    annual_cost_cents: int
    currency: str
    start_date: date
    term_months: int
    billing_period: str
    auto_renew: bool
    notice_days: int
    notice_basis: str
    renewal_date: date
    request_id: str | None = None  # set in an export of assets the bot recorded from requests


def normalise_email(text: str) -> str:
    """Lower-cased email address; ValueError when it does not look like one."""
    text = text.strip().lower()
    if len(text) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(text):
        raise ValueError(f"{text[:40]!r} is not an email address")
    return text
