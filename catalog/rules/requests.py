"""Pure rules for a purchase request: request ids, money parsing and the price quote."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from catalog.money import MAX_CENTS, parse_typed_money
from catalog.rules.usage_based import units

MAX_SEATS = 100_000
MAX_ANNUAL_CENTS = MAX_CENTS  # 100 million a year: anything above is a typo, not a SaaS seat
CHANNELS = ("direct", "aws_marketplace", "azure_marketplace", "gcp_marketplace")
CHANNEL_LABELS = {
    "direct": "Direct from the vendor",
    "aws_marketplace": "AWS Marketplace",
    "azure_marketplace": "Azure Marketplace",
    "gcp_marketplace": "Google Cloud Marketplace",
}


class RequestInputError(ValueError):
    """Input a person typed that cannot be used; the message says why, in plain words."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def request_id_for(key: str) -> str:
    """A short, stable request id derived from a unique key (e.g. the Slack view id), so a
    retried or double submission maps to the same request and the same workflow."""
    digest = hashlib.sha256(key.encode()).digest()
    return "REQ-" + base64.b32encode(digest[:5]).decode().rstrip("=")


def workflow_id_for(request_id: str) -> str:
    return f"request-{request_id}"


def parse_money(text: str, *, field: str = "cost") -> int:
    """Parse what people type for an amount ("1,200", "$1200.50", "2.5k") into cents.

    `catalog.money.parse_typed_money` reads it; this names the form `field` in the error."""
    try:
        return parse_typed_money(text, max_cents=MAX_ANNUAL_CENTS)
    except ValueError as err:
        raise RequestInputError(field, str(err)) from None


def parse_seats(text: str | None) -> int:
    raw = (text or "").strip()
    if not raw.isdecimal():  # not isdigit(): "¹" is a digit that int() refuses
        raise RequestInputError("seats", "Seats must be a whole number, like 3.")
    seats = int(raw)
    if not 1 <= seats <= MAX_SEATS:
        raise RequestInputError("seats", f"Seats must be between 1 and {MAX_SEATS:,}.")
    return seats


@dataclass(frozen=True)
class CatalogPrice:
    price_cents: int  # per seat per year, or per year when `per_seat` is false
    currency: str
    per_seat: bool


#: How a quote was priced (`Quote.basis`).
PRICED_FROM_CATALOG = "catalog"  # the catalog price (no estimate, or one that is not higher)
PRICED_FROM_ESTIMATE = "estimate"  # no catalog price: the requester's estimate
PRICED_FROM_HIGHER_QUOTE = "higher_quote"  # the requester quoted more than the catalog price (a higher tier)


@dataclass(frozen=True)
class Quote:
    unit_price_cents: int
    annual_cost_cents: int
    currency: str
    basis: str = PRICED_FROM_CATALOG
    catalog_annual_cents: int | None = None  # what the catalog price gives, when there is one
    estimate_cents: int | None = None  # what the requester typed, used or not
    estimate_currency: str | None = None  # set only when it is not `currency` (so not comparable)

    def notice(self, money: Callable[[int, str], str]) -> str | None:
        """Which price a request is priced at and why, when the requester typed an estimate for a
        product with a catalog price (None otherwise: nothing to explain). `money` formats an
        amount: `catalog.money.format_money` for the CLI, `catalog.money.format_money_symbol` for Slack."""
        estimate_cents, catalog_annual_cents, currency = self.estimate_cents, self.catalog_annual_cents, self.currency
        if estimate_cents is None or catalog_annual_cents is None:
            return None
        catalog = money(catalog_annual_cents, currency)
        if self.basis == PRICED_FROM_HIGHER_QUOTE:
            return (
                f"Priced at the quoted {money(self.annual_cost_cents, currency)} a year: it is above the catalog price "
                f"({catalog}), so it is taken as a higher tier."
            )
        if self.estimate_currency and self.estimate_currency != currency.upper():
            return (
                f"Priced at the catalog price, {catalog} a year. The estimate is in {self.estimate_currency} and the "
                f"catalog price in {currency.upper()}, so it is not used."
            )
        if estimate_cents == catalog_annual_cents:
            return None
        return (
            f"Priced at the catalog price, {catalog} a year. The estimate ({money(estimate_cents, currency)}) "
            "is not used: an estimate can only raise a catalog price (a higher tier), never lower it."
        )


def quote(*, price: CatalogPrice | None, seats: int, estimate_cents: int | None, currency: str | None = None) -> Quote:
    """The annual cost of a request (price precedence, docs/decisions.md).

    A catalog price is a floor: a per-seat product costs `seats × price`, an enterprise-wide
    one its yearly price. The requester's estimate counts only when it is higher (they were
    quoted a higher tier); a lower one never lowers what is approved, reserved and recorded.
    Anything not in the catalog (or priced at zero there) needs the requester's estimate.
    `currency` is the estimate's (default: the catalog price's, or USD): an estimate in
    another currency than the catalog price cannot be compared, and the catalog price is used."""
    if not 1 <= seats <= MAX_SEATS:
        raise RequestInputError("seats", f"Seats must be between 1 and {MAX_SEATS:,}.")
    if price is None or price.price_cents <= 0:
        if estimate_cents is None:
            raise RequestInputError("cost", "This product has no catalog price: give an estimated annual cost.")
        cur = currency or (price.currency if price is not None else "USD")
        return Quote(estimate_cents // seats, estimate_cents, cur, PRICED_FROM_ESTIMATE, None, estimate_cents)
    catalog = price.price_cents * seats if price.per_seat else price.price_cents
    if catalog > MAX_ANNUAL_CENTS:
        raise RequestInputError("seats", "That many seats costs an implausible amount; check the number.")
    unit = price.price_cents if price.per_seat else price.price_cents // seats
    comparable = currency is None or currency.upper() == price.currency.upper()
    if estimate_cents is not None and comparable and estimate_cents > catalog:
        return Quote(
            estimate_cents // seats, estimate_cents, price.currency, PRICED_FROM_HIGHER_QUOTE, catalog, estimate_cents
        )
    other = None if comparable or estimate_cents is None else (currency or "").upper()
    return Quote(unit, catalog, price.currency, PRICED_FROM_CATALOG, catalog, estimate_cents, other)


# --- renewals ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenewalQuote:
    """A renewal's next term beside the term it follows, in the contract's currency. Seats None:
    a usage-based contract, whose unit price is its annual contract value (docs/decisions.md, 52)."""

    seats: int | None
    unit_price_cents: int
    annual_cost_cents: int
    current_seats: int | None
    current_unit_price_cents: int
    current_annual_cents: int
    currency: str
    changed: bool  # new seats or a new price were given (else the term renews as it is)

    @property
    def increase_cents(self) -> int:
        """What the next term costs a year beyond the current one (negative: it costs less)."""
        return self.annual_cost_cents - self.current_annual_cents

    @property
    def needs_approval(self) -> bool:
        """Renewal authority (docs/decisions.md): any increase of the annual cost goes through
        the approval chain; the same cost or less is the owner's (or ITAM's) to record."""
        return self.increase_cents > 0


def renewal_quote(
    *,
    current_seats: int | None,
    current_unit_price_cents: int,
    current_annual_cents: int,
    currency: str,
    seats: int | None,
    unit_price_cents: int | None,
) -> RenewalQuote:
    """The next term of a renewal: blank seats or price keep the current term's. Capped as a
    new request is (`quote`): 1 to MAX_SEATS seats, and no price per seat or year above
    MAX_ANNUAL_CENTS; raises RequestInputError naming the field. A usage-based term (seats
    None) renews as one contract: its price is the new annual value, and it takes no seats."""
    if current_seats is None and seats is not None:
        raise RequestInputError("seats", "This contract is usage-based: give its new yearly value as the price.")
    if seats is not None and not 1 <= seats <= MAX_SEATS:
        raise RequestInputError("seats", f"Seats must be between 1 and {MAX_SEATS:,}.")
    if unit_price_cents is not None and unit_price_cents < 0:
        raise RequestInputError("price", "The price can't be negative.")
    if unit_price_cents is not None and unit_price_cents > MAX_ANNUAL_CENTS:
        raise RequestInputError("price", "That amount is implausibly large; check the number of digits.")
    if seats is None and unit_price_cents is None:
        return RenewalQuote(
            current_seats,
            current_unit_price_cents,
            current_annual_cents,
            current_seats,
            current_unit_price_cents,
            current_annual_cents,
            currency,
            changed=False,
        )
    new_seats = seats if seats is not None else current_seats
    new_price = unit_price_cents if unit_price_cents is not None else current_unit_price_cents
    annual = units(new_seats) * new_price
    if annual > MAX_ANNUAL_CENTS:
        field = "price" if unit_price_cents is not None else "seats"
        raise RequestInputError(field, "That many seats at that price costs an implausible amount; check the numbers.")
    return RenewalQuote(
        new_seats,
        new_price,
        annual,
        current_seats,
        current_unit_price_cents,
        current_annual_cents,
        currency,
        changed=True,
    )
