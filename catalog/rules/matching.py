"""Product recognition: what an employee typed → a catalog product, a category and a channel.

Pure: no I/O. The catalog and the vocabulary (synonyms, well-known products, category
keywords) come in as arguments; `catalog.rules.matching_data` loads the shipped ones.

Order of evidence, strongest first:
1. an exact catalog name, id, alias or synonym anywhere in the text (longest phrase wins);
2. a typo of a catalog name, accepted only under rules strict enough that look-alike products
   (Notion/Motion, Asana/Asapa) are never taken for one another;
3. the vendor's name, when the vendor sells a single catalog product;
4. a well-known product that is not in the catalog (its category lets the bot offer the
   approved alternatives) or, failing that, a category keyword.
Anything weaker only yields candidates for "Did you mean …?".
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import process
from rapidfuzz.distance import OSA

Channel = Literal["direct", "aws_marketplace", "azure_marketplace", "gcp_marketplace"]

MAX_QUERY_CHARS = 500
MAX_CANDIDATES = 5
CONFIDENT_AT = 0.8
"""`product_id` is set exactly when `confidence >= CONFIDENT_AT`."""

_MAX_PHRASE_TOKENS = 6
_MAX_FUZZY_TERMS = 120
_FUZZY_MAX_TOKENS = 3
_PREFIX_BUCKET_LIMIT = 400
_BARRIER = "|"  # never produced by normalisation; phrases do not span it

# Words that never take part in fuzzy matching, vendor lookup or partial-name candidates:
# English function words plus the vocabulary of a purchase request.
_STOPWORDS = frozenset(
    """
    a an the and or but nor for to of in on at by with from via as is are was be been being can
    could would should will shall may might must do does did have has had i me my mine we us our
    you your they them their he she his her it its this that these those there here what which
    who whom how why when where if than then so not no yes just also too very really like about
    into onto over under up down out off again some any all each every other others another same
    such only own more most less much many few new old please pls plz thanks thank thx cheers hi
    hey hello team teams need needs want wants wanted get got getting buy buying purchase order
    request requesting requested add adding give access account accounts license licenses
    licence licences licensed seat seats user users subscription subscriptions plan plans tier
    tool tools app apps software service services people person folks member members someone
    anyone everyone somebody one two three four five six seven eight nine ten hire hires hired
    designer designers engineer engineers developer developers manager managers admin admins
    trial renew renewal renewals upgrade downgrade cancel month months monthly year years yearly
    annual week weeks day days today tomorrow pro business enterprise premium standard basic free
    paid cost costs price pricing budget invoice quote vendor product products marketplace
    instead alternative alternatives using use used work working start starting project projects
    """.split()
)

_FUNCTION_WORDS = frozenset("a an the and or of for to in on at by with from via".split())

_LEGAL_SUFFIXES = frozenset(
    "inc incorporated llc ltd limited corp corporation co company gmbh ag sa sas plc bv nv pty lp "
    "llp us oy ab as srl spa kk".split()
)

_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
# Edition words a catalog name may carry that people leave out: "IntelliJ IDEA Ultimate" → "intellij idea".
_EDITION_WORDS = frozenset(
    "pro professional ultimate enterprise business premium plus standard starter edition".split()
)


@dataclass(frozen=True)
class CatalogProduct:
    id: str
    name: str
    vendor: str
    category: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class MatchResult:
    query: str
    product_id: str | None
    confidence: float
    candidates: tuple[str, ...]
    category: str | None
    channel: Channel

    def to_json(self) -> dict[str, object]:
        return {
            "query": self.query,
            "product_id": self.product_id,
            "confidence": self.confidence,
            "candidates": list(self.candidates),
            "category": self.category,
            "channel": self.channel,
        }


@dataclass(frozen=True)
class MatchingData:
    synonyms: Mapping[str, str]
    known_products: Mapping[str, str]
    category_keywords: Mapping[str, str]


# --------------------------------------------------------------------------- text cleanup

_SLACK_LABELLED_LINK = re.compile(r"<((?:https?|mailto|ftp)[^|>]*)\|([^>]*)>")
_SLACK_LINK = re.compile(r"<((?:https?|ftp)://[^>|]*)>")
_SLACK_SPECIAL = re.compile(r"<[!@#][^>]*>")
_BARE_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>]+")
_URL_HOST = re.compile(r"[a-z]+://([^/:?#\s]+)")
_HTML_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|apos|nbsp|#\d+);")
_EMOJI_CODE = re.compile(r":[a-z0-9_+'-]+:")
_APOSTROPHE_S = re.compile(r"['’]s\b")
_APOSTROPHE = re.compile(r"['’`]")
_NON_WORD = re.compile(r"[\W_]+")


def _url_words(match: re.Match[str]) -> str:
    # A pasted pricing page still names the product: "https://www.figma.com/pricing" → "figma".
    label = match.group(2) if match.re is _SLACK_LABELLED_LINK else ""
    host = _URL_HOST.match(match.group(0) if match.re is _BARE_URL else match.group(1))
    if host is None:
        return f" {label} "
    parts = [p for p in host.group(1).split(".") if p and p != "www"]
    return f" {label} {' '.join(parts[:-1] if len(parts) > 1 else parts)} "


def normalize(text: str) -> str:
    """Lower-case words separated by single spaces; Slack markup, URLs, emoji and accents removed."""
    s = unicodedata.normalize("NFKC", text).casefold()
    s = _SLACK_LABELLED_LINK.sub(_url_words, s)
    s = _SLACK_LINK.sub(_url_words, s)
    s = _SLACK_SPECIAL.sub(" ", s)
    s = _BARE_URL.sub(_url_words, s)
    s = _HTML_ENTITY.sub(" ", s)
    s = _EMOJI_CODE.sub(" ", s)
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    s = _APOSTROPHE_S.sub("", s)
    s = _APOSTROPHE.sub("", s)
    return _NON_WORD.sub(" ", s).strip()


def _compact(key: str) -> str:
    return key.replace(" ", "")


def _vendor_core(vendor: str) -> str:
    """The vendor's name without legal suffixes: "Zoom Video Communications, Inc." → "zoom video communications"."""
    words = normalize(vendor).split()
    while words and words[-1] in _LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


# --------------------------------------------------------------------------- channel


def _channel_pattern(loose: str, strict: str) -> re.Pattern[str]:
    market = r"(?:marketplace|market place|mp)"
    via = r"(?:via|through|thru|using|from|on|in|with)"
    return re.compile(
        rf"(?:\b{via} (?:the )?)?\b(?:{loose}) {market}\b"
        rf"|\b{market} (?:on|in|of|from) (?:the )?(?:{loose})\b"
        rf"|\b(?:via|through|thru|using) (?:the )?(?:{strict})\b"
    )


_CHANNELS: tuple[tuple[Channel, re.Pattern[str]], ...] = (
    ("aws_marketplace", _channel_pattern(r"aws|amazon web services|amazon", r"aws|amazon web services")),
    (
        "azure_marketplace",
        _channel_pattern(
            r"microsoft azure|ms azure|azure|microsoft commercial|microsoft|msft|appsource",
            r"azure|microsoft azure|appsource",
        ),
    ),
    (
        "gcp_marketplace",
        _channel_pattern(r"google cloud platform|google cloud|gcp|google", r"gcp|google cloud platform|google cloud"),
    ),
)
# "need it by Monday" is a date, not Monday.com.
_DATE_PHRASE = re.compile(
    r"\b(?:by|on|until|till|til|before|after|next|this|last|from|every|since|due|starting|start|thru|through) "
    rf"(?:{_WEEKDAYS})s?\b(?! com\b)|\b(?:{_WEEKDAYS}) (?:morning|afternoon|evening|night|eod|cob)\b"
)


def _split_channel(text: str) -> tuple[Channel, str]:
    """The purchase channel named in `text`, and `text` with that phrase replaced by a barrier."""
    channel: Channel = "direct"
    first = len(text) + 1
    for name, pattern in _CHANNELS:
        found = pattern.search(text)
        if found is not None and found.start() < first:
            channel, first = name, found.start()
    for _, pattern in _CHANNELS:
        text = pattern.sub(f" {_BARRIER} ", text)
    return channel, text


# --------------------------------------------------------------------------- typo rules


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _typo_accepted(term: str, key: str, distance: int) -> bool:
    """Whether `term` may be taken for `key` without asking (distance = OSA, transposition = 1).

    Short names need an exact match; a changed first letter or a plain substitution in a
    five- or six-letter name is a different word as often as a typo (Motion, Asapa, Slick).
    """
    size = len(key)
    if size <= 4 or len(term) <= 4 or term[0] != key[0] or distance == 0:
        return False
    if size <= 6:
        substitution = len(term) == size and sum(a != b for a, b in zip(term, key, strict=True)) == 1
        return distance == 1 and not substitution
    if size <= 9:
        return distance == 1
    return distance <= 2 and len(term) >= 8


# --------------------------------------------------------------------------- seats

_SMALL_NUMBERS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i > 1}
_NUM = (
    r"(\d{1,6}(?!\w|[.,]\d)|(?:(?:a|one) hundred|hundred|a dozen|dozen|a couple(?: of)?|"
    rf"(?:{'|'.join(_TENS)})(?:[\s-]+(?:{'|'.join(list(_SMALL_NUMBERS)[1:10])}))?|"
    rf"{'|'.join(sorted(_SMALL_NUMBERS, key=len, reverse=True))})\b)"
)
_SEAT_NOUN = (
    r"(?:seats?|licen[cs]es?|users?|people|ppl|persons?|members?|accounts?|folks|employees|hires|"
    r"heads|devs|developers?|engineers?|designers?|editors?|agents?|admins?|hosts?|viewers?|"
    r"creators?|collaborators?|reps|analysts?|marketers?|contractors?|interns?|staff|colleagues|"
    r"teammates|pax)\b"
)
_NOT_BETWEEN = frozenset("day days week weeks month months year years hour hours minutes usd dollars".split())
# Not after a minus sign: "-3 seats" is not 3 seats (`invalid_seat_count` names it instead).
_SEATS_NUMBER_FIRST = re.compile(rf"(?<![\w$€£.,\-−–]){_NUM}\s*\+?\s*((?:[a-z][\w.-]*\s+){{0,2}}){_SEAT_NOUN}")
#: A seat count written with digits, valid or not: "-3 seats", "0 users", "250000 licences".
_SEAT_COUNT_WRITTEN = re.compile(
    rf"(?<![\w$€£.,])([-−–]\s?)?(\d{{1,12}})(?!\w|[.,]\d)\s*\+?\s*((?:[a-z][\w.-]*\s+){{0,2}}){_SEAT_NOUN}"
)
_SEATS_STRONG = (
    re.compile(rf"\b{_SEAT_NOUN}\s*(?:count|qty|quantity|needed)?\s*[:=x×]?\s*(\d{{1,6}})\b"),
    re.compile(r"\b(?:qty|quantity|headcount)\s*[:=]?\s*(\d{1,6})\b"),
    re.compile(rf"\b(?:team|group) of {_NUM}"),
    re.compile(r"(?<![\w.])[x×]\s?(\d{1,5})\b"),
    re.compile(r"(?<![\w.$€£])(\d{1,5})\s?[x×](?!\w)"),
)
_SEATS_WEAK = re.compile(rf"\bfor {_NUM}(?: of us| more)?\s*(?:$|[.,;:!?)])")
_PRODUCT_NUMBER_PREFIX = re.compile(r"(?:microsoft|office|ms|dynamics|windows)\s*$")


def _number_value(text: str) -> int:
    words = text.replace("-", " ").split()
    if words[0].isdigit():
        return int(words[0])
    fixed = {"hundred": 100, "dozen": 12, "couple": 2, "of": 2}  # "a couple of"
    if words[-1] in fixed:
        return fixed[words[-1]]
    return sum(_TENS.get(word, _SMALL_NUMBERS.get(word, 0)) for word in words)


def extract_seats(text: str) -> int | None:
    """Seat count asked for in `text` ("figma 2 seats", "for 5 people", "x4", "two seats"), or None."""
    s = _seat_text(text)
    found: list[tuple[int, int, int]] = []  # (rank, position, value); lower rank = stronger pattern
    for m in _SEATS_NUMBER_FIRST.finditer(s):
        between = m.group(2).split()
        if _NOT_BETWEEN.intersection(between) or _PRODUCT_NUMBER_PREFIX.search(s[: m.start()]):
            continue
        found.append((1 if between else 0, m.start(), _number_value(m.group(1))))
    for pattern in _SEATS_STRONG:
        found.extend((0, m.start(), _number_value(m.group(1))) for m in pattern.finditer(s))
    found.extend((2, m.start(), _number_value(m.group(1))) for m in _SEATS_WEAK.finditer(s))
    valid = sorted(f for f in found if 1 <= f[2] <= 100_000)
    return valid[0][2] if valid else None


def _seat_text(text: str) -> str:
    s = _SLACK_SPECIAL.sub(" ", unicodedata.normalize("NFKC", text[:MAX_QUERY_CHARS]).casefold())
    s = re.sub(r"[*_~`]", " ", s)
    return re.sub(r"\s+", " ", s)


def invalid_seat_count(text: str) -> str | None:
    """The seat count written in `text` that cannot be one ("-3", "0", "250000": seats are 1 to
    100,000), as written; None when the text gives a valid count or none at all. So the
    person is told, instead of a form quietly starting at some other number."""
    if extract_seats(text) is not None:
        return None
    for m in _SEAT_COUNT_WRITTEN.finditer(_seat_text(text)):
        if _NOT_BETWEEN.intersection(m.group(3).split()):
            continue
        negative, digits = m.group(1), m.group(2)
        if negative or not 1 <= int(digits) <= 100_000:
            return f"-{digits}" if negative else digits
    return None


# --------------------------------------------------------------------------- matcher


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    products: frozenset[int]
    strength: float


@dataclass(frozen=True, slots=True)
class _Entry:
    """Everything one phrase can mean."""

    catalog: frozenset[int]  # catalog products it names (names, ids, aliases, synonyms)
    strength: float  # 1.0 for the catalog's own names, less for shipped synonyms
    vendor: frozenset[int]  # catalog products of the vendor it names
    known: str | None  # category of a well-known product not in the catalog
    keyword: str | None  # category a keyword names


@dataclass(frozen=True)
class _Outcome:
    product: int | None
    confidence: float
    candidates: tuple[int, ...]
    category: str | None


def _longest_category(hits: list[tuple[int, int, str]]) -> str | None:
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
    """Recognises catalog products in free text. Build once per catalog; `match` is read-only."""

    def __init__(self, products: Sequence[CatalogProduct], data: MatchingData) -> None:
        self._products = tuple(products)
        exact: dict[str, set[int]] = defaultdict(set)
        for index, product in enumerate(self._products):
            for text in (product.name, product.id.replace("-", " ").replace("_", " "), *product.aliases):
                _add_key(exact, normalize(text), index)
        for index, product in enumerate(self._products):
            words = normalize(product.name).split()
            while len(words) > 1 and words[-1] in _EDITION_WORDS:
                words.pop()
            base = " ".join(words)
            if len(_compact(base)) >= 4 and base not in exact and _compact(base) not in exact:
                _add_key(exact, base, index)

        vendor_words = [set(_vendor_core(p.vendor).split()) for p in self._products]
        known: dict[str, str] = {}
        for name, category in data.known_products.items():
            key = normalize(name)
            if not key or key in exact:
                continue
            if (named := _vendor_prefixed(exact, vendor_words, key)) is not None:
                _add_key(exact, key, named)  # "Cisco Webex" is the catalog's Webex
            else:
                known.setdefault(key, category)
                known.setdefault(_compact(key), category)

        synonyms: dict[str, set[int]] = defaultdict(set)
        for alias, canonical in data.synonyms.items():
            alias_key, canonical_key = normalize(alias), normalize(canonical)
            if not alias_key or alias_key in exact:
                continue  # the catalog's own names win over shipped vocabulary
            target = exact.get(canonical_key) or exact.get(_compact(canonical_key))
            if target:
                _add_key(synonyms, alias_key, *target)
            elif canonical_key in known and alias_key not in known:
                known[alias_key] = known[_compact(alias_key)] = known[canonical_key]

        vendors: dict[str, set[int]] = defaultdict(set)
        for index, product in enumerate(self._products):
            core = _vendor_core(product.vendor)
            if len(core) >= 3 and core not in _STOPWORDS:
                _add_key(vendors, core, index)

        keywords: dict[str, str] = {}
        for word, category in data.category_keywords.items():
            key = normalize(word)
            if key:
                keywords.setdefault(key, category)
                keywords.setdefault(_compact(key), category)

        self._index = {
            key: _Entry(
                catalog=frozenset(exact.get(key) or synonyms.get(key) or ()),
                strength=1.0 if key in exact else 0.95,
                vendor=frozenset(vendors.get(key, ())),
                known=known.get(key),
                keyword=keywords.get(key),
            )
            for key in {*exact, *synonyms, *vendors, *known, *keywords}
        }
        self._build_partial_index()
        # Phrases of three or more words are only followed while they start some key.
        self._continues = frozenset(
            " ".join(words[:n])
            for key in (*self._index, *self._partial)
            if key.count(" ") >= 2
            for words in [key.split()]
            for n in range(2, len(words))
        )
        self._build_fuzzy_index(exact, known)

    def _build_fuzzy_index(self, exact: Mapping[str, set[int]], known: Mapping[str, str]) -> None:
        # Deletion neighbourhoods (SymSpell): a term and a key within one edit share a probe, so the
        # candidates come from dictionary lookups; rapidfuzz then scores only those.
        keys: dict[str, tuple[frozenset[int], str | None]] = {}
        for key, products in exact.items():
            keys.setdefault(_compact(key), (frozenset(products), None))
        for key, category in known.items():
            keys.setdefault(_compact(key), (frozenset(), category))
        self._fuzzy_keys = [k for k in keys if len(k) >= 3]
        self._fuzzy_targets = [keys[k] for k in self._fuzzy_keys]
        deletes: dict[str, list[int]] = defaultdict(list)
        prefixes: dict[str, list[int]] = defaultdict(list)
        for i, key in enumerate(self._fuzzy_keys):
            for probe in {key, *_deletions(key)}:
                deletes[probe].append(i)
            if len(key) >= 10:
                prefixes[key[:3]].append(i)  # two edits apart: same first three letters
        self._deletes = dict(deletes)
        self._prefixes = dict(prefixes)
        # A multi-word phrase is only worth a fuzzy look if one word is spelled as in some name.
        self._anchors = frozenset(
            w for key in (*exact, *known) if " " in key for w in key.split() if w not in _FUNCTION_WORDS
        )

    def _build_partial_index(self) -> None:
        # One distinctive word of a longer name ("adobe", "copilot") is worth a question, not a match.
        partial: dict[str, set[int]] = defaultdict(set)
        for index, product in enumerate(self._products):
            for text in (product.name, *product.aliases):
                words = normalize(text).split()
                for n in range(1, len(words)):
                    for i in range(len(words) - n + 1):
                        part = words[i : i + n]
                        if n > 1 or (part[0] not in _STOPWORDS and len(part[0]) >= 3 and not part[0].isdigit()):
                            partial[" ".join(part)].add(index)
        self._partial = {k: frozenset(v) for k, v in partial.items() if len(v) <= MAX_CANDIDATES}

    # ----------------------------------------------------------------------- matching

    def match(self, query: str) -> MatchResult:
        query = query[:MAX_QUERY_CHARS]
        channel, text = _split_channel(normalize(query))
        outcome = self._resolve(_DATE_PHRASE.sub(f" {_BARRIER} ", text).split())
        product = self._products[outcome.product] if outcome.product is not None else None
        return MatchResult(
            query=query,
            product_id=product.id if product else None,
            confidence=round(outcome.confidence, 3),
            candidates=tuple(dict.fromkeys(self._products[i].id for i in outcome.candidates))[:MAX_CANDIDATES],
            category=product.category if product else outcome.category,
            channel=channel,
        )

    def _resolve(self, tokens: Sequence[str]) -> _Outcome:
        catalog_hits: list[_Hit] = []
        vendor_hits: list[_Hit] = []
        known_hits: list[tuple[int, int, str]] = []
        keyword_hits: list[tuple[int, int, str]] = []
        phrases = list(self._phrases(tokens))
        for start, end, spaced, compact in phrases:
            entry = self._index.get(spaced)
            strength = 1.0
            if entry is None and end - start > 1 and len(compact) >= 4:
                entry, strength = self._index.get(compact), 0.95  # "git hub", "drop box"
            if entry is None:
                continue
            if entry.catalog:
                catalog_hits.append(_Hit(start, end, entry.catalog, min(strength, entry.strength)))
            if entry.vendor:
                vendor_hits.append(_Hit(start, end, entry.vendor, 0.85))
            if entry.known:
                known_hits.append((start, end, entry.known))
            if entry.keyword:
                keyword_hits.append((start, end, entry.keyword))

        # A longer well-known name around a catalog name is another product: "Dropbox Sign" ≠ Dropbox.
        known_spans = [(s, e) for s, e, _ in known_hits]
        catalog_hits = [h for h in catalog_hits if not _spans_within(known_spans, h.start, h.end)]
        vendor_hits = [h for h in vendor_hits if not _spans_within(known_spans, h.start, h.end)]
        keyword_category = _longest_category(keyword_hits)
        if catalog_hits:
            return self._decide(_longest_first(catalog_hits), keyword_category)

        covered = {i for s, e, _ in (*known_hits, *keyword_hits) for i in range(s, e)}
        accepted, near = self._fuzzy(tokens, covered)
        near_first = sorted(near, key=lambda p: (near[p], p))
        if accepted:
            best = min(accepted.values())
            winners = sorted(p for p, d in accepted.items() if d == best)
            if len(winners) == 1:
                return _Outcome(winners[0], 0.9 if best == 1 else 0.85, (winners[0], *near_first), None)
            return _Outcome(None, 0.6, tuple(winners), keyword_category)

        if vendor_hits:
            return self._decide(_longest_first(vendor_hits), keyword_category)
        if known_hits:
            return _Outcome(None, 0.0, (), _longest_category(known_hits))

        partial = list(dict.fromkeys(p for _, _, spaced, _ in phrases for p in sorted(self._partial.get(spaced, ()))))
        candidates = (*partial, *near_first)
        if not candidates:
            return _Outcome(None, 0.0, (), keyword_category)
        close = bool(partial) or near[near_first[0]] <= 1
        return _Outcome(None, 0.6 if close else 0.5, candidates, keyword_category)

    def _phrases(self, tokens: Sequence[str]) -> Iterator[tuple[int, int, str, str]]:
        for i, first in enumerate(tokens):
            if first == _BARRIER:
                continue
            spaced = compact = first
            yield i, i + 1, spaced, compact
            for j in range(i + 1, min(len(tokens), i + _MAX_PHRASE_TOKENS)):
                if tokens[j] == _BARRIER or (j - i > 1 and spaced not in self._continues):
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
                if words[-1] == _BARRIER or covered.intersection(range(i, j)):
                    break
                # A key may contain a request word ("microsoft teams"): skip only all-stopword phrases.
                if all(w in _STOPWORDS for w in words) or (j - i > 1 and self._anchors.isdisjoint(words)):
                    continue
                term = "".join(words)
                if len(term) >= 3 and not term.isdigit() and term not in seen:
                    seen.add(term)
                    yield term
                    if len(seen) >= _MAX_FUZZY_TERMS:
                        return

    def _fuzzy(self, tokens: Sequence[str], covered: set[int]) -> tuple[dict[int, int], dict[int, int]]:
        """Typo matches: (accepted product → distance, near-miss product → distance)."""
        accepted: dict[int, int] = {}
        near: dict[int, int] = {}
        for term in self._fuzzy_terms(tokens, covered):
            pool = {i for probe in (term, *_deletions(term)) for i in self._deletes.get(probe, ())}
            if len(term) >= 8:
                pool.update(self._prefixes.get(term[:3], ())[:_PREFIX_BUCKET_LIMIT])
            if not pool:
                continue
            order = list(pool)
            found = process.extract(
                term, [self._fuzzy_keys[i] for i in order], scorer=OSA.distance, score_cutoff=2, limit=None
            )
            if not found:
                continue
            best = min(int(d) for _, d, _ in found)
            # Equally close to a well-known product outside the catalog: not ours to guess.
            known_best = any(self._fuzzy_targets[order[i]][1] is not None and int(d) == best for _, d, i in found)
            for key, d, i in found:
                distance = int(d)
                for p in self._fuzzy_targets[order[i]][0]:
                    if distance == best and not known_best and _typo_accepted(term, key, distance):
                        accepted[p] = min(distance, accepted.get(p, distance))
                    elif distance <= (1 if len(key) <= 6 else 2):
                        near[p] = min(distance, near.get(p, distance))
        for p in accepted:
            near.pop(p, None)
        return accepted, near


def _add_key(index: dict[str, set[int]], key: str, *products: int) -> None:
    if key:
        index[key].update(products)
        if len(_compact(key)) >= 4:
            index[_compact(key)].update(products)


def _vendor_prefixed(exact: Mapping[str, set[int]], vendor_words: Sequence[set[str]], key: str) -> int | None:
    """The catalog product that `key` names with its vendor's words around it ("cisco webex"), if any."""
    words = key.split()
    for n in range(len(words) - 1, 0, -1):
        for i in range(len(words) - n + 1):
            products = exact.get(" ".join(words[i : i + n]), set())
            rest = set(words[:i] + words[i + n :])
            if len(products) == 1 and rest <= vendor_words[next(iter(products))]:
                return next(iter(products))
    return None
