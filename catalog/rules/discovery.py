"""Discovery: which product each spend line and SSO app is, how it stands against the
register, and what was seen of it. Pure: the matcher, the catalog facts and the lines come
in as arguments; `catalog.repository.discovery` reads and writes them.

Recognition (`recognise`): the descriptor is cleaned (`catalog.rules.descriptors`), then
* a non-SaaS merchant (airline, hotel, restaurant, ride, office supplies, fuel …) is
  `non_saas` and left alone;
* a catalog product → its id;
* a product the matcher's shipped vocabulary knows but the catalog lacks → `known`, keyed
  by its name in that vocabulary when a run of the descriptor's words is that name or one of
  its aliases (`KnownNames`), else by the cleaned descriptor when the matcher names only a
  category;
* anything else → `unknown`, shown for review.

Status (`classify`): `blocked_in_use` for a blocked catalog product, `managed` for a
catalog product the asset register holds, `unmanaged` for any other product recognised
(in the catalog or not), `unknown` for the rest (docs/decisions.md, "Discovery").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

from catalog.rules.descriptors import normalise_descriptor
from catalog.rules.matching import MatchResult

if TYPE_CHECKING:
    from catalog.models import Discovery

__all__ = [
    "SPEND_WINDOW_DAYS",
    "STATUSES",
    "CatalogFacts",
    "Discovered",
    "KnownNames",
    "Recognition",
    "SpendGroup",
    "aggregate",
    "classify",
    "is_non_saas",
    "known_names",
    "recognise",
    "reconciles",
    "report_line",
    "spend_window_start",
]

Kind = Literal["catalog", "known", "unknown", "non_saas"]
Status = Literal["managed", "unmanaged", "blocked_in_use", "unknown"]
STATUSES: tuple[Status, ...] = ("managed", "unmanaged", "blocked_in_use", "unknown")
SPEND_WINDOW_DAYS = 365

# Merchants that are never SaaS. Whole words of the cleaned descriptor; phrases of two words
# are matched as such. Until the matcher says `non_saas` itself, this list is the rule.
_NON_SAAS_WORDS = frozenset(
    """
    airline airlines airways air lufthansa ryanair easyjet jetblue delta united southwest klm iberia
    emirates qantas aer lingus alitalia vueling wizz flybe airfrance
    hotel hotels motel inn resort resorts marriott hilton hyatt westin sheraton ihg radisson accor
    novotel ibis airbnb booking expedia hotelscom travelodge
    restaurant restaurants cafe coffee starbucks mcdonalds mcdonald pizza sushi burger grill bar pub
    bistro diner bakery deli chipotle subway doordash grubhub deliveroo ubereats eats seamless
    postmates caviar kitchen taqueria tavern brewery
    uber lyft taxi cab grab didi parking garage fuel gas shell chevron exxon bp texaco valero
    staples officemax officedepot viking
    rail railway amtrak eurostar trainline greyhound
    pharmacy walgreens cvs grocery supermarket wholefoods safeway tesco
    """.split()
)
_NON_SAAS_PHRASES = ("office depot", "whole foods", "uber trip", "american air", "british a", "air canada")
_NON_SAAS_CATEGORIES = frozenset({"non-saas", "non_saas"})


def spend_window_start(as_of: date) -> date:
    """The first day whose spend counts in "the last 12 months" on `as_of`."""
    return as_of - timedelta(days=SPEND_WINDOW_DAYS - 1)


def is_non_saas(cleaned: str) -> bool:
    """Whether a cleaned descriptor names an airline, hotel, restaurant, ride, shop …"""
    words = cleaned.split()
    return any(w in _NON_SAAS_WORDS for w in words) or any(p in cleaned for p in _NON_SAAS_PHRASES)


@dataclass(frozen=True)
class Recognition:
    kind: Kind
    key: str  # what the discovery row is keyed by: "product:<id>", "known:<name>", "unknown:<name>"
    name: str  # the cleaned descriptor, or the catalog id (replaced by the product's name later)
    product_id: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class KnownNames:
    """Well-known products the catalog lacks, by their cleaned name or alias → (name, category),
    so "OPENAI *CHATGPT SUBSCR" on a card and "ChatGPT" in the IdP are one product."""

    names: Mapping[str, tuple[str, str]]
    longest: int = 1

    def find(self, cleaned: str) -> tuple[str, str] | None:
        """The longest known name that is a run of whole words of `cleaned`."""
        words = cleaned.split()
        for size in range(min(self.longest, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                found = self.names.get(" ".join(words[start : start + size]))
                if found is not None:
                    return found
        return None


def known_names(known_products: Mapping[str, str], synonyms: Mapping[str, str]) -> KnownNames:
    """`KnownNames` from the matcher's vocabulary: its well-known products, and the aliases of
    those among its synonyms (`gsuite` → `google workspace`)."""
    names = {normalise_descriptor(name): (name, category) for name, category in known_products.items()}
    for alias, canonical in synonyms.items():
        target = names.get(normalise_descriptor(canonical))
        if target is not None:
            names.setdefault(normalise_descriptor(alias), target)
    names.pop("", None)
    return KnownNames(names, max((k.count(" ") + 1 for k in names), default=1))


def recognise(descriptor: str, match: Callable[[str], MatchResult], known: KnownNames | None = None) -> Recognition:
    """What a card descriptor, a marketplace publisher or an SSO app name is."""
    cleaned = normalise_descriptor(descriptor)
    key_name = cleaned[:150].strip()  # any script: an app named in Japanese is still an app
    if not key_name:
        return Recognition("non_saas", "", "")  # nothing left to recognise: digits, punctuation
    result = match(cleaned)
    if (
        result.kind == "non_saas"
        or result.category in _NON_SAAS_CATEGORIES
        or (result.product_id is None and is_non_saas(cleaned))
    ):
        return Recognition("non_saas", "", cleaned)
    if result.product_id is not None:
        product_id = result.product_id
        return Recognition("catalog", f"product:{product_id}", product_id, product_id, result.category)
    if result.kind == "known_saas" and result.known is not None:  # the knowledge file's own name
        entry = result.known
        return Recognition("known", f"known:{entry.name.casefold()}", entry.name, None, entry.category)
    named = known.find(cleaned) if known is not None else None
    if named is not None:
        return Recognition("known", f"known:{named[0]}", _display(named[0]), None, named[1])
    if result.category is not None:
        return Recognition("known", f"known:{key_name}", _display(cleaned), None, result.category)
    return Recognition("unknown", f"unknown:{key_name}", _display(cleaned))


def _display(cleaned: str) -> str:
    return " ".join(w if any(c.isdigit() for c in w) else w.capitalize() for w in cleaned.split())[:200]


@dataclass(frozen=True)
class CatalogFacts:
    """What classification needs of one catalog product."""

    product_id: str
    name: str
    vendor: str
    category: str
    blocked: bool
    in_register: bool  # the asset register holds it (an asset of this product)


def classify(recognition: Recognition, product: CatalogFacts | None) -> Status:
    if recognition.kind == "catalog" and product is not None:
        if product.blocked:
            return "blocked_in_use"
        return "managed" if product.in_register else "unmanaged"
    return "unmanaged" if recognition.kind in ("catalog", "known") else "unknown"


@dataclass(frozen=True)
class SpendGroup:
    """The lines of one descriptor in one currency, as the database sums them."""

    descriptor: str
    currency: str
    window_cents: int  # the last 12 months
    lines: int  # up to as_of
    first_seen: date
    last_seen: date
    payers: frozenset[str] = frozenset()
    cost_centers: frozenset[str] = frozenset()
    marketplace_lines: int = 0
    unreconciled_lines: int = 0


@dataclass
class Discovered:
    """One product as discovery reports it."""

    key: str
    product_id: str | None
    name: str
    vendor: str | None
    category: str | None
    status: Status
    spend_cents: dict[str, int] = field(default_factory=dict)
    lines: int = 0
    payers: set[str] = field(default_factory=set)
    cost_centers: set[str] = field(default_factory=set)
    first_seen: date | None = None
    last_seen: date | None = None
    sso_users: set[str] = field(default_factory=set)
    marketplace_lines: int = 0
    unreconciled_lines: int = 0

    def seen(self, on: date) -> None:
        self.first_seen = on if self.first_seen is None else min(self.first_seen, on)
        self.last_seen = on if self.last_seen is None else max(self.last_seen, on)


def aggregate(
    spend: Iterable[SpendGroup],
    sso: Mapping[str, Mapping[str, date]],
    *,
    recognise_one: Callable[[str], Recognition],
    products: Mapping[str, CatalogFacts],
) -> list[Discovered]:
    """Per product: spend per currency, lines, payers, cost centers, first/last seen and SSO
    users (`sso`: app name → user email → last login). Non-SaaS lines and apps are dropped."""
    found: dict[str, Discovered] = {}

    def entry(recognition: Recognition) -> Discovered | None:
        if recognition.kind == "non_saas":
            return None
        if recognition.key not in found:
            product = products.get(recognition.product_id or "")
            found[recognition.key] = Discovered(
                key=recognition.key,
                product_id=recognition.product_id if product else None,
                name=product.name if product else recognition.name,
                vendor=product.vendor if product else None,
                category=product.category if product else recognition.category,
                status=classify(recognition, product),
            )
        return found[recognition.key]

    for group in spend:
        row = entry(recognise_one(group.descriptor))
        if row is None:
            continue
        if group.window_cents or group.currency in row.spend_cents:
            row.spend_cents[group.currency] = row.spend_cents.get(group.currency, 0) + group.window_cents
        row.lines += group.lines
        row.payers |= group.payers
        row.cost_centers |= group.cost_centers
        row.seen(group.first_seen)
        row.seen(group.last_seen)
        row.marketplace_lines += group.marketplace_lines
        row.unreconciled_lines += group.unreconciled_lines
    for app, users in sso.items():
        row = entry(recognise_one(app))
        if row is None:
            continue
        row.sso_users |= set(users)
        for last_login in users.values():
            row.seen(last_login)
    return sorted(found.values(), key=lambda d: (STATUSES.index(d.status), d.name.casefold(), d.key))


#: The keys of `procure discover report --json`, in the issue's order.
REPORT_FIELDS = (
    "product_id",
    "name",
    "vendor",
    "status",
    "spend_cents",
    "lines",
    "payers",
    "cost_centers",
    "first_seen",
    "last_seen",
    "sso_users",
)


def _reported(value: object) -> object:
    """A value as the report prints it: days in ISO form, collections sorted (so a re-run with
    the same data prints the same bytes)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return dict(sorted(value.items()))
    if isinstance(value, list | set | tuple):
        return sorted(value)
    return value


def report_line(row: Discovery) -> dict[str, object]:
    """One product of `procure discover report --json`, in the issue's shape and order."""
    return {name: _reported(getattr(row, name)) for name in REPORT_FIELDS}


def reconciles(request_names: Iterable[str], line_names: Iterable[str]) -> bool:
    """Whether an approved marketplace request (its product name, vendor) is what a
    marketplace line bills (its publisher, service): one of the request's names, cleaned as a
    descriptor, is one of the line's or a run of whole words in it."""
    lines = [f" {normalise_descriptor(n)} " for n in line_names if n]
    for name in request_names:
        cleaned = normalise_descriptor(name) if name else ""
        if cleaned and any(f" {cleaned} " in line for line in lines):
            return True
    return False
