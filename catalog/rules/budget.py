"""Budget arithmetic, currency conversion, forecasts and cloud-commitment drawdowns.

Pure: every input is a plain value (budget lines, commitments, an explicit ``as_of``); the
repository loads them and stores what we decide. Money is integer cents in one currency per
budget line or commitment; a request in another currency is converted with the policy's rate
table or rejected with a message saying which rate is missing.

Conventions:

* What is left of a budget line is ``available_cents(annual, committed, actual)`` =
  ``annual − committed − actual``, the one definition every view uses (``procure budget
  show``, ``procure report showback``, the approval DMs, the routing check; see
  docs/decisions.md, "What is left of a budget"). All three are in the line's currency:

  - ``committed``: what approved requests reserved on the line, each converted to the line's
    currency with the policy's rate when it was approved (``BudgetReservation`` rows);
  - ``actual``: imported spend dated in the fiscal year, each currency converted to the line's
    currency (``SpendRecord`` rows, ``procure spend import``).

  Contracts in the asset register are not subtracted again: a purchase approved here is in
  ``committed`` already, and what older contracts cost reaches the line as ``actual``.
* A request *exceeds* the budget when ``available − amount < 0`` (spending the budget down to
  exactly zero is within budget) and always when there is no budget line at all.
* Rates are "units of the base currency per one unit of the currency" (the base itself is 1),
  so ``EUR → USD`` multiplies by ``rates["EUR"]`` and ``USD → GBP`` divides by ``rates["GBP"]``;
  results are rounded half-up to the cent. Amounts in different currencies are never added
  without converting them first.
* The straight-line forecast counts ``as_of`` as an elapsed day: on the first day of the fiscal
  year one day has elapsed, on the last day all of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

from catalog.money import format_amount, format_money
from catalog.rules.requests import CHANNEL_LABELS, MAX_ANNUAL_CENTS

__all__ = [
    "COMMITMENT_KINDS",
    "MAX_AMOUNT_CENTS",
    "PROVIDERS",
    "PROVIDER_LABELS",
    "PROVIDER_OF_CHANNEL",
    "BudgetCheck",
    "BudgetError",
    "BudgetLine",
    "Commitment",
    "CommitmentTerms",
    "Drawdown",
    "Forecast",
    "available_cents",
    "channel_label",
    "check_amount",
    "check_budget",
    "convert",
    "drawdown",
    "exchange_rate",
    "fiscal_year_bounds",
    "fiscal_year_of",
    "forecast",
    "format_amount",
    "format_money",
]

MAX_AMOUNT_CENTS = MAX_ANNUAL_CENTS
PROVIDERS = ("aws", "azure", "gcp")
PROVIDER_LABELS = {"aws": "AWS", "azure": "Azure", "gcp": "GCP"}
COMMITMENT_KINDS = ("edp", "ppa", "macc", "commit")
PROVIDER_OF_CHANNEL = {"aws_marketplace": "aws", "azure_marketplace": "azure", "gcp_marketplace": "gcp"}


class BudgetError(ValueError):
    """A request amount or currency cannot be checked against a budget; ``message`` says why."""

    def __init__(self, message: str, field: str = "amount") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def check_amount(amount_cents: int) -> None:
    """Reject amounts no budget check should see: not an integer, zero or less, or absurd."""
    if not isinstance(amount_cents, int) or isinstance(amount_cents, bool):
        raise BudgetError(f"the amount must be a whole number of cents, got {type(amount_cents).__name__}")
    if amount_cents <= 0:
        raise BudgetError(f"the amount must be more than zero, got {format_amount(amount_cents)}")
    if amount_cents > MAX_AMOUNT_CENTS:
        raise BudgetError(
            f"the amount {format_amount(amount_cents)} is absurd: "
            f"the most a request may cost is {format_amount(MAX_AMOUNT_CENTS)} a year"
        )


def _rate(rates: Mapping[str, Decimal], currency: str, other: str, role: str) -> Decimal:
    rate = rates.get(currency)
    if rate is None:
        if role == "request":
            text = f"the request is in {currency} but the budget is in {other} and no {currency} rate is configured"
        else:
            text = f"the request is in {other} but the budget is in {currency} and no {currency} rate is configured"
        raise BudgetError(text, field="currency")
    if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
        raise BudgetError(f"the {currency} rate must be a positive number, got {rate!r}", field="currency")
    return rate


def _rates_of(
    from_currency: str, to_currency: str, rates: Mapping[str, Decimal] | None
) -> tuple[Decimal, Decimal] | None:
    """The two rates ``from → to`` goes through; None when the currencies are the same."""
    source, target = from_currency.upper(), to_currency.upper()
    if source == target:
        return None
    table = {k.upper(): v for k, v in (rates or {}).items()}
    return _rate(table, source, target, "request"), _rate(table, target, source, "budget")


def convert(
    amount_cents: int,
    from_currency: str,
    to_currency: str,
    rates: Mapping[str, Decimal] | None,
) -> int:
    """``amount_cents`` in ``from_currency`` expressed in ``to_currency``, rounded half-up to the cent.

    Raises ``BudgetError`` (field ``currency``) when a rate the conversion needs is missing."""
    pair = _rates_of(from_currency, to_currency, rates)
    if pair is None:
        return amount_cents
    source_rate, target_rate = pair
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(amount_cents) * source_rate / target_rate
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def exchange_rate(from_currency: str, to_currency: str, rates: Mapping[str, Decimal] | None) -> Decimal:
    """Units of ``to_currency`` per unit of ``from_currency`` (1 for the same currency), to 20
    significant digits: the rate a conversion is recorded with. ``convert`` works from the two
    rates themselves, so a cross rate's rounding here never moves a cent."""
    pair = _rates_of(from_currency, to_currency, rates)
    if pair is None:
        return Decimal(1)
    source_rate, target_rate = pair
    with localcontext() as ctx:
        ctx.prec = 20
        return (source_rate / target_rate).normalize()


# --- budgets -----------------------------------------------------------------------------------


def fiscal_year_bounds(fiscal_year: int, start_month: int) -> tuple[date, date]:
    """First day and the day after the last day of fiscal year `fiscal_year`."""
    if not 1 <= start_month <= 12:
        raise ValueError(f"the fiscal year start month must be 1-12, got {start_month}")
    if not 1901 <= fiscal_year <= 9998:
        raise ValueError(f"fiscal year {fiscal_year} is out of range")
    first_year = fiscal_year if start_month == 1 else fiscal_year - 1
    return date(first_year, start_month, 1), date(first_year + 1, start_month, 1)


def fiscal_year_of(d: date, start_month: int) -> int:
    """The fiscal year containing ``d``: FY N starts in year N when it starts in January, else in N − 1."""
    if not 1 <= start_month <= 12:
        raise ValueError(f"the fiscal year start month must be 1-12, got {start_month}")
    if start_month == 1 or d.month < start_month:
        return d.year
    return d.year + 1


def available_cents(*, annual_cents: int, committed_cents: int, actual_cents: int) -> int:
    """What is left of a budget line: ``annual − committed − actual``, all in the line's
    currency (negative when over budget). The one definition every view of a budget uses."""
    return annual_cents - committed_cents - actual_cents


@dataclass(frozen=True)
class BudgetLine:
    cost_center: str
    fiscal_year: int
    currency: str
    annual_cents: int
    committed_cents: int = 0  # reserved by approved requests, converted to `currency`
    actual_cents: int = 0  # imported spend in the fiscal year, converted to `currency`

    @property
    def available_cents(self) -> int:
        return available_cents(
            annual_cents=self.annual_cents, committed_cents=self.committed_cents, actual_cents=self.actual_cents
        )


@dataclass(frozen=True)
class BudgetCheck:
    """A request held against a budget line; amounts are in the budget's currency."""

    cost_center: str
    fiscal_year: int
    line: BudgetLine | None
    amount_cents: int  # the request, converted to the budget's currency
    currency: str  # the budget's currency (the request's when there is no line)
    request_currency: str
    request_amount_cents: int
    available_before_cents: int  # 0 without a line
    available_after_cents: int  # before − amount; negative when over budget
    exceeds: bool  # after < 0, or no line at all
    reason: str | None  # why it exceeds, for people; None when within budget

    @property
    def overspend_cents(self) -> int:
        return max(0, -self.available_after_cents)


def check_budget(
    line: BudgetLine | None,
    *,
    cost_center: str,
    fiscal_year: int,
    amount_cents: int,
    currency: str,
    rates: Mapping[str, Decimal] | None = None,
) -> BudgetCheck:
    """Hold ``amount_cents`` (in ``currency``) against ``line``.

    Raises ``BudgetError`` for a bad amount, or a currency the budget cannot be compared with.
    """
    check_amount(amount_cents)
    currency = currency.upper()
    if line is None:
        return BudgetCheck(
            cost_center=cost_center,
            fiscal_year=fiscal_year,
            line=None,
            amount_cents=amount_cents,
            currency=currency,
            request_currency=currency,
            request_amount_cents=amount_cents,
            available_before_cents=0,
            available_after_cents=-amount_cents,
            exceeds=True,
            reason=f"no FY{fiscal_year} budget for {cost_center}",
        )
    budget_currency = line.currency.upper()
    amount = convert(amount_cents, currency, budget_currency, rates)
    before = line.available_cents
    after = before - amount
    exceeds = after < 0
    return BudgetCheck(
        cost_center=cost_center,
        fiscal_year=fiscal_year,
        line=line,
        amount_cents=amount,
        currency=budget_currency,
        request_currency=currency,
        request_amount_cents=amount_cents,
        available_before_cents=before,
        available_after_cents=after,
        exceeds=exceeds,
        reason=(
            f"exceeds the {cost_center} FY{fiscal_year} budget by {format_money(-after, budget_currency)}"
            if exceeds
            else None
        ),
    )


@dataclass(frozen=True)
class Forecast:
    fiscal_year: int
    start: date
    end: date  # the last day of the fiscal year
    elapsed_days: int  # days of the year up to and including as_of (0 before it starts)
    total_days: int
    actual_cents: int
    projected_actual_cents: int  # actual / elapsed × total; 0 when nothing has elapsed
    projected_total_cents: int  # committed + projected actual
    over_cents: int  # max(0, projected total − annual)
    cost_center: str = ""
    currency: str = ""
    annual_cents: int = 0
    committed_cents: int = 0


def _div_half_up(numerator: int, denominator: int) -> int:
    quotient = Decimal(numerator) / Decimal(denominator)
    return int(quotient.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def forecast(line: BudgetLine, *, as_of: date, start_month: int) -> Forecast:
    """Straight-line projection of ``line``'s spend to the end of its fiscal year."""
    start, stop = fiscal_year_bounds(line.fiscal_year, start_month)
    total = (stop - start).days
    elapsed = min(total, max(0, (as_of - start).days + 1))
    with localcontext() as ctx:
        ctx.prec = 60
        projected = 0 if elapsed == 0 else _div_half_up(line.actual_cents * total, elapsed)
    projected_total = line.committed_cents + projected
    return Forecast(
        fiscal_year=line.fiscal_year,
        start=start,
        end=stop - timedelta(days=1),
        elapsed_days=elapsed,
        total_days=total,
        actual_cents=line.actual_cents,
        projected_actual_cents=projected,
        projected_total_cents=projected_total,
        over_cents=max(0, projected_total - line.annual_cents),
        cost_center=line.cost_center,
        currency=line.currency,
        annual_cents=line.annual_cents,
        committed_cents=line.committed_cents,
    )


# --- cloud commitments -------------------------------------------------------------------------


@dataclass(frozen=True)
class Commitment:
    name: str  # e.g. "AWS EDP 2026"
    provider: str  # aws | azure | gcp
    kind: str  # edp | ppa | macc | commit
    currency: str
    remaining_cents: int
    end_date: date
    start_date: date | None = None

    def active_on(self, on: date) -> bool:
        return (self.start_date is None or self.start_date <= on) and on <= self.end_date


@dataclass(frozen=True)
class CommitmentTerms:
    """A commitment's terms as stored (the columns of `catalog.models.Commitment` bar its id):
    what an import file gives and what the drawdown report shows beside its figures."""

    name: str
    provider: str
    kind: str
    currency: str
    total_cents: int
    remaining_cents: int
    start_date: date | None
    end_date: date


@dataclass(frozen=True)
class Drawdown:
    commitment: Commitment | None  # None: no active commitment for that cloud
    provider: str
    currency: str  # the commitment's (the request's when there is none)
    amount_cents: int  # the request in that currency
    remaining_before_cents: int
    remaining_after_cents: int  # never below 0
    overflow_cents: int  # what the commitment does not cover (all of it without a commitment)
    reason: str

    @property
    def exceeds(self) -> bool:
        return self.overflow_cents > 0


def drawdown(
    commitments: Sequence[Commitment],
    *,
    channel: str,
    amount_cents: int,
    currency: str,
    as_of: date,
    rates: Mapping[str, Decimal] | None = None,
) -> Drawdown | None:
    """What a purchase through a cloud marketplace draws from that cloud's commitment.

    ``None`` for channels that are not a marketplace. Of the provider's commitments active on
    ``as_of`` the one ending first is drawn (use it before it lapses; ties by name), skipping
    commitments with nothing left while another one still has money.
    """
    provider = PROVIDER_OF_CHANNEL.get(channel)
    if provider is None:
        return None
    check_amount(amount_cents)
    label = PROVIDER_LABELS[provider]
    active = sorted(
        (c for c in commitments if c.provider == provider and c.active_on(as_of)),
        key=lambda c: (c.remaining_cents <= 0, c.end_date, c.name),
    )
    if not active:
        return Drawdown(
            commitment=None,
            provider=provider,
            currency=currency.upper(),
            amount_cents=amount_cents,
            remaining_before_cents=0,
            remaining_after_cents=0,
            overflow_cents=amount_cents,
            reason=f"no active {label} commitment",
        )
    chosen = active[0]
    cur = chosen.currency.upper()
    amount = convert(amount_cents, currency, cur, rates)
    before = max(0, chosen.remaining_cents)
    drawn = min(amount, before)
    after = before - drawn
    overflow = amount - drawn
    reason = (
        f"draws {format_money(drawn, cur)} from {chosen.name} ({format_amount(before)} → {format_amount(after)} left)"
    )
    if overflow:
        reason += f" and exceeds the commitment by {format_money(overflow, cur)}"
    return Drawdown(
        commitment=chosen,
        provider=provider,
        currency=cur,
        amount_cents=amount,
        remaining_before_cents=before,
        remaining_after_cents=after,
        overflow_cents=overflow,
        reason=reason,
    )


def channel_label(channel: str) -> str:
    """``aws_marketplace`` → ``AWS Marketplace``."""
    return CHANNEL_LABELS.get(channel, channel)
