"""Product recognition (catalog/rules/matching.py) against a generated 10,000-product catalog,
and card descriptors through the demo catalog with the shipped SaaS knowledge (issue 22).

The catalog is the eval catalog's real products plus made-up SaaS names built from the same
syllables, so many names are near each other and the fuzzy path has real work to do. Queries mix
exact names, typos, sentences, vendor-prefixed and marketplace phrasing, non-catalog products,
markup and very long text.

Descriptors: 5,000 distinct merchants as banks print them (knowledge products and non-SaaS
merchants in processor wrappers, with phone numbers, places and made-up unknown merchants),
then 200,000 card lines drawn from them with a new reference number on a third of the lines, as
in a card export. `descriptor_match_per_s` is lines per second through `match_descriptor`
(merchants cached after their first line); `descriptor_first_match_per_s` is the uncached rate
over the distinct merchants.
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

import yaml

from catalog.rules.matching import CatalogProduct, Matcher
from catalog.rules.matching_data import (
    SHIPPED_CATALOG,
    load_catalog_products,
    load_matching_data,
    products_from_entries,
)

PRODUCTS = 10_000
QUERIES = 5_000
EVAL_FILE = Path(__file__).resolve().parent.parent / "tests" / "catalog" / "matching_eval.yaml"

_HEADS = (
    "bright cloud data flow sync path stack pixel quant nova zen spark signal pulse orbit lumen vector "
    "harbor beacon ember cobalt atlas summit prism vertex tandem relay meadow cinder fable kite nimbus "
    "quartz raven sable tidal umber willow yonder zephyr apex birch cedar delta echo fern glacier hazel "
    "iris jade kestrel lark maple nectar onyx pine quill rune sage thorn"
).split()
_TAILS = "ly ify io hq base desk deck wise grid loop forge beam mint kit hub labs ware works scope sense".split()
_SECOND = ("", "", "", "Cloud", "Pro", "Studio", "Analytics", "Suite", "One", "Connect", "AI", "Ops", "Docs")
_CATEGORIES = (
    "design docs chat crm observability project-management hr security file-storage bi survey automation "
    "identity vpn scheduling customer-support code-hosting ci-cd data-warehouse e-signature"
).split()
_TEMPLATES = (
    "{}",
    "{}",
    "can I get a {} license?",
    "need {} for the new designer",
    "{} via AWS Marketplace",
    "please add 3 seats of {} for my team",
    "<@U024BE7LH> is {} approved?",
    "*{}* through the azure marketplace",
    "hey :wave: we'd like to buy {} for the Q3 launch, budget is approved",
)
_NOISE = (
    "",
    "hello",
    "Motion",
    "clickup for the ops team",
    "we need an e-signature tool",
    "🎉🎉🎉",
    "<!channel> *urgent*",
    "Фигма",
    "lorem ipsum dolor sit amet " * 80,
    "x" * 10_000,
)


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:  # transposition
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:  # deletion
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]  # doubled letter


def generate_catalog(size: int = PRODUCTS, seed: int = 42) -> list[CatalogProduct]:
    rng = random.Random(seed)  # deterministic test data
    real = products_from_entries(yaml.safe_load(EVAL_FILE.read_text(encoding="utf-8"))["catalog"])
    products = list(real)
    names = {p.name.casefold() for p in real}
    vendors = [
        f"{rng.choice(_HEADS).title()}{rng.choice(_TAILS)} {rng.choice(('Inc.', 'Ltd', 'GmbH', 'LLC'))}"
        for _ in range(size // 4)
    ]
    while len(products) < size:
        base = rng.choice(_HEADS) + rng.choice(_TAILS)
        if rng.random() < 0.3:
            base = rng.choice(_HEADS) + rng.choice(_HEADS) + rng.choice(_TAILS)
        name = f"{base.title()} {rng.choice(_SECOND)}".strip()
        if name.casefold() in names:
            continue
        names.add(name.casefold())
        slug = name.casefold().replace(" ", "-")
        aliases = (base,) if " " in name and rng.random() < 0.2 else ()
        products.append(CatalogProduct(slug, name, rng.choice(vendors), rng.choice(_CATEGORIES), aliases))
    return products


def generate_queries(products: list[CatalogProduct], count: int = QUERIES, seed: int = 7) -> list[str]:
    rng = random.Random(seed)  # deterministic test data
    queries: list[str] = []
    while len(queries) < count:
        roll = rng.random()
        if roll < 0.1:
            queries.append(rng.choice(_NOISE))
            continue
        product = rng.choice(products)
        name = product.name
        if roll < 0.35:
            name = " ".join(_typo(rng, w) for w in name.split())
        elif roll < 0.45:
            name = name.upper()
        elif roll < 0.5:
            name = f"{product.vendor.split()[0]} {name}"
        queries.append(rng.choice(_TEMPLATES).format(name))
    return queries


def run() -> dict[str, float]:
    return {**run_queries(), **run_descriptors()}


def run_queries(products: int = PRODUCTS, queries: int = QUERIES) -> dict[str, float]:
    catalog = generate_catalog(products)
    data = load_matching_data()
    started = time.perf_counter()
    matcher = Matcher(catalog, data)
    build_s = time.perf_counter() - started
    texts = generate_queries(catalog, queries)
    for text in texts[:200]:  # warm-up
        matcher.match(text)
    timings: list[float] = []
    for text in texts:
        t0 = time.perf_counter_ns()
        matcher.match(text)
        timings.append((time.perf_counter_ns() - t0) / 1e6)
    cuts = statistics.quantiles(timings, n=100, method="inclusive")
    return {
        "match_build_10k_s": round(build_s, 3),
        "match_p50_ms_10k": round(cuts[49], 3),
        "match_p95_ms_10k": round(cuts[94], 3),
        "match_p99_ms_10k": round(cuts[98], 3),
        "match_max_ms_10k": round(max(timings), 3),
    }


DISTINCT_MERCHANTS = 5_000
CARD_LINES = 200_000
_WRAPPERS = ("", "", "", "SQ *", "PAYPAL *", "PADDLE.NET* ", "FS *", "STRIPE* ")
_PLACE_TAILS = ("", "", " INC", " 415-555-0100 CA", " SAN FRANCISCO CA", " DUBLIN IE", " 8885551234", " NY")


def generate_merchants(count: int = DISTINCT_MERCHANTS, seed: int = 11) -> list[str]:
    rng = random.Random(seed)  # deterministic test data
    data = load_matching_data()
    names = [p.name for p in data.knowledge] + [d for p in data.knowledge for d in p.descriptors]
    names += list(data.non_saas)
    merchants: set[str] = set()
    while len(merchants) < count:
        roll = rng.random()
        if roll < 0.7:
            name = rng.choice(names)
        else:  # a merchant nobody listed
            name = f"{rng.choice(_HEADS)}{rng.choice(_TAILS)} {rng.choice(('', 'LLC', 'STUDIO', 'CAFE'))}"
        merchants.add(f"{rng.choice(_WRAPPERS)}{name.upper()}{rng.choice(_PLACE_TAILS)}".strip())
    return sorted(merchants)


def run_descriptors(merchants: int = DISTINCT_MERCHANTS, lines: int = CARD_LINES) -> dict[str, float]:
    distinct = generate_merchants(merchants)
    rng = random.Random(5)  # deterministic test data
    weights = [1 / (rank + 1) for rank in range(len(distinct))]  # a few merchants take most lines
    card_lines = [
        f"{m} {rng.randrange(10**6, 10**7)}X" if rng.random() < 0.33 else m
        for m in rng.choices(distinct, weights=weights, k=lines)
    ]
    products = load_catalog_products(SHIPPED_CATALOG)
    data = load_matching_data()
    matcher = Matcher(products, data)
    started = time.perf_counter()
    for text in distinct:
        matcher.match_descriptor(text)
    first_s = time.perf_counter() - started
    matcher = Matcher(products, data)
    started = time.perf_counter()
    for text in card_lines:
        matcher.match_descriptor(text)
    lines_s = time.perf_counter() - started
    return {
        "descriptor_match_per_s": round(lines / lines_s),
        "descriptor_first_match_per_s": round(len(distinct) / first_s),
        "knowledge_products": len(data.knowledge),
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:36} {value}")
