"""Recognition for discovery (issue 22): card descriptors, the SaaS knowledge file, non-SaaS
merchants, acronyms, rebrands, suites, free siblings, short typos and other languages.

Evaluation figures (`pytest tests/catalog/test_matching_discovery.py -s` prints them), on
matching_eval_discovery.yaml (50-product catalog, 435 queries and descriptors):
- hold-out (211, written before the last round of fixes and run once): catalog top-1 121/121,
  1/90 non-catalog queries matched to a catalog product ("HubSpot CMS": an alias slip in the
  knowledge file), 1/26 non-SaaS merchants taken for SaaS ("HOLIDAY INN EXPRESS" completed to
  ExpressVPN). Both causes were fixed in general terms afterwards; the set is kept as written.
- whole set after the fixes: every query as expected (see the printed figures).
The hold-out was written by the same engineer who built the matcher, so it is an optimistic
estimate of accuracy on catalogs and descriptors never seen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog.rules.matching import CatalogProduct, Matcher, MatchingData
from catalog.rules.matching_data import (
    SHIPPED_CATALOG,
    load_catalog_products,
    load_matching_data,
    load_non_saas,
    load_saas_knowledge,
    products_from_entries,
)
from catalog.rules.matching_index import acronym

EVAL_FILE = Path(__file__).with_name("matching_eval_discovery.yaml")
EVALUATION: dict[str, Any] = yaml.safe_load(EVAL_FILE.read_text(encoding="utf-8"))
QUERIES = [*EVALUATION["dev"], *EVALUATION["holdout"]]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    """The evaluation catalog with the shipped vocabulary (loaded once per process)."""
    return Matcher(products_from_entries(EVALUATION["catalog"]), load_matching_data())


@pytest.fixture(scope="module")
def demo() -> Matcher:
    return Matcher(load_catalog_products(SHIPPED_CATALOG), load_matching_data())


# --------------------------------------------------------------------------- evaluation set


def test_the_evaluation_set_is_large_and_consistent() -> None:
    assert len(QUERIES) >= 400 and len(EVALUATION["holdout"]) >= 150
    knowledge = load_matching_data().knowledge
    ids = {p["id"] for p in EVALUATION["catalog"]}
    names = {p.name for p in knowledge} | {s for p in knowledge for s in p.free_siblings}
    assert all(q["id"] is None or q["id"] in ids for q in QUERIES)
    assert all("known" not in q or q["known"] in names for q in QUERIES)
    assert sum(q.get("kind") == "non_saas" for q in QUERIES) >= 50
    assert sum(q["q"].isupper() or "*" in q["q"] for q in QUERIES) >= 150  # card descriptors


def _score(matcher: Matcher, items: list[dict[str, Any]]) -> dict[str, list[Any]]:
    score: dict[str, list[Any]] = {key: [] for key in ("hit", "miss", "absent", "wrong", "merchant", "known")}
    for item in items:
        result = matcher.match(item["q"])
        if item["id"] is None:
            score["absent"].append(item["q"])
            if result.product_id is not None:
                score["wrong"].append((item["q"], result.product_id))
        else:
            hit = result.product_id == item["id"]
            score["hit" if hit else "miss"].append((item["q"], item["id"], result.product_id, result.candidates))
        if item.get("kind") == "non_saas" and result.kind != "non_saas":
            score["merchant"].append((item["q"], result.kind, result.known and result.known.name))
        if "known" in item and (result.known is None or result.known.name != item["known"]):
            score["known"].append((item["q"], item["known"], result.known and result.known.name))
    return score


def test_top1_accuracy_and_wrong_match_rate(matcher: Matcher) -> None:
    total = {key: 0 for key in ("hit", "miss", "absent", "wrong")}
    problems: list[Any] = []
    for part in ("dev", "holdout"):
        score = _score(matcher, EVALUATION[part])
        present = len(score["hit"]) + len(score["miss"])
        print(
            f"\ndiscovery eval {part}: top-1 {len(score['hit'])}/{present} on catalog queries, "
            f"{len(score['wrong'])}/{len(score['absent'])} non-catalog queries matched to a catalog product, "
            f"{len(score['merchant'])} non-SaaS merchants not classified non_saas, "
            f"{len(score['known'])} knowledge products not named"
        )
        for key in total:
            total[key] += len(score[key])
        problems += score["miss"] + score["wrong"] + score["merchant"] + score["known"]
    for problem in problems:
        print("  ", problem)
    accuracy = total["hit"] / (total["hit"] + total["miss"])
    wrong_rate = total["wrong"] / total["absent"]
    print(f"discovery eval: top-1 {accuracy:.1%}, wrong match {wrong_rate:.1%}")
    assert accuracy >= 0.95  # the targets
    assert wrong_rate <= 0.02


def test_no_non_saas_merchant_is_taken_for_a_product(matcher: Matcher) -> None:
    merchants = [q for q in QUERIES if q.get("kind") == "non_saas"]
    taken = [(q["q"], r.kind) for q in merchants if (r := matcher.match(q["q"])).kind in ("catalog", "known_saas")]
    assert len(taken) <= 0.02 * len(merchants), taken


# --------------------------------------------------------------------------- the rules


def test_a_product_the_catalog_lacks_is_known_saas_with_its_entry(demo: Matcher) -> None:
    result = demo.match("OPENAI *CHATGPT SUBSCR")
    assert (result.kind, result.product_id, result.category) == ("known_saas", None, "ai-assistant")
    assert result.known is not None and (result.known.name, result.known.vendor) == ("ChatGPT", "OpenAI")
    assert result.to_json()["known"] == {
        "name": "ChatGPT",
        "vendor": "OpenAI",
        "category": "ai-assistant",
        "free": False,
        "sibling_of": None,
    }


def test_a_knowledge_entry_that_is_a_catalog_product_lends_it_its_names(demo: Matcher) -> None:
    # Miro's former name and typical descriptor, Notion's vendor on a card statement.
    assert demo.match("RealtimeBoard").product_id == "miro"
    assert demo.match("MIRO.COM 4155550100").product_id == "miro"
    assert demo.match_descriptor("SQ *NOTION LABS").product_id == "notion"


def test_a_free_sibling_is_another_product(matcher: Matcher) -> None:
    result = matcher.match("Adobe Acrobat Reader")
    assert result.product_id is None and result.known is not None
    assert result.known.free and result.known.sibling_of == "Adobe Acrobat Pro"
    assert matcher.match("Adobe Acrobat").product_id == "acrobat-pro"


@pytest.mark.parametrize(
    ("query", "known"),
    [("Zoom Phone", "Zoom Phone"), ("ZoomInfo", "ZoomInfo"), ("Box Sign", "Box Sign"), ("Notion Calendar", None)],
)
def test_a_longer_name_that_starts_with_a_catalog_name_is_another_product(
    matcher: Matcher, query: str, known: str | None
) -> None:
    result = matcher.match(query)
    assert result.product_id is None
    assert result.known is not None and result.known.name == (known or query)


def test_a_vendor_name_that_is_also_a_product_name_names_the_product(matcher: Matcher) -> None:
    result = matcher.match("Dropbox")  # the catalog has Dropbox Sign, by Dropbox, Inc.
    assert result.product_id is None and result.known is not None and result.known.name == "Dropbox"


def test_acronyms_of_multi_word_names() -> None:
    assert acronym("Jira Service Management") == "jsm"
    assert acronym("Microsoft 365") == "m365"
    assert acronym("Google Cloud Platform") == "gcp"
    assert acronym("Adobe Creative Cloud") is None  # "acc" is an everyday abbreviation
    assert acronym("Google Workspace") is None  # two letters say too little
    products = [
        CatalogProduct("ptm", "Pipeline Threat Monitor", "Acme", "security"),
        CatalogProduct("revenue", "Revenue Tracking Manager", "Acme", "finance"),
        CatalogProduct("release", "Release Train Manager", "Acme", "devops"),
    ]
    vocabulary = MatchingData(synonyms={}, known_products={}, category_keywords={})
    matcher = Matcher(products, vocabulary)
    assert matcher.match("PTM for the SOC").product_id == "ptm"
    assert matcher.match("rtm").product_id is None  # two products share the initials


def test_a_catalog_name_without_its_generic_last_word_or_audience_is_found() -> None:
    products = [
        CatalogProduct("nimbus", "Nimbus Analytics Cloud", "Nimbus Data GmbH", "bi"),
        CatalogProduct("quill", "Quillstack for Teams", "Quillstack Inc.", "docs"),
        CatalogProduct("tp", "Tandem Platform", "Tandem Labs", "docs"),
    ]
    matcher = Matcher(products, MatchingData(synonyms={}, known_products={}, category_keywords={}))
    assert matcher.match("nimbus analytics for finance").product_id == "nimbus"
    assert matcher.match("QUILLSTACK 4155550100 CA").product_id == "quill"
    assert matcher.match("tandem").product_id is None  # one word left says too little


def test_suite_components_name_the_suite_only_when_the_catalog_has_the_suite(matcher: Matcher, demo: Matcher) -> None:
    assert matcher.match("PowerPoint").product_id == "m365"
    result = demo.match("PowerPoint")
    assert result.product_id is None and result.known is not None and result.known.name == "Microsoft 365"


def test_a_generic_word_is_a_product_only_on_a_card_statement(demo: Matcher) -> None:
    assert demo.match("we need a harvest of ideas").known is None
    result = demo.match("HARVEST GETHARVEST")
    assert result.known is not None and result.known.name == "Harvest"


def test_a_truncated_descriptor_is_completed(matcher: Matcher) -> None:
    assert matcher.match("LINKEDIN SALES NAVIG").product_id == "sales-nav"
    assert matcher.match("ATLASSIAN CONFLUENC").product_id == "confluence"
    assert matcher.match("HOLIDAY INN EXPRESS").kind == "non_saas"  # not ExpressVPN cut short


@pytest.mark.parametrize("descriptor", ["SQ *NOTION CAFE", "MIRO BISTRO 0042", "ZOOM TAXI NYC"])
def test_a_merchant_word_on_a_card_statement_outweighs_a_product_name(demo: Matcher, descriptor: str) -> None:
    result = demo.match(descriptor)
    assert (result.kind, result.product_id) == ("non_saas", None)


def test_a_merchant_word_in_typed_text_does_not(demo: Matcher) -> None:
    assert demo.match("Notion for the hotel team").product_id == "notion"
    assert demo.match("PADDLE.NET* NOTION CAFE").product_id == "notion"  # sold through a software reseller


def test_merchant_category_codes_settle_unknown_merchants(demo: Matcher) -> None:
    assert demo.match_descriptor("SQ *LUCIAS", mcc=5812).kind == "non_saas"
    assert demo.match_descriptor("SQ *LUCIAS").kind == "unknown"
    assert demo.match_descriptor("FIGMA INC", mcc=5812).product_id == "figma"  # a name beats a code


def test_the_descriptor_cache_returns_what_a_fresh_matcher_would() -> None:
    products, data = load_catalog_products(SHIPPED_CATALOG), load_matching_data()
    cached, fresh = Matcher(products, data), Matcher(products, data)
    for text in ("FIGMA INC 415-8907765 CA", "UBER *TRIP", "SQ *NOTION LABS", "PADDLE.NET* SOMEAPP"):
        first = cached.match_descriptor(text)
        assert cached.match_descriptor(text) is first
        assert fresh.match_descriptor(text) == first == fresh.match(text)


def test_a_request_in_capitals_keeps_its_date_and_channel(matcher: Matcher) -> None:
    result = matcher.match("NEED FIGMA BY MONDAY VIA AWS MARKETPLACE")  # the catalog has monday.com
    assert (result.product_id, result.channel) == ("figma", "aws_marketplace")


def test_typed_text_in_capitals_is_read_as_a_descriptor(demo: Matcher) -> None:
    assert demo.match("ZOOM.US 888-799-9666 CA").product_id == "zoom"
    assert demo.match("need zoom.us for 3 people").product_id == "zoom"


# --------------------------------------------------------------------------- data files


def test_the_knowledge_file_has_500_products_each_found_by_its_names() -> None:
    data = load_matching_data()
    assert len(data.knowledge) >= 500
    matcher = Matcher([], data)
    unfound = []
    for product in data.knowledge:
        texts = [product.name.upper(), *(() if product.generic else (product.name, *product.aliases))]
        for text in texts:
            result = matcher.match(text)
            if result.known is None or result.known.name != product.name:
                unfound.append((text, result.known and result.known.name))
    assert not unfound


def test_the_non_saas_list_covers_the_kinds_of_merchant() -> None:
    merchants = load_matching_data().non_saas
    assert {"airline", "lodging", "restaurant", "ride-hailing", "office-supplies"} <= set(merchants.values())
    assert len(merchants) >= 300


_BAD_FILES = [
    (load_saas_knowledge, "- a\n", "`products` list"),
    (load_saas_knowledge, "products:\n  - {vendor: X}\n", "with a name"),
    (load_saas_knowledge, "products:\n  - {name: X, category: Not A Slug}\n", "not a slug"),
    (load_saas_knowledge, "products:\n  - {name: X, category: x, colour: red}\n", "unknown fields"),
    (load_saas_knowledge, "products:\n  - {name: X, category: x, aliases: y}\n", "list of text"),
    (load_saas_knowledge, "products:\n  - {name: X, category: x}\n  - {name: x, category: x}\n", "duplicate"),
    (load_non_saas, "- a\n", "expected a mapping"),
    (load_non_saas, "other: {}\n", "expected a mapping"),
    (load_non_saas, "merchants: [a]\n", "expected kind"),
    (load_non_saas, "merchants: {Airline: [x]}\n", "expected a slug"),
    (load_non_saas, "merchants: {airline: x}\n", "expected a slug"),
]


@pytest.mark.parametrize(("load", "text", "message"), _BAD_FILES)
def test_the_vocabulary_loaders_reject_bad_files(tmp_path: Path, load: Any, text: str, message: str) -> None:
    (tmp_path / "vocabulary.yaml").write_text(text)
    with pytest.raises(ValueError, match=message):
        load(tmp_path / "vocabulary.yaml")
