"""Loading what `catalog.rules.matching` works on: catalog products and the shipped vocabulary
(synonyms.yaml, saas_knowledge.yaml, non_saas.yaml).

The matcher stays pure; this module is the only place that reads files for it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

import yaml

from catalog.rules.matching_types import CatalogProduct, KnownProduct, MatchingData

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
SHIPPED_SYNONYMS = DATA_DIR / "synonyms.yaml"
SHIPPED_CATALOG = DATA_DIR / "catalog.yaml"
SHIPPED_KNOWLEDGE = DATA_DIR / "saas_knowledge.yaml"
SHIPPED_NON_SAAS = DATA_DIR / "non_saas.yaml"
_KNOWLEDGE_LISTS = ("aliases", "former", "suite", "descriptors", "free")
_KNOWLEDGE_FIELDS = frozenset({"name", "vendor", "category", "generic", *_KNOWLEDGE_LISTS})
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CATEGORY_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SECTIONS = ("synonyms", "known_products", "category_keywords")


def _read_yaml(path: Path) -> object:
    with path.open(encoding="utf-8") as stream:
        return yaml.load(stream, Loader=_SafeLoader)  # noqa: S506 - a safe loader, in C when built


def _string_map(raw: object, section: str, *, slugs: bool) -> Mapping[str, str]:
    if raw is None:
        return MappingProxyType({})
    if not isinstance(raw, dict):
        raise ValueError(f"{section}: expected a mapping, got {type(raw).__name__}")
    result: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(key, str | int) or not isinstance(value, str | int) or not str(key).strip():
            raise ValueError(f"{section}: {key!r}: {value!r} is not a text → text entry")
        if slugs and not _CATEGORY_SLUG.match(str(value)):
            raise ValueError(f"{section}: {key!r}: {value!r} is not a category slug (lower-case-with-dashes)")
        result[str(key)] = str(value)
    return MappingProxyType(result)


def load_matching_data(path: Path | None = None) -> MatchingData:
    """Synonyms, well-known products and category keywords (default: `catalog/data/synonyms.yaml`)
    with the shipped SaaS knowledge and non-SaaS merchants. The shipped files are read once per
    process (parsing them takes ~150 ms, which a bot that rebuilds its matcher every minute would
    otherwise spend each time)."""
    return _shipped_matching_data() if path is None else _read_matching_data(path)


@functools.cache
def _shipped_matching_data() -> MatchingData:
    return _read_matching_data(SHIPPED_SYNONYMS)


@functools.cache
def _shipped_extras() -> tuple[tuple[KnownProduct, ...], Mapping[str, str]]:
    return load_saas_knowledge(SHIPPED_KNOWLEDGE), load_non_saas(SHIPPED_NON_SAAS)


def load_saas_knowledge(path: Path) -> tuple[KnownProduct, ...]:
    """The products of a knowledge file (format: the header of `catalog/data/saas_knowledge.yaml`)."""
    raw = _read_yaml(path)
    entries = raw.get("products") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a mapping with a `products` list")
    products: list[KnownProduct] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        where = f"{path}: product {position} ({entry.get('name') if isinstance(entry, dict) else entry!r})"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str | int):
            raise ValueError(f"{where}: expected a mapping with a name")
        unknown = set(entry) - _KNOWLEDGE_FIELDS
        if unknown:
            raise ValueError(f"{where}: unknown fields {sorted(unknown)}")
        category = entry.get("category")
        if not isinstance(category, str) or not _CATEGORY_SLUG.match(category):
            raise ValueError(f"{where}: category {category!r} is not a slug (lower-case-with-dashes)")
        lists = {field: entry.get(field) or [] for field in _KNOWLEDGE_LISTS}
        for field, values in lists.items():
            if not isinstance(values, list) or not all(isinstance(v, str | int) for v in values):
                raise ValueError(f"{where}: {field} must be a list of text")
        name = str(entry["name"])
        if name.casefold() in seen:
            raise ValueError(f"{where}: duplicate name")
        seen.add(name.casefold())
        products.append(
            KnownProduct(
                name=name,
                vendor=str(entry.get("vendor") or name),
                category=category,
                aliases=tuple(str(v) for v in lists["aliases"]),
                former_names=tuple(str(v) for v in lists["former"]),
                suite=tuple(str(v) for v in lists["suite"]),
                descriptors=tuple(str(v) for v in lists["descriptors"]),
                free_siblings=tuple(str(v) for v in lists["free"]),
                generic=bool(entry.get("generic", False)),
            )
        )
    return tuple(products)


def load_non_saas(path: Path) -> Mapping[str, str]:
    """Non-SaaS merchant phrases → kind of merchant, from `merchants` and `words` in `path`."""
    raw = _read_yaml(path)
    if not isinstance(raw, dict) or set(raw) - {"merchants", "words"}:
        raise ValueError(f"{path}: expected a mapping with `merchants` and `words`")
    result: dict[str, str] = {}
    for section in ("merchants", "words"):
        kinds = raw.get(section) or {}
        if not isinstance(kinds, dict):
            raise ValueError(f"{path}: {section}: expected kind → list of phrases")
        for kind, phrases in kinds.items():
            if not isinstance(phrases, list) or not _CATEGORY_SLUG.match(str(kind)):
                raise ValueError(f"{path}: {section}: {kind!r}: expected a slug → list of phrases")
            for phrase in phrases:
                result.setdefault(str(phrase), str(kind))
    return MappingProxyType(result)


def _read_matching_data(path: Path) -> MatchingData:
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping with {', '.join(_SECTIONS)}")
    unknown = set(raw) - set(_SECTIONS)
    if unknown:
        raise ValueError(f"{path}: unknown sections {sorted(unknown)}")
    return MatchingData(
        synonyms=_string_map(raw.get("synonyms"), "synonyms", slugs=False),
        known_products=_string_map(raw.get("known_products"), "known_products", slugs=True),
        category_keywords=_string_map(raw.get("category_keywords"), "category_keywords", slugs=True),
        knowledge=_shipped_extras()[0],
        non_saas=_shipped_extras()[1],
    )


def products_from_entries(entries: Iterable[object]) -> list[CatalogProduct]:
    """Catalog entries as parsed from YAML (`id`, `name`, `vendor`, `category`, `aliases`) → products."""
    products: list[CatalogProduct] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise ValueError(f"catalog entry {position}: expected a mapping")
        missing = [f for f in ("id", "name", "vendor", "category") if not isinstance(entry.get(f), str)]
        if missing:
            raise ValueError(f"catalog entry {position} ({entry.get('id')!r}): missing or not text: {missing}")
        aliases = entry.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise ValueError(f"catalog entry {entry['id']!r}: aliases must be a list of text")
        if entry["id"] in seen:
            raise ValueError(f"catalog entry {entry['id']!r}: duplicate id")
        seen.add(entry["id"])
        products.append(
            CatalogProduct(
                id=entry["id"],
                name=entry["name"],
                vendor=entry["vendor"],
                category=entry["category"],
                aliases=tuple(aliases),
            )
        )
    return products


def load_catalog_products(path: Path) -> list[CatalogProduct]:
    """The products of a catalog YAML file (a list of entries, as in `catalog/data/catalog.yaml`)."""
    raw = _read_yaml(path)
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a list of catalog entries")
    return products_from_entries(raw)
