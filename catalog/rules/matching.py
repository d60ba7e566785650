"""Product recognition: what an employee typed, or a card statement printed → a catalog product,
a widely used SaaS product the catalog lacks, a non-SaaS merchant, a category and a channel.

Pure: no I/O. The catalog and the vocabulary (synonyms, SaaS knowledge, non-SaaS merchants,
category keywords) come in as arguments; `catalog.rules.matching_data` loads the shipped ones.

Order of evidence, strongest first:
1. an exact catalog name, id, alias or linked name anywhere in the text (longest phrase wins;
   linked: synonyms, former names, suite components, acronyms, typical card descriptors);
2. a typo of a catalog name, accepted only under rules strict enough that look-alike products
   (Notion/Motion, Asana/Asapa) are never taken for one another;
3. a widely used product that is not in the catalog (its category lets the bot offer the
   approved alternatives; discovery reports it as "not in catalog");
4. the vendor's name, when the vendor sells a single catalog product;
5. a non-SaaS merchant (airline, hotel, restaurant, ride-hailing…), or a category keyword.
A longer phrase that names something else wins over a catalog name inside it: "Dropbox Sign"
is not Dropbox, "Acrobat Reader" (free) is not Acrobat Pro, "Amazon Web Services" is not retail.
Anything weaker only yields candidates for "Did you mean …?".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

from catalog.rules.descriptors import MerchantHint, classify_mcc, looks_like_descriptor, parse_descriptor
from catalog.rules.matching_index import Entry, PhraseIndex, deletions, typo_accepted
from catalog.rules.matching_text import (
    BARRIER,
    DATE_PHRASE,
    MAX_QUERY_CHARS,
    STOPWORDS,
    Channel,
    normalize,
    split_channel,
)
from catalog.rules.matching_types import (
    CONFIDENT_AT,
    CatalogProduct,
    KnownProduct,
    MatchingData,
    MatchKind,
    MatchResult,
)
from catalog.rules.seats import extract_seats, invalid_seat_count

__all__ = [
    "CONFIDENT_AT",
    "MAX_CANDIDATES",
    "MAX_QUERY_CHARS",
    "CatalogProduct",
    "Channel",
    "KnownProduct",
    "MatchKind",
    "MatchResult",
    "Matcher",
    "MatchingData",
    "extract_seats",
    "invalid_seat_count",
    "normalize",
]

MAX_CANDIDATES = 5
DESCRIPTOR_CACHE_SIZE = 200_000

_MAX_PHRASE_TOKENS = 6
_MAX_FUZZY_TERMS = 120
_FUZZY_MAX_TOKENS = 3
_PREFIX_BUCKET_LIMIT = 400


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    products: frozenset[int]
    strength: float


@dataclass(frozen=True)
class _Outcome:
    product: int | None
    confidence: float
    candidates: tuple[int, ...]
    category: str | None
    known: KnownProduct | None = None
    non_saas: str | None = None


@dataclass(frozen=True)
class _Found:
    """Exact phrase hits of one text, each kind with its (start, end) span."""

    catalog: list[_Hit]
    vendor: list[_Hit]
    known: list[tuple[int, int, KnownProduct]]
    keyword: list[tuple[int, int, str]]
    non_saas: list[tuple[int, int, str]]


def _longest(hits: Sequence[tuple[int, int, object]]) -> object | None:
    return max(hits, key=lambda h: (h[1] - h[0], -h[0]))[2] if hits else None


def _longest_first(hits: list[_Hit]) -> list[_Hit]:
    """Greedy maximal non-overlapping hits, longest phrase first, then leftmost."""
    taken: list[_Hit] = []
    for hit in sorted(hits, key=lambda h: (h.start - h.end, h.start)):
        if all(hit.end <= t.start or hit.start >= t.end for t in taken):
            taken.append(hit)
    return sorted(taken, key=lambda h: h.start)


def _spans_within(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s <= start and end <= e and (e - s) > (end - start) for s, e in spans)


class Matcher:
    """Recognises products in free text and card descriptors. Build once per catalog; `match` and
    `match_descriptor` only read it (the descriptor cache aside, which holds finished results)."""

    def __init__(self, products: Sequence[CatalogProduct], data: MatchingData) -> None:
        self._index = PhraseIndex(products, data)
        self._products = self._index.products
        # Two caches: by the line's text (a card export repeats it), and by the merchant's words
        # (so "AMZN Mktp US*2K4L91" and "…*7Q1P0Z" share one match). Both hold finished results.
        self._line_cache: dict[tuple[str, str | int | None], MatchResult] = {}
        self._descriptor_cache: dict[tuple[str, MerchantHint | None], MatchResult] = {}

    # ----------------------------------------------------------------------- entry points

    def match(self, query: str) -> MatchResult:
        """What someone typed. Text that reads as a card descriptor (capitals and no lower case, or
        a processor's asterisk) is read as one."""
        if looks_like_descriptor(query[:MAX_QUERY_CHARS]):
            return self.match_descriptor(query)
        query = query[:MAX_QUERY_CHARS]
        channel, text = split_channel(normalize(query))
        outcome = self._resolve(DATE_PHRASE.sub(f" {BARRIER} ", text).split(), descriptor=False)
        return self._result(query, channel, outcome)

    def match_descriptor(self, descriptor: str, mcc: str | int | None = None) -> MatchResult:
        """A card-statement merchant text (`SQ *NOTION LABS`, `FIGMA INC 415-8907765 CA`), with the
        merchant category code when the export has one. Results are cached per merchant."""
        descriptor = descriptor[:MAX_QUERY_CHARS]
        line_key = (descriptor, mcc)
        seen = self._line_cache.get(line_key)
        if seen is not None:
            return seen
        parsed = parse_descriptor(descriptor)
        hint: MerchantHint | None = (classify_mcc(mcc) if mcc is not None else None) or parsed.hint
        cache_key = (parsed.name, hint)
        cached = self._descriptor_cache.get(cache_key)
        if cached is None:
            channel, text = split_channel(normalize(parsed.name))
            # Capitals typed in a request read as a descriptor too: "NEED FIGMA BY MONDAY".
            outcome = self._resolve(DATE_PHRASE.sub(f" {BARRIER} ", text).split(), descriptor=True, hint=hint)
            cached = self._result(descriptor, channel, outcome)
            if len(self._descriptor_cache) >= DESCRIPTOR_CACHE_SIZE:
                self._descriptor_cache.clear()
            self._descriptor_cache[cache_key] = cached
        result = cached if cached.query == descriptor else _with_query(cached, descriptor)
        if len(self._line_cache) >= DESCRIPTOR_CACHE_SIZE:
            self._line_cache.clear()
        self._line_cache[line_key] = result
        return result

    def _result(self, query: str, channel: Channel, outcome: _Outcome) -> MatchResult:
        product = self._products[outcome.product] if outcome.product is not None else None
        kind: MatchKind = (
            "catalog" if product else "known_saas" if outcome.known else "non_saas" if outcome.non_saas else "unknown"
        )
        return MatchResult(
            query=query,
            product_id=product.id if product else None,
            confidence=round(outcome.confidence, 3),
            candidates=tuple(dict.fromkeys(self._products[i].id for i in outcome.candidates))[:MAX_CANDIDATES],
            category=product.category if product else outcome.known.category if outcome.known else outcome.category,
            channel=channel,
            kind=kind,
            known=outcome.known if not product else None,
            non_saas=outcome.non_saas if kind == "non_saas" else None,
        )

    # ----------------------------------------------------------------------- resolution

    def _find(self, tokens: Sequence[str], descriptor: bool) -> tuple[_Found, list[tuple[int, int, str, str]]]:
        found = _Found([], [], [], [], [])
        phrases = list(self._phrases(tokens))
        for start, end, spaced, compact in phrases:
            entry: Entry | None = self._index.entries.get(spaced)
            strength = 1.0
            if entry is None and end - start > 1 and len(compact) >= 4:
                entry, strength = self._index.entries.get(compact), 0.95  # "git hub", "drop box"
            if entry is None:
                continue
            if entry.catalog:
                found.catalog.append(_Hit(start, end, entry.catalog, min(strength, entry.strength)))
            if entry.vendor:
                found.vendor.append(_Hit(start, end, entry.vendor, 0.85))
            known = (entry.generic or entry.known) if descriptor else entry.known
            if known:
                found.known.append((start, end, known))
            if entry.keyword:
                found.keyword.append((start, end, entry.keyword))
            if entry.non_saas:
                found.non_saas.append((start, end, entry.non_saas))
        # A longer phrase naming something else wins over a name inside it: "Dropbox Sign" ≠ Dropbox.
        other = [(s, e) for s, e, _ in (*found.known, *found.non_saas)]
        catalog = [h for h in found.catalog if not _spans_within(other, h.start, h.end)]
        # A vendor's name that is also a product's name names the product: "Dropbox" is not Dropbox Sign.
        vendor = [h for h in found.vendor if not any(s <= h.start and h.end <= e for s, e in other)]
        saas = [(h.start, h.end) for h in catalog] + [(s, e) for s, e, _ in found.known]
        non_saas = [h for h in found.non_saas if not _spans_within(saas, h[0], h[1])]
        merchant = [(s, e) for s, e, _ in non_saas]
        named = [h for h in found.known if not _spans_within(merchant, h[0], h[1])]
        return _Found(catalog, vendor, named, found.keyword, non_saas), phrases

    def _resolve(self, tokens: Sequence[str], *, descriptor: bool, hint: MerchantHint | None = None) -> _Outcome:
        found, phrases = self._find(tokens, descriptor)
        if descriptor and tokens and not found.non_saas and not _covers(found, len(tokens) - 1):
            completed = self._complete(tokens)
            if completed is not None:
                tokens = completed
                found, phrases = self._find(tokens, descriptor)
        keyword_category = _longest_category(found.keyword)
        merchant = _longest(found.non_saas)
        if descriptor and isinstance(merchant, str) and hint != "saas":
            # On a card statement a merchant word outside the product's name ("SQ *NOTION CAFE",
            # "BOX HILL INN") says what was bought; typed text may well mention a hotel.
            return _Outcome(None, 0.0, (), None, non_saas=merchant)
        if found.catalog:
            return self._decide(_longest_first(found.catalog), keyword_category)

        covered = {i for s, e, _ in (*found.known, *found.keyword, *found.non_saas) for i in range(s, e)}
        accepted, near = self._fuzzy(tokens, covered)
        near_first = sorted(near, key=lambda p: (near[p], p))
        if accepted:
            best = min(accepted.values())
            winners = sorted(p for p, d in accepted.items() if d == best)
            if len(winners) == 1:
                return _Outcome(winners[0], 0.9 if best == 1 else 0.85, (winners[0], *near_first), None)
            return _Outcome(None, 0.6, tuple(winners), keyword_category)

        # A product named outright says more than a vendor's name: "Bitbucket (Atlassian)".
        known = _longest(found.known)
        if isinstance(known, KnownProduct):
            return _Outcome(None, 0.0, (), known.category, known=known)
        if found.vendor:
            return self._decide(_longest_first(found.vendor), keyword_category)
        if isinstance(merchant, str) or (hint == "non_saas" and not near_first):
            return _Outcome(None, 0.0, (), None, non_saas=merchant if isinstance(merchant, str) else "merchant")

        partial = list(
            dict.fromkeys(p for _, _, spaced, _ in phrases for p in sorted(self._index.partial.get(spaced, ())))
        )
        candidates = (*partial, *near_first)
        if not candidates:
            return _Outcome(None, 0.0, (), keyword_category)
        close = bool(partial) or near[near_first[0]] <= 1
        return _Outcome(None, 0.6 if close else 0.5, candidates, keyword_category)

    def _complete(self, tokens: Sequence[str]) -> list[str] | None:
        """Card statements cut names short: the tokens with a truncated tail completed, if one key fits."""
        for i in range(len(tokens)):
            if tokens[i] == BARRIER or len(tokens[-1]) < 3:
                continue
            key = self._index.completion(" ".join(tokens[i:]))
            if key is not None:
                return [*tokens[:i], *key.split()]
        return None

    def _phrases(self, tokens: Sequence[str]) -> Iterator[tuple[int, int, str, str]]:
        for i, first in enumerate(tokens):
            if first == BARRIER:
                continue
            spaced = compact = first
            yield i, i + 1, spaced, compact
            for j in range(i + 1, min(len(tokens), i + _MAX_PHRASE_TOKENS)):
                if tokens[j] == BARRIER or (j - i > 1 and spaced not in self._index.continues):
                    break
                spaced, compact = f"{spaced} {tokens[j]}", compact + tokens[j]
                yield i, j + 1, spaced, compact

    def _decide(self, hits: list[_Hit], keyword_category: str | None) -> _Outcome:
        products = tuple(dict.fromkeys(p for h in hits for p in sorted(h.products)))
        if len(products) == 1:
            return _Outcome(products[0], min(h.strength for h in hits), products, None)
        # Two products named ("Jira and Confluence", "LastPass → 1Password"): ask which one.
        categories = {self._products[p].category for p in products}
        shared = next(iter(categories)) if len(categories) == 1 else keyword_category
        return _Outcome(None, 0.5, products, shared)

    def _fuzzy_terms(self, tokens: Sequence[str], covered: set[int]) -> Iterator[str]:
        seen: set[str] = set()
        for i in range(len(tokens)):
            for j in range(i + 1, min(len(tokens), i + _FUZZY_MAX_TOKENS) + 1):
                words = tokens[i:j]
                if words[-1] == BARRIER or covered.intersection(range(i, j)):
                    break
                # A key may contain a request word ("microsoft teams"): skip only all-stopword phrases.
                if all(w in STOPWORDS for w in words) or (j - i > 1 and self._index.anchors.isdisjoint(words)):
                    continue
                term = "".join(words)
                if len(term) >= 3 and not term.isdigit() and term not in seen:
                    seen.add(term)
                    yield term
                    if len(seen) >= _MAX_FUZZY_TERMS:
                        return

    def _fuzzy(self, tokens: Sequence[str], covered: set[int]) -> tuple[dict[int, int], dict[int, int]]:
        """Typo matches: (accepted product → distance, near-miss product → distance)."""
        index = self._index
        accepted: dict[int, int] = {}
        near: dict[int, int] = {}
        for term in self._fuzzy_terms(tokens, covered):
            pool = {i for probe in (term, *deletions(term)) for i in index.deletes.get(probe, ())}
            if len(term) >= 8:
                pool.update(index.prefixes.get(term[:3], ())[:_PREFIX_BUCKET_LIMIT])
            if not pool:
                continue
            order = list(pool)
            found = process.extract(
                term, [index.fuzzy_keys[i] for i in order], scorer=OSA.distance, score_cutoff=2, limit=None
            )
            if not found:
                continue
            best = min(int(d) for _, d, _ in found)
            # Equally close to a well-known product outside the catalog, by a typo as plausible: not ours.
            known_best = any(
                index.fuzzy_targets[order[i]][1] is not None and int(d) == best and typo_accepted(term, key, best)
                for key, d, i in found
            )
            for key, d, i in found:
                distance = int(d)
                for p in index.fuzzy_targets[order[i]][0]:
                    if distance == best and not known_best and typo_accepted(term, key, distance):
                        accepted[p] = min(distance, accepted.get(p, distance))
                    elif distance <= (1 if len(key) <= 6 else 2):
                        near[p] = min(distance, near.get(p, distance))
        for p in accepted:
            near.pop(p, None)
        return accepted, near


def _with_query(result: MatchResult, query: str) -> MatchResult:
    # dataclasses.replace costs more than the match it copies on a card export's hot path.
    r = result
    kind, known, non_saas = r.kind, r.known, r.non_saas
    return MatchResult(query, r.product_id, r.confidence, r.candidates, r.category, r.channel, kind, known, non_saas)


def _covers(found: _Found, position: int) -> bool:
    spans = [(h.start, h.end) for h in found.catalog] + [(s, e) for s, e, _ in (*found.known, *found.non_saas)]
    return any(s <= position < e for s, e in spans)


def _longest_category(hits: list[tuple[int, int, str]]) -> str | None:
    found = _longest(hits)
    return found if isinstance(found, str) else None
