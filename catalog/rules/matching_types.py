"""The values product recognition takes and gives: catalog products, SaaS knowledge, results.

Split from `catalog.rules.matching` (which re-exports every name here) so the index builder and
the matcher can share them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from catalog.rules.matching_text import Channel

MatchKind = Literal["catalog", "known_saas", "non_saas", "unknown"]
"""What a text was recognised as: a catalog product (`product_id` set); a widely used SaaS
product the catalog does not list (`known` set); a merchant that is not SaaS at all (airline,
hotel, restaurant…; `non_saas` names the kind); or nothing sure (`candidates` may help)."""

CONFIDENT_AT = 0.8
"""`product_id` is set exactly when `confidence >= CONFIDENT_AT`."""


@dataclass(frozen=True)
class CatalogProduct:
    id: str
    name: str
    vendor: str
    category: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class KnownProduct:
    """A widely used SaaS product from the shipped knowledge file (catalog/data/saas_knowledge.yaml)."""

    name: str
    vendor: str
    category: str
    aliases: tuple[str, ...] = ()
    former_names: tuple[str, ...] = ()
    suite: tuple[str, ...] = ()  # the vendor family's products that people name alone
    descriptors: tuple[str, ...] = ()  # card-statement texts
    free_siblings: tuple[str, ...] = ()
    generic: bool = False  # the bare name is an everyday word: recognised alone only on a card statement
    free: bool = False  # a free sibling of `sibling_of`
    sibling_of: str | None = None

    def to_json(self) -> dict[str, object]:
        return {field: getattr(self, field) for field in ("name", "vendor", "category", "free", "sibling_of")}


@dataclass(frozen=True)
class MatchResult:
    query: str
    product_id: str | None
    confidence: float
    candidates: tuple[str, ...]
    category: str | None
    channel: Channel
    kind: MatchKind = "unknown"
    known: KnownProduct | None = None
    non_saas: str | None = None  # the kind of non-SaaS merchant ("airline", "lodging"…)

    def to_json(self) -> dict[str, object]:
        return {
            "query": self.query,
            "product_id": self.product_id,
            "confidence": self.confidence,
            "candidates": list(self.candidates),
            "category": self.category,
            "channel": self.channel,
            "kind": self.kind,
            "known": self.known.to_json() if self.known else None,
            "non_saas": self.non_saas,
        }


def _empty() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class MatchingData:
    synonyms: Mapping[str, str]
    known_products: Mapping[str, str]
    category_keywords: Mapping[str, str]
    knowledge: tuple[KnownProduct, ...] = ()
    non_saas: Mapping[str, str] = field(default_factory=_empty)  # merchant phrase → kind of merchant
