"""Money: reading the amounts people write and writing the amounts people read.

Amounts are integer cents throughout, never floats. Pure: no I/O, imports nothing of the catalog.

Two kinds of input really differ, so there are two readers:

- `parse_money` reads a cell of a file or a command-line value (budgets, spend, commitments,
  assets): ``"50,000.00"``, ``"$50000"``, ``"1200 USD"``, ``"-12.50"`` where negatives are allowed.
- `parse_typed_money` reads what a person types into a Slack form: ``"1,200"``, ``"$1200.50"``,
  ``"2.5k"``; no currency code, and never zero. (`catalog.rules.requests.parse_money` attaches the
  form field to its error.)

Two kinds of output really differ too, so there are two writers, not one with a style switch:

- `format_money` → ``"1,234.56 USD"``: plain text that is stored, audited or printed by the CLI
  (decision reasons, importer summaries). It always shows two decimals and the currency code.
- `format_money_symbol` → ``"$1,234.56"``, ``"¥1,500"``: what Slack shows. It uses the currency
  symbol where there is one.

"Cents" are hundredths of the currency's unit for every currency, zero-decimal ones included:
``"1500 JPY"`` is 150000 cents. So one parser serves all currencies and exchange rates apply to
like units. Both writers show zero-decimal currencies (ISO 4217 minor unit 0: JPY, KRW, …)
without decimals: ``"1,500 JPY"`` and ``"¥1,500"``.

A currency is an ISO 4217 code in `CURRENCY_CODES`; `parse_currency` refuses anything else
("XYZ", "US$"), so no amount is ever recorded in a currency nobody can pay in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = [
    "CURRENCY_CODES",
    "MAX_CENTS",
    "format_amount",
    "format_money",
    "format_money_symbol",
    "parse_currency",
    "parse_money",
    "parse_typed_money",
]

MAX_CENTS = 100_000_000_00  # 100 million: any amount above is a typo, not a SaaS purchase

_CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

#: ISO 4217 codes of the currencies in circulation (list one, 2025), without the funds, precious
#: metals, SDR and testing codes (X.. other than the CFA, CFP and East Caribbean currencies).
CURRENCY_CODES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
    KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
    MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
    TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
    """.split()
)
#: ISO 4217 minor unit 0: shown without decimals.
_ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)

# A file's amount, once the sign, the symbol and the currency code are off: "1,234.5", "50000".
_AMOUNT = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?", re.ASCII)
# What people type: an optional symbol, the amount, an optional "k" for thousands.
_TYPED = re.compile(r"^\s*[$€£]?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?\s*(k)?\s*$", re.IGNORECASE)


def _cents(whole: str, frac: str | None) -> int:
    return int(whole.replace(",", "")) * 100 + int((frac or "0").ljust(2, "0"))


# --- reading -----------------------------------------------------------------------------------


def parse_currency(text: str) -> str:
    """ "usd", " EUR " → the ISO 4217 code; ValueError naming the text otherwise."""
    code = text.strip().upper()
    if code not in CURRENCY_CODES:
        raise ValueError(f"{text.strip()[:20]!r} is not an ISO 4217 currency code such as USD, EUR or GBP")
    return code


def parse_money(
    text: str,
    *,
    allow_negative: bool = False,
    max_cents: int = MAX_CENTS,
    example: str | None = None,
    currency: str | None = None,
) -> int:
    """ "50,000.00", "$50000", "1200 USD", "-12.50" (when allowed) → cents; ValueError otherwise.

    `max_cents` is the largest amount accepted (the asset importer passes its column's limit);
    `example` replaces how the error says to write an amount. `currency` is the currency the
    amount is recorded in: an amount that names another ("12 EUR" where the row is in USD) is
    refused rather than recorded as 12 USD."""
    cleaned = text.strip()
    negative = cleaned.startswith("-")
    if negative:
        cleaned = cleaned[1:].strip()
    written = re.search(r"\s*([A-Za-z]{3})$", cleaned)
    if written and currency is not None and written[1].upper() != currency.upper():
        raise ValueError(
            f"{text.strip()[:40]!r} is in {written[1].upper()}, but the amount is recorded in "
            f"{currency.upper()}; convert it or change the currency"
        )
    if written:
        cleaned = cleaned[: written.start()]
    cleaned = cleaned.lstrip("$€£").strip()
    match = _AMOUNT.fullmatch(cleaned)
    if not match or (negative and not allow_negative):
        if example is None:
            example = "50000 or 50,000.00" + ("" if allow_negative else ", not negative")
        raise ValueError(f"{text.strip()[:40]!r} is not an amount; write it like {example}")
    cents = _cents(match[1], match[2])
    if cents > max_cents:
        raise ValueError(f"{text.strip()[:40]!r} is implausibly large; check the number of digits")
    return -cents if negative else cents


def parse_typed_money(text: str, *, max_cents: int = MAX_CENTS) -> int:
    """Parse what people type for an amount ("1,200", "$1200.50", "2.5k") into cents.

    Raises ValueError with a message meant for the person who typed it."""
    match = _TYPED.match(text or "")
    if not match:
        raise ValueError(f"“{text.strip()[:40]}” is not an amount. Type a number like 1200 or 1,200.50.")
    whole, frac, kilo = match.groups()
    cents = _cents(whole, frac)
    if kilo:
        cents *= 1000
    if cents <= 0:
        raise ValueError("The amount must be more than zero.")
    if cents > max_cents:
        raise ValueError("That amount is implausibly large; check the number of digits.")
    return cents


# --- writing -----------------------------------------------------------------------------------


def format_amount(cents: int, currency: str | None = None) -> str:
    """``123456`` → ``1,234.56``: the number alone, for a table whose currency is in another
    column (negative amounts keep their sign). Given the currency, a zero-decimal one prints
    whole units as `format_money` does: ``format_amount(150000, "JPY")`` → ``1,500``."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{_digits(cents, currency or 'USD')}"


def _digits(cents: int, currency: str) -> str:
    """The amount's digits without sign: ``1,234.56``, or ``1,500`` in a zero-decimal currency
    (rounded half up to the whole unit)."""
    cents = abs(cents)
    if currency.upper() in _ZERO_DECIMAL:
        return f"{(cents + 50) // 100:,}"
    return f"{cents // 100:,}.{cents % 100:02d}"


def format_money(cents: int, currency: str) -> str:
    """``format_money(123456, "USD")`` → ``1,234.56 USD``; ``(150000, "JPY")`` → ``1,500 JPY``:
    plain text for reasons and the CLI.

    (`format_money_symbol` renders ``$1,234.56`` for Slack; reasons are stored and audited, so
    they spell the currency code out.)
    """
    sign = "-" if cents < 0 else ""
    return f"{sign}{_digits(cents, currency)} {currency.upper()}"


def format_amounts(amounts: Mapping[str, int]) -> str:
    """Amounts in several currencies, never summed: ``{"USD": 100, "EUR": 250}`` →
    ``2.50 EUR, 1.00 USD`` (by currency code); empty for none."""
    return ", ".join(format_money(cents, currency) for currency, cents in sorted(amounts.items()))


def format_money_symbol(cents: int, currency: str) -> str:
    """``format_money_symbol(123456, "USD")`` → ``$1,234.56``, for Slack; currencies without a
    symbol here keep their code (``1.00 CHF``) and zero-decimal ones have no decimals
    (``format_money_symbol(150000, "JPY")`` → ``¥1,500``)."""
    sign = "-" if cents < 0 else ""
    symbol = _CURRENCY_SYMBOLS.get(currency.upper())
    amount = _digits(cents, currency)
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency.upper()}"
