"""What ITAM and the payers are told of a discovery run, and what Adopt infers from spend.
Pure: no I/O; `catalog.repository.discovery_actions` reads and writes.

- **Digest**: the products that need a decision (bought or used outside the process, blocked
  in use, unrecognised), without those already adopted or blocked, or ignored until a later
  day.
- **Term inference** (Adopt): one payer's charges about a month apart are a monthly
  subscription (its annual cost is the average charge × 12); otherwise an annual one (the
  last 12 months' spend). Each payer's charges are counted apart: three people paying
  monthly are not one charge every ten days.
- **Owner** (Adopt): the top payer by spend in the last 12 months, compared in the product's
  main currency (the currency most of the payers' charges are in), then by number of charges,
  then by email (docs/decisions.md, 51).
- **Usage-based** (Adopt; docs/decisions.md, 52): a product of a metered category (cloud,
  observability, data warehouses and databases, API credits), or whose charges vary from month
  to month (one payer's — or the cloud bill's — three or more charges in the last 12 months
  at three or more amounts, the largest at least a quarter above the smallest: a seat count
  that changes steps between two amounts, metering does not), has no seat count. It is
  adopted with seats None and its last 12 months' spend (every line of it, corrections
  included, as discovery aggregated it) as its contract value.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

__all__ = [
    "ADOPTED",
    "BLOCKED",
    "DECISIONS",
    "IGNORED",
    "NEEDS_DECISION",
    "DigestCard",
    "DigestView",
    "InferredTerm",
    "PayerNotice",
    "infer_term",
    "looks_usage_based",
    "main_currency",
    "needs_decision",
    "notice_key",
    "product_slug",
    "rank_payers",
]

ADOPTED, BLOCKED, IGNORED = "adopted", "blocked", "ignored"
DECISIONS = (ADOPTED, BLOCKED, IGNORED)
#: Discovery statuses the digest asks ITAM about (`managed` is already in the register).
NEEDS_DECISION = ("unmanaged", "blocked_in_use", "unknown")
#: Mean days between one payer's charges up to which they are monthly.
MONTHLY_GAP_DAYS = 45
#: Knowledge-file categories (catalog/data/saas_knowledge.yaml) billed by usage, not by seat.
USAGE_BASED_CATEGORIES = frozenset(
    {
        "cloud-platform",
        "observability",
        "data-warehouse",
        "database",
        "data-streaming",
        "data-observability",
        "ai-api",
        "communications-api",
    }
)
#: Charges that vary by at least this much (largest / smallest) over three or more amounts are metered.
_USAGE_SPREAD = 1.25


@dataclass(frozen=True)
class InferredTerm:
    billing_period: str  # monthly | annual
    term_months: int
    annual_cost_cents: int


def infer_term(charges: Sequence[tuple[str, date, int]], *, as_of: date) -> InferredTerm:
    """The term a product's charges suggest; `charges` are (payer, day, cents), refunds
    included. Monthly when some payer's charges are on average at most `MONTHLY_GAP_DAYS`
    apart: the annual cost is then each payer's average charge × 12, summed."""
    by_payer: dict[str, list[tuple[date, int]]] = defaultdict(list)
    for payer, day, cents in charges:
        by_payer[payer].append((day, cents))
    monthly = False
    for days in by_payer.values():
        paid = sorted(d for d, c in days if c > 0)
        if len(paid) >= 2 and (paid[-1] - paid[0]).days / (len(paid) - 1) <= MONTHLY_GAP_DAYS:
            monthly = True
    if monthly:
        annual = sum(
            max(sum(c for _, c in days), 0) * 12 // max(sum(1 for _, c in days if c > 0), 1)
            for days in by_payer.values()
        )
        return InferredTerm("monthly", 1, annual)
    since = as_of - timedelta(days=365)
    return InferredTerm("annual", 12, max(sum(c for _, d, c in charges if since < d <= as_of), 0))


def main_currency(charges: Sequence[tuple[str, date, int, str]], *, as_of: date) -> str | None:
    """The currency a product is mostly paid in: the one with the most charges (payer, day,
    cents, currency) in the last 12 months, or ever when none is that recent. Charges are
    counted, not summed: amounts in two currencies are never compared. A tie goes to USD,
    else to the first code alphabetically (the rule Adopt used before)."""
    since = as_of - timedelta(days=365)
    recent = [c for c in charges if since < c[1] <= as_of] or list(charges)
    counts: dict[str, int] = defaultdict(int)
    for _, _, _, currency in recent:
        counts[currency] += 1
    if not counts:
        return None
    return min(counts, key=lambda cur: (-counts[cur], cur != "USD", cur))


def rank_payers(charges: Sequence[tuple[str, date, int]], *, as_of: date) -> list[str]:
    """Payers, top first: by what they paid in the last 12 months (refunds subtracted; the
    charges are in one currency), then by how many charges, then by email."""
    since = as_of - timedelta(days=365)
    spent: dict[str, int] = defaultdict(int)
    lines: dict[str, int] = defaultdict(int)
    for payer, day, cents in charges:
        if since < day <= as_of:
            spent[payer] += cents
            lines[payer] += 1
    return sorted(spent, key=lambda p: (-spent[p], -lines[p], p))


def looks_usage_based(category: str | None, charges: Sequence[tuple[str, date, int]], *, as_of: date) -> bool:
    """Whether a discovered product is billed by usage, not by seat: its category says so, or
    its charges (payer, day, cents; refunds included) vary as metering does."""
    if category in USAGE_BASED_CATEGORIES:
        return True
    since = as_of - timedelta(days=365)
    by_payer: dict[str, list[int]] = defaultdict(list)
    for payer, day, cents in charges:
        if cents > 0 and since < day <= as_of:
            by_payer[payer].append(cents)
    return any(
        len(amounts) >= 3 and len(set(amounts)) >= 3 and max(amounts) >= _USAGE_SPREAD * min(amounts)
        for amounts in by_payer.values()
    )


def needs_decision(*, status: str, decision: str | None, suppressed_until: date | None, as_of: date) -> bool:
    """Whether a discovered product goes in the digest (and its payers get a DM)."""
    if status not in NEEDS_DECISION or decision in (ADOPTED, BLOCKED):
        return False
    return not (decision == IGNORED and suppressed_until is not None and suppressed_until > as_of)


def product_slug(name: str) -> str:
    """A catalog id for a product Adopt or Block adds to the catalog: `ChatGPT Team` → `chatgpt-team`."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:64] or "product"


def notice_key(discovery_key: str, payer: str, last_seen: date) -> str:
    """A payer's DM is sent once per product and term: the year of their last charge."""
    return f"discovery-dm:{discovery_key}:{payer}:{last_seen.year}"[:200]


@dataclass(frozen=True)
class DigestCard:
    """One product in the ITAM digest."""

    key: str
    name: str
    vendor: str | None
    status: str
    spend: str  # "1,234.56 USD, 12.00 EUR"
    lines: int
    payers: tuple[str, ...]
    sso_users: int
    first_seen: date | None
    last_seen: date | None
    unreconciled_lines: int = 0
    decision: str | None = None
    decision_reason: str | None = None
    decided_by: str | None = None
    suppressed_until: date | None = None


@dataclass(frozen=True)
class DigestView:
    as_of: date
    cards: tuple[DigestCard, ...]
    #: Marketplace lines with no approved marketplace request, for FinOps.
    unreconciled_lines: int = 0
    alternatives: tuple[tuple[str, str], ...] = field(default=())  # (id, name) of approved products


@dataclass(frozen=True)
class PayerNotice:
    """A DM to someone who paid for a product outside the process (reuse first)."""

    key: str  # idempotency: `notice_key`
    payer_email: str
    slack_id: str
    product: str
    product_id: str | None
    paid_on: date
    owned_product: str | None = None  # a product we own that fits, with free seats
    owned_product_id: str | None = None
    free_seats: int = 0
    #: The owned product is usage-based (no seats): who to ask for access, as mrkdwn.
    owner: str | None = None
    blocked_reason: str | None = None
    alternatives: tuple[str, ...] = ()
