"""The phrase index product recognition looks words up in, and the typo rules.

Built once per catalog from the catalog and the shipped vocabulary (synonyms, SaaS knowledge,
non-SaaS merchants, category keywords). Pure: no I/O.

Precedence when two sources name the same phrase: the catalog's own names, then what links to a
catalog product (synonyms, a knowledge entry's other names, suite components, acronyms), then
the knowledge file's products that the catalog lacks.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from catalog.rules.descriptors import normalise_descriptor
from catalog.rules.matching_text import (
    EDITION_WORDS,
    FUNCTION_WORDS,
    STOPWORDS,
    compact,
    normalize,
    vendor_core,
)
from catalog.rules.matching_types import CatalogProduct, KnownProduct, MatchingData

# Initials that are everyday words or abbreviations of something else.
_NOT_ACRONYMS = frozenset(
    """
    acc app api ask bot can cat dog ops pro run set get use sql ssh faq eta fyi asap etc mvp poc kpi
    okr roi erp cto ceo cfo coo sla sow nda msa inv pdf csv xls doc ppt dev prd stg abe fap sos wtf
    omg lol tbd tba eod cob ooo pto wfh irl aka diy cms cdn dns vpn sso mfa ide ats lms bi ai ml
    """.split()
)


@dataclass(frozen=True, slots=True)
class Entry:
    """Everything one phrase can mean."""

    catalog: frozenset[int]  # catalog products it names (names, ids, aliases, synonyms)
    strength: float  # 1.0 for the catalog's own names, less for linked vocabulary
    vendor: frozenset[int]  # catalog products of the vendor it names
    known: KnownProduct | None  # a widely used product the catalog lacks
    generic: KnownProduct | None  # same, but the phrase is an everyday word: card statements only
    keyword: str | None  # category a keyword names
    non_saas: str | None  # kind of non-SaaS merchant


def add_key(index: dict[str, set[int]], key: str, *products: int) -> None:
    if key:
        index[key].update(products)
        if len(compact(key)) >= 4:
            index[compact(key)].update(products)


def acronym(name: str) -> str | None:
    """Initials of a name of several words, numbers kept whole: "Jira Service Management" → "jsm",
    "Microsoft 365" → "m365". None when too short or an everyday word."""
    words = [w for w in normalize(name).split() if w not in FUNCTION_WORDS]
    if len(words) < 2:
        return None
    initials = "".join(w if w.isdigit() else w[0] for w in words)
    has_number = any(w.isdigit() for w in words)
    if len(initials) < 3 or (len(words) < 3 and not has_number) or initials.isdigit():
        return None
    return None if initials in _NOT_ACRONYMS or initials in STOPWORDS else initials


def vendor_prefixed(exact: Mapping[str, set[int]], vendor_words: Sequence[set[str]], key: str) -> int | None:
    """The catalog product that `key` names with its vendor's words around it ("cisco webex"), if any."""
    words = key.split()
    for n in range(len(words), 0, -1):
        for i in range(len(words) - n + 1):
            products = exact.get(" ".join(words[i : i + n]), set())
            rest = set(words[:i] + words[i + n :])
            if len(products) == 1 and rest <= vendor_words[next(iter(products))]:
                return next(iter(products))
    return None


_PRODUCT_WORDS = frozenset("cloud platform suite app online software hub".split())


def _short_names(name: str) -> Iterable[str]:
    """What people leave off a catalog name: the edition ("IntelliJ IDEA Ultimate" → "intellij
    idea"), a generic last word while two words remain ("Nimbus Analytics Cloud" → "nimbus
    analytics") and the audience ("Canva for Teams" → "canva")."""
    words = normalize(name).split()
    while len(words) > 1 and words[-1] in EDITION_WORDS:
        words.pop()
    yield " ".join(words)
    while True:
        if len(words) > 2 and words[-2] == "for":
            words = words[:-2]
        elif len(words) > 2 and words[-1] in _PRODUCT_WORDS:
            words = words[:-1]
        else:
            return
        yield " ".join(words)


def _knowledge_names(product: KnownProduct) -> Iterable[str]:
    """The phrases that name a knowledge product, strongest first."""
    yield normalize(product.name)
    for text in (*product.aliases, *product.former_names):
        yield normalize(text)
    for text in product.descriptors:
        yield normalize(normalise_descriptor(text))
    vendor = vendor_core(product.vendor).split()
    if vendor and len(vendor[0]) >= 3 and vendor[0] not in STOPWORDS:
        for text in (product.name, *product.aliases):
            key = normalize(text)
            if key and not key.startswith(vendor[0]):
                yield f"{vendor[0]} {key}"  # "Vendor Product": "atlassian opsgenie"


def _free_siblings(product: KnownProduct) -> Iterable[KnownProduct]:
    for name in product.free_siblings:
        yield KnownProduct(name, product.vendor, product.category, free=True, sibling_of=product.name)


@dataclass
class _Vocabulary:
    """What the index is built from, phrase → meaning, in order of precedence."""

    exact: dict[str, set[int]]  # the catalog's own names
    linked: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))  # names a catalog product
    known: dict[str, KnownProduct] = field(default_factory=dict)  # products the catalog lacks
    generic: dict[str, KnownProduct] = field(default_factory=dict)  # same, everyday words


class PhraseIndex:
    """Phrase → `Entry`, plus what the matcher needs for partial names and typos."""

    def __init__(self, products: Sequence[CatalogProduct], data: MatchingData) -> None:
        self.products = tuple(products)
        exact: dict[str, set[int]] = defaultdict(set)
        for index, product in enumerate(self.products):
            for text in (product.name, product.id.replace("-", " ").replace("_", " "), *product.aliases):
                add_key(exact, normalize(text), index)
        for index, product in enumerate(self.products):
            for base in _short_names(product.name):
                if len(compact(base)) >= 4 and base not in exact and compact(base) not in exact:
                    add_key(exact, base, index)

        self._vendor_words = [set(vendor_core(p.vendor).split()) for p in self.products]
        vocabulary = _Vocabulary(exact)
        # The knowledge file first, then synonyms.yaml's older name → category list.
        legacy = [KnownProduct(name, "", category) for name, category in data.known_products.items()]
        for entries in (data.knowledge, legacy):
            self._add_known(vocabulary, entries)
        self._add_synonyms(vocabulary, data.synonyms)
        self._add_acronyms(vocabulary, data.knowledge)
        linked, known, generic = vocabulary.linked, vocabulary.known, vocabulary.generic

        vendors: dict[str, set[int]] = defaultdict(set)
        for index, product in enumerate(self.products):
            core = vendor_core(product.vendor)
            if len(core) >= 3 and core not in STOPWORDS:
                add_key(vendors, core, index)
        keywords = _phrase_map(data.category_keywords)
        non_saas = _phrase_map(data.non_saas)

        self.entries = {
            key: Entry(
                catalog=frozenset(exact.get(key) or linked.get(key) or ()),
                strength=1.0 if key in exact else 0.95,
                vendor=frozenset(vendors.get(key, ())),
                known=known.get(key),
                generic=generic.get(key),
                keyword=keywords.get(key),
                non_saas=non_saas.get(key),
            )
            for key in {*exact, *linked, *vendors, *known, *generic, *keywords, *non_saas}
        }
        self.sorted_keys = sorted(k for k in self.entries if len(k) >= 4)
        self._build_partial_index()
        # Phrases of three or more words are only followed while they start some key.
        self.continues = frozenset(
            " ".join(words[:n])
            for key in (*self.entries, *self.partial)
            if key.count(" ") >= 2
            for words in [key.split()]
            for n in range(2, len(words))
        )
        self._build_fuzzy_index(exact, known)

    # ----------------------------------------------------------------------- vocabulary

    def _link(self, exact: Mapping[str, set[int]], key: str) -> int | None:
        products = exact.get(key) or exact.get(compact(key))
        if products:
            return next(iter(products)) if len(products) == 1 else None
        return vendor_prefixed(exact, self._vendor_words, key)

    def _add_known(self, vocabulary: _Vocabulary, entries: Sequence[KnownProduct]) -> None:
        exact, linked, known, generic = vocabulary.exact, vocabulary.linked, vocabulary.known, vocabulary.generic
        # A product's own names first, then aliases and the rest: no alias takes another's name.
        plans: list[tuple[KnownProduct, list[str], int | None]] = []
        by_component: dict[str, int] = {}  # suite component → the one catalog product it is
        for product in entries:
            names = [k for k in dict.fromkeys(_knowledge_names(product)) if k]
            own = [normalize(t) for t in (product.name, *product.aliases, *product.former_names)]
            target = next((p for k in own if k and (p := self._link(exact, k)) is not None), None)
            if target is None:
                target = self._component_link(exact, product, by_component)
            plans.append((product, names, target))
        for rank in range(max((len(n) for _, n, _ in plans), default=0)):
            for product, names, target in plans:
                if rank >= len(names) or names[rank] in exact:
                    continue
                key = names[rank]
                if target is not None:
                    add_key(linked, key, target)
                elif product.generic and rank == 0 and " " not in key:
                    generic.setdefault(key, product)
                else:
                    known.setdefault(key, product)
                    known.setdefault(compact(key), product)
        for product, _, target in plans:
            for component in product.suite:
                key = normalize(component)
                if not key or key in exact:
                    continue
                if by_component.get(key, target) != target:  # a sibling hub of the catalog's one
                    known.setdefault(key, product)
                elif target is not None:  # "Excel" is the catalog's Microsoft 365
                    add_key(linked, key, target)
                else:
                    known.setdefault(key, product)
            # A free sibling's name is its own even where it was another product's alias; its
            # vendor-prefixed form ("adobe acrobat reader") only where no sibling is named so.
            siblings = list(_free_siblings(product))
            vendor = vendor_core(product.vendor).split()
            for prefixed in (False, True):
                for sibling in siblings:
                    form = normalize(sibling.name)
                    if prefixed:
                        if not vendor or form.startswith(vendor[0]) or f"{vendor[0]} {form}" in known:
                            continue
                        form = f"{vendor[0]} {form}"
                    if form and form not in exact and form not in linked:
                        known[form] = known[compact(form)] = sibling

    def _component_link(
        self, exact: Mapping[str, set[int]], product: KnownProduct, found: dict[str, int]
    ) -> int | None:
        """The catalog product that is one of `product`'s suite components, when the product is
        named after its vendor (a platform sold as separate products: HubSpot's hubs). The brand
        then names the catalog's component ("HUBSPOT INC" is the catalog's Marketing Hub), while
        a sibling component stays a product the catalog lacks (docs/decisions.md, 53)."""
        if normalize(product.name) != vendor_core(product.vendor):
            return None
        linked = {normalize(c): p for c in product.suite if (p := self._link(exact, normalize(c))) is not None}
        if len(set(linked.values())) != 1:
            return None
        for key in (normalize(c) for c in product.suite):
            found[key] = linked.get(key, -1)
        return next(iter(linked.values()))

    @staticmethod
    def _add_synonyms(vocabulary: _Vocabulary, synonyms: Mapping[str, str]) -> None:
        exact, linked, known = vocabulary.exact, vocabulary.linked, vocabulary.known
        for alias, canonical in synonyms.items():
            alias_key, canonical_key = normalize(alias), normalize(canonical)
            if not alias_key or alias_key in exact:
                continue  # the catalog's own names win over shipped vocabulary
            target = exact.get(canonical_key) or exact.get(compact(canonical_key))
            if target:
                add_key(linked, alias_key, *target)
            elif canonical_key in known and alias_key not in known:
                known[alias_key] = known[compact(alias_key)] = known[canonical_key]

    def _add_acronyms(self, vocabulary: _Vocabulary, knowledge: Sequence[KnownProduct]) -> None:
        exact, linked, known = vocabulary.exact, vocabulary.linked, vocabulary.known
        found: dict[str, set[int | KnownProduct]] = defaultdict(set)
        for index, product in enumerate(self.products):
            if (initials := acronym(product.name)) is not None:
                found[initials].add(index)
        for entry in knowledge:
            if (initials := acronym(entry.name)) is not None:
                found[initials].add(entry)
        taken = {*exact, *linked, *known}
        for initials, owners in found.items():
            if len(owners) != 1 or initials in taken:
                continue  # two products share the initials: neither gets them
            owner = next(iter(owners))
            if isinstance(owner, int):
                linked[initials].add(owner)
            else:
                known[initials] = owner

    # ----------------------------------------------------------------------- partial names, typos

    def _build_partial_index(self) -> None:
        # One distinctive word of a longer name ("adobe", "copilot") is worth a question, not a match.
        partial: dict[str, set[int]] = defaultdict(set)
        for index, product in enumerate(self.products):
            for text in (product.name, *product.aliases):
                words = normalize(text).split()
                for n in range(1, len(words)):
                    for i in range(len(words) - n + 1):
                        part = words[i : i + n]
                        if n > 1 or (part[0] not in STOPWORDS and len(part[0]) >= 3 and not part[0].isdigit()):
                            partial[" ".join(part)].add(index)
        self.partial = {k: frozenset(v) for k, v in partial.items() if len(v) <= 5}

    def _build_fuzzy_index(self, exact: Mapping[str, set[int]], known: Mapping[str, KnownProduct]) -> None:
        # Deletion neighbourhoods (SymSpell): a term and a key within one edit share a probe, so the
        # candidates come from dictionary lookups; rapidfuzz then scores only those.
        keys: dict[str, tuple[frozenset[int], KnownProduct | None]] = {}
        for key, products in exact.items():
            keys.setdefault(compact(key), (frozenset(products), None))
        for key, product in known.items():
            keys.setdefault(compact(key), (frozenset(), product))
        self.fuzzy_keys = [k for k in keys if len(k) >= 3]
        self.fuzzy_targets = [keys[k] for k in self.fuzzy_keys]
        deletes: dict[str, list[int]] = defaultdict(list)
        prefixes: dict[str, list[int]] = defaultdict(list)
        for i, key in enumerate(self.fuzzy_keys):
            for probe in {key, *deletions(key)}:
                deletes[probe].append(i)
            if len(key) >= 10:
                prefixes[key[:3]].append(i)  # two edits apart: same first three letters
        self.deletes = dict(deletes)
        self.prefixes = dict(prefixes)
        # A multi-word phrase is only worth a fuzzy look if one word is spelled as in some name.
        self.anchors = frozenset(
            w for key in (*exact, *known) if " " in key for w in key.split() if w not in FUNCTION_WORDS
        )

    def completion(self, prefix: str) -> str | None:
        """The one key a truncated phrase starts ("linkedin sales nav" → "linkedin sales navigator"),
        as card statements cut names short; None when none or several products fit. A single word
        must keep three quarters of the name ("express" is not ExpressVPN cut short)."""
        if len(prefix) < 5:
            return None
        share = 0.6 if " " in prefix else 0.75
        found: list[str] = []
        for key in self.sorted_keys[bisect_left(self.sorted_keys, prefix) :]:
            if not key.startswith(prefix):
                break
            if len(prefix) >= share * len(key) and key != prefix:
                found.append(key)
        meanings = {(self.entries[k].catalog, self.entries[k].known) for k in found}
        if len(meanings) != 1 or not any(next(iter(meanings))):
            return None
        return min(found, key=len)


def _phrase_map(raw: Mapping[str, str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for word, value in raw.items():
        key = normalize(word)
        if key:
            result.setdefault(key, value)
            result.setdefault(compact(key), value)
    return result


def deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _swapped_or_doubled(term: str, key: str) -> bool:
    """An adjacent transposition after the first letter ("jria"), or one letter doubled ("zooom", "mirro")."""
    if len(term) == len(key):
        diff = [i for i, (a, b) in enumerate(zip(term, key, strict=True)) if a != b]
        return len(diff) == 2 and diff[1] == diff[0] + 1 and diff[0] > 0 and term[diff[0]] == key[diff[1]]
    if len(term) == len(key) + 1:
        return any(term[i] == term[i - 1] and term[:i] + term[i + 1 :] == key for i in range(1, len(term)))
    return False


def typo_accepted(term: str, key: str, distance: int) -> bool:
    """Whether `term` may be taken for `key` without asking (distance = OSA, transposition = 1).

    Four- and five-letter names accept only a swapped pair or a doubled letter ("Jria", "Zooom");
    a changed first letter or a plain substitution in a short name is a different word as often
    as a typo (Motion, Asapa, Slick), and so is a dropped letter (Slak, Zom).
    """
    size = len(key)
    if distance == 0 or term[0] != key[0] or size < 4:
        return False
    if size <= 5 or len(term) <= 4:
        return _swapped_or_doubled(term, key)
    if size <= 6:
        substitution = len(term) == size and sum(a != b for a, b in zip(term, key, strict=True)) == 1
        return distance == 1 and not substitution
    if size <= 9:
        return distance == 1
    # Two letters changed in place is another word as often as a typo: conference / confluence.
    two_substitutions = len(term) == size and sum(a != b for a, b in zip(term, key, strict=True)) == 2
    return distance <= 2 and len(term) >= 8 and not (distance == 2 and two_substitutions)
