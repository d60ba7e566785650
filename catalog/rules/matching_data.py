"""Loading what `catalog.rules.matching` works on: catalog products and the shipped vocabulary.

The matcher stays pure; this module is the only place that reads files for it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

import yaml

from catalog.rules.matching import CatalogProduct, MatchingData

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
SHIPPED_SYNONYMS = DATA_DIR / "synonyms.yaml"
SHIPPED_CATALOG = DATA_DIR / "catalog.yaml"
_CATEGORY_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SECTIONS = ("synonyms", "known_products", "category_keywords")


def _read_yaml(path: Path) -> object:
    with path.open(encoding="utf-8") as stream:
        return yaml.safe_load(stream)


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
    """Synonyms, well-known products and category keywords; default: `catalog/data/synonyms.yaml`,
    read once per process (it ships with the code; parsing it takes ~45 ms, which a bot that
    rebuilds its matcher every minute would otherwise spend each time)."""
    return _shipped_matching_data() if path is None else _read_matching_data(path)


@functools.cache
def _shipped_matching_data() -> MatchingData:
    return _read_matching_data(SHIPPED_SYNONYMS)


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
