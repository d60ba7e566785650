"""Discovery's pure parts: card descriptors, the card and FOCUS parsers (on the FinOps
Foundation's public FOCUS sample as well as our own lines), recognition and classification."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.importers.spend_card import CARD_COLUMNS, load_presets, parse_card
from catalog.importers.spend_focus import is_marketplace, parse_focus
from catalog.importers.usage_sso import parse_sso
from catalog.rules.descriptors import normalise_descriptor
from catalog.rules.discovery import (
    CatalogFacts,
    SpendGroup,
    aggregate,
    classify,
    known_names,
    recognise,
    reconciles,
)
from catalog.rules.matching import Matcher
from catalog.rules.matching_data import SHIPPED_CATALOG, load_catalog_products, load_matching_data

FOCUS_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "focus_1_0_sample_excerpt.csv"


@pytest.mark.parametrize(
    ("descriptor", "merchant"),
    [
        ("FIGMA INC 415-8907765 CA", "figma"),
        ("SQ *NOTION LABS", "notion labs"),
        ("PADDLE.NET* SOMEAPP", "someapp"),
        ("GOOGLE *GSUITE_EXAMPLE", "google gsuite example"),
        ("ATLASSIAN* JIRA", "atlassian jira"),
        ("OPENAI *CHATGPT SUBSCR", "openai chatgpt"),
        ("LINKEDIN SALES NAV", "linkedin sales nav"),
        ("PAYPAL *MIRO 4029357733 CA", "miro"),
        ("STRIPE* CANVA.COM", "canva com"),
        ("FS *SKETCH", "sketch"),
        ("1PASSWORD 866-555-1212 ON", "1password"),
        ("MICROSOFT*365 E3 REDMOND WA", "microsoft 365 e3"),
        ("DOCUSIGN INC SAN FRANCISCO CA", "docusign"),
        ("NOTION LABS INC #INV-2026-001 NEW YORK NY", "notion labs"),
        ("ZOOM.US 888-799-9666 CA", "zoom"),
        ("12345678", ""),
    ],
)
def test_descriptors_lose_wrappers_phones_places_and_references(descriptor: str, merchant: str) -> None:
    assert normalise_descriptor(descriptor) == merchant


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_catalog_products(SHIPPED_CATALOG), load_matching_data())


def test_recognition_kinds(matcher: Matcher) -> None:
    figma = recognise("FIGMA INC 415-8907765 CA", matcher.match)
    assert (figma.kind, figma.key, figma.product_id) == ("catalog", "product:figma", "figma")
    chatgpt = recognise("OPENAI *CHATGPT SUBSCR", matcher.match)
    assert chatgpt.kind == "known" and chatgpt.product_id is None and chatgpt.category
    assert recognise("PADDLE.NET* SOMEAPP", matcher.match).kind == "unknown"
    for merchant in (
        "DELTA AIR 0062345678901",
        "MARRIOTT HOTEL NEW YORK NY",
        "UBER *TRIP HELP.UBER.COM CA",
        "STAPLES 00123 BOSTON MA",
        "STARBUCKS STORE 1234",
    ):
        assert recognise(merchant, matcher.match).kind == "non_saas", merchant


def test_classification() -> None:
    def facts(blocked: bool = False, registered: bool = False) -> CatalogFacts:
        return CatalogFacts("x", "X", "X Inc", "docs", blocked, registered)

    catalog = recognise("x", lambda q: _result("x"))
    assert classify(catalog, facts(registered=True)) == "managed"
    assert classify(catalog, facts()) == "unmanaged"
    assert classify(catalog, facts(blocked=True, registered=True)) == "blocked_in_use"
    assert classify(recognise("some tool", lambda q: _result(None, "docs")), None) == "unmanaged"
    assert classify(recognise("some tool", lambda q: _result(None)), None) == "unknown"


def _result(product_id: str | None, category: str | None = None):  # type: ignore[no-untyped-def]
    from catalog.rules.matching import MatchResult

    return MatchResult(
        "q", product_id, 1.0 if product_id else 0.0, (), category or ("docs" if product_id else None), "direct"
    )


def test_aggregate_sums_per_product_and_currency_and_counts_sso_users(matcher: Matcher) -> None:
    day = date(2026, 11, 1)
    groups = [
        SpendGroup("FIGMA INC 415-8907765 CA", "USD", 9000, 4, date(2026, 6, 3), day, frozenset({"a@x.io"})),
        SpendGroup("FIGMA.COM", "USD", 1000, 1, day, day, frozenset({"b@x.io"}), frozenset({"CC-1"})),
        SpendGroup("FIGMA.COM", "EUR", 500, 1, day, day),
        SpendGroup("DELTA AIR 0062345678901", "USD", 41230, 1, day, day),
    ]
    found = aggregate(
        groups,
        {"Figma": {"c@x.io": date(2026, 12, 1)}},
        recognise_one=lambda d: recognise(d, matcher.match),
        products={"figma": CatalogFacts("figma", "Figma", "Figma, Inc.", "design", False, True)},
    )
    (figma,) = found  # the airline is left alone
    assert figma.status == "managed" and figma.spend_cents == {"USD": 10000, "EUR": 500}
    assert figma.lines == 6 and figma.payers == {"a@x.io", "b@x.io"} and figma.cost_centers == {"CC-1"}
    assert (figma.first_seen, figma.last_seen, figma.sso_users) == (date(2026, 6, 3), date(2026, 12, 1), {"c@x.io"})


def test_card_presets_map_the_required_columns_and_are_picked_from_the_header() -> None:
    presets = load_presets()
    assert {"amex", "brex", "ramp", "expensify", "navan", "concur"} <= set(presets)
    for preset in presets.values():
        assert {"date", "merchant", "amount", "employee_email"} <= set(preset.headers) <= set(CARD_COLUMNS)
    ramp = "Transaction Date,Merchant Descriptor,Amount,Currency,User Email\n11/02/2026,ZOOM.US,15.99,USD,A@x.io\n"
    (row,), problems = parse_card(ramp)
    assert problems == [] and (row.spent_on, row.descriptor, row.amount_cents, row.payer_email) == (
        date(2026, 11, 2),
        "ZOOM.US",
        1599,
        "a@x.io",
    )
    custom = 'When,Desc,"Amount (USD)",Who\n2026-01-01,X,1,a@b.co\n'
    _, problems = parse_card(custom)
    assert "--map-preset NAME or --map column=Header" in problems[0].message
    overrides = {"date": "When", "merchant": "Desc", "amount": "Amount (USD)", "employee_email": "Who"}
    (row,), problems = parse_card(custom, overrides=overrides)
    assert problems == [] and row.amount_cents == 100 and row.currency == "USD"


def test_card_problems_carry_line_numbers_and_transaction_ids_are_unique() -> None:
    text = (
        "date,merchant,amount,currency,employee_email,transaction_id\n"
        "2026-11-02,FIGMA,45.00,USD,a@x.io,T1\n"
        "2026-13-01,,abc,US,bad,T2\n"
        "2026-11-03,FIGMA,45.00,USD,a@x.io,T1\n"
    )
    rows, problems = parse_card(text)
    assert len(rows) == 1
    assert [str(p) for p in problems] == [
        "line 3: missing merchant (merchant)",
        "line 3: date: '2026-13-01' is not a date; use YYYY-MM-DD or MM/DD/YYYY",
        "line 3: amount: 'abc' is not an amount; write it like 50000 or 50,000.00",
        "line 3: currency 'US' is not an ISO 4217 currency code",
        "line 3: employee_email 'bad' is not an email address",
        "line 4: transaction_id 'T1' is already on line 2",
    ]


def test_identical_card_lines_are_two_purchases_with_stable_keys() -> None:
    text = "date,merchant,amount,currency,employee_email\n" + "2026-11-02,COFFEE,4.00,USD,a@x.io\n" * 2
    first, _ = parse_card(text)
    again, _ = parse_card(text)
    assert len({r.source_key for r in first}) == 2 and [r.source_key for r in first] == [r.source_key for r in again]


@pytest.mark.parametrize(
    ("provider", "publisher", "third_party"),
    [
        ("AWS", "Amazon Web Services, Inc.", False),
        ("AWS", "Amazon Web Services EMEA SARL", False),
        ("AWS", "Amazon Web Services Canada, Inc.", False),
        ("AWS", "Red Hat Inc.", True),
        ("Microsoft", "Microsoft", False),
        ("Microsoft", "Microsoft Corporation", False),
        ("Microsoft", "Elastic N.V.", True),
        ("Google Cloud", "Google", False),
        ("Google Cloud", "MongoDB, Inc.", True),
        ("Oracle", "Oracle", False),
        ("AWS", "", False),
    ],
)
def test_a_marketplace_publisher_is_judged_against_the_clouds_own_entities(
    provider: str, publisher: str, third_party: bool
) -> None:
    assert is_marketplace(provider, publisher) is third_party


def test_focus_sample_data_yields_only_its_marketplace_line() -> None:
    rows, problems, skipped = parse_focus(FOCUS_SAMPLE.read_text(encoding="utf-8"))
    assert problems == []
    (red_hat,) = rows
    assert (red_hat.publisher, red_hat.provider, red_hat.service_name) == (
        "Red Hat Inc.",
        "aws",
        "Red Hat OpenShift Service on AWS",
    )
    assert red_hat.marketplace and red_hat.amount_cents == 34 and red_hat.spent_on == date(2024, 9, 10)
    assert skipped == {"credit lines": 1, "lines of the cloud's own services": 298}


def test_focus_tax_and_credit_never_count_and_adjustments_keep_their_sign() -> None:
    header = "ChargePeriodStart,BilledCost,BillingCurrency,ChargeCategory,ProviderName,PublisherName,Tags\n"
    text = header + (
        '2026-11-01 00:00:00,3000.004,USD,Purchase,AWS,"Datadog, Inc.",'
        '"{""owner"": ""E@x.io"", ""cost-center"": ""CC-ENG""}"\n'
        '2026-11-01 00:00:00,-250,USD,Adjustment,AWS,"Datadog, Inc.",NULL\n'
        '2026-11-01 00:00:00,240,USD,Tax,AWS,"Datadog, Inc.",NULL\n'
        '2026-11-01 00:00:00,-100,USD,Credit,AWS,"Datadog, Inc.",NULL\n'
        '2026-11-01 00:00:00,1,USD,Refund,AWS,"Datadog, Inc.",NULL\n'
    )
    rows, problems, skipped = parse_focus(text)
    assert [r.amount_cents for r in rows] == [300000, -25000]
    assert (rows[0].payer_email, rows[0].cost_center) == ("e@x.io", "CC-ENG")
    assert skipped == {"tax lines": 1, "credit lines": 1}
    assert [str(p) for p in problems] == [
        "line 6: ChargeCategory 'Refund' is not one of Usage, Purchase, Tax, Credit, Adjustment"
    ]


def test_a_marketplace_request_reconciles_by_product_or_vendor_words() -> None:
    assert reconciles(("Datadog Pro", "Datadog, Inc."), ("Datadog, Inc.", "Datadog Pro (AWS Marketplace)"))
    assert not reconciles(("Snowflake", "Snowflake Inc."), ("Datadog, Inc.", "Datadog Pro"))
    assert not reconciles(("Red",), ("Redis Ltd.", "Redis Cloud"))


_WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=9).filter(
    lambda w: w not in {"inc", "llc", "ltd", "corp", "com", "net", "www", "web", "online", "internet"}
)


@given(
    st.lists(_WORDS, min_size=1, max_size=4),
    st.sampled_from(["SQ *", "PADDLE.NET* ", "PAYPAL *", "STRIPE* ", "FS *", "TST* "]),
    st.from_regex(r"\A( [2-9]\d{2}-\d{3}-\d{4}| \+1 \d{3} \d{3} \d{4}| #[A-Z0-9-]{3,10}| \d{6,12}|)\Z"),
)
def test_wrappers_phones_and_references_never_change_the_merchant(words: list[str], wrapper: str, noise: str) -> None:
    plain = normalise_descriptor(" ".join(words).upper())
    assert normalise_descriptor(f"{wrapper}{' '.join(words).upper()}{noise}") == plain
    assert normalise_descriptor(plain) == plain  # cleaning twice changes nothing


def test_an_okta_system_log_comes_down_to_each_persons_latest_successful_sign_in() -> None:
    text = (
        "Published,Actor.AlternateId,Target.DisplayName,Outcome.Result\n"
        "2026-12-01T09:00:00.000Z,Ana@Example.com,Notion,SUCCESS\n"
        "2026-12-03T09:00:00.000Z,ana@example.com,Notion,FAILURE\n"
        "2026-11-02T09:00:00.000Z,ana@example.com,notion,SUCCESS\n"
        "2026-11-30T09:00:00.000Z,bo@example.com,Miro,SUCCESS\n"
    )
    logins, problems = parse_sso(text, as_of=date(2026, 12, 4))
    assert problems == []
    assert [(s.app, s.user_email, s.last_login) for s in logins] == [
        ("Notion", "ana@example.com", date(2026, 12, 1)),
        ("Miro", "bo@example.com", date(2026, 11, 30)),
    ]
    _, problems = parse_sso("Who,What\na,b\n", as_of=date(2026, 12, 4))
    assert "no app column" in problems[0].message


def test_an_app_named_in_another_script_is_still_discovered(matcher: Matcher) -> None:
    seen = recognise("サイボウズ Office", matcher.match)
    assert seen.kind == "unknown" and seen.key == "unknown:サイボウズ office"


def test_saas_whose_names_share_words_with_travel_or_offices_is_not_taken_for_them(matcher: Matcher) -> None:
    for merchant in ("MICROSOFT*OFFICE 365", "BOLT.NEW", "TRAINUAL"):
        assert recognise(merchant, matcher.match).kind != "non_saas", merchant


def test_a_well_known_product_is_one_product_whatever_descriptor_names_it(matcher: Matcher) -> None:
    known = known_names(
        {"chatgpt": "ai-assistant", "google workspace": "productivity-suite"}, {"gsuite": "google workspace"}
    )
    by_card = recognise("OPENAI *CHATGPT SUBSCR", matcher.match, known)
    assert by_card == recognise("ChatGPT", matcher.match, known)
    assert (by_card.kind, by_card.key, by_card.category) == ("known", "known:chatgpt", "ai-assistant")
    assert recognise("GOOGLE *GSUITE_EXAMPLE", matcher.match, known).key == "known:google workspace"
