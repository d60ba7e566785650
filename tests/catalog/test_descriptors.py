"""Card descriptors as banks print them → the merchant's words (catalog/rules/descriptors.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.rules.descriptors import (
    classify_mcc,
    looks_like_descriptor,
    normalise_descriptor,
    parse_descriptor,
)


@pytest.mark.parametrize(
    ("descriptor", "name"),
    [
        ("FIGMA INC 415-8907765 CA", "figma"),
        ("SQ *NOTION LABS", "notion labs"),
        ("PADDLE.NET* SOMEAPP", "someapp"),
        ("GOOGLE *GSUITE_EXAMPLE", "google gsuite example"),
        ("ATLASSIAN* JIRA", "atlassian jira"),
        ("OPENAI *CHATGPT SUBSCR", "openai chatgpt"),
        ("LINKEDIN SALES NAV", "linkedin sales nav"),
        ("ZOOM.US 888-799-9666 CA", "zoom"),
        ("MSFT *AZURE", "microsoft azure"),
        ("AMZN Mktp US*2K4L91", "amazon mktp"),
        ("DELTA AIR 0062345678 ATLANTA GA", "delta air"),
        ("TST* BLUE BOTTLE COFFEE SAN FRANCISCO CA", "blue bottle coffee"),
        ("DROPBOX*ABC12DEF3G", "dropbox"),
        ("SLACK T01ABCDE2 DUBLIN IE", "slack"),
        ("PAYPAL *MIRO", "miro"),
        ("FS *SKETCH", "sketch"),
        ("STRIPE* NOTION", "notion"),
        ("DATADOG HQ (866) 290-4876 NY", "datadog hq"),
        ("GITHUB, INC.", "github"),
        ("O'REILLY MEDIA", "oreilly media"),
        ("GOOGLE*ADS5555555555", "google ads"),
        ("F12345 MCDONALDS", "mcdonalds"),
        # names that carry digits or look like billing words keep them
        ("DOCUMENT360", "document360"),
        ("15FIVE", "15five"),
        ("8X8 INC", "8x8"),
        ("MSFT *MICROSOFT 365", "microsoft microsoft 365"),
        ("HELP SCOUT", "help scout"),
        ("BILL.COM", "bill com"),
        ("AB TASTY", "ab tasty"),
        ("", ""),
        ("*", ""),
        ("4155551234", ""),
    ],
)
def test_normalise_descriptor(descriptor: str, name: str) -> None:
    assert normalise_descriptor(descriptor) == name


def test_the_processor_and_what_it_says_are_kept_apart() -> None:
    assert parse_descriptor("PADDLE.NET* SOMEAPP").processor == "paddle net"
    assert parse_descriptor("PADDLE.NET* SOMEAPP").hint == "saas"
    assert parse_descriptor("TST* JOES PIZZA").hint == "non_saas"
    assert parse_descriptor("SQ *CORNER CAFE").hint is None
    assert parse_descriptor("ATLASSIAN* JIRA").processor is None  # a vendor's own prefix


@pytest.mark.parametrize(
    ("text", "descriptor"),
    [
        ("FIGMA INC", True),
        ("SQ *Notion Labs", True),
        ("need figma", False),
        ("Figma for 3 people", False),
        ("*figma*", False),
        ("スラック", False),
        ("", False),
        ("1234", False),
    ],
)
def test_looks_like_descriptor(text: str, descriptor: bool) -> None:
    assert looks_like_descriptor(text) is descriptor


@pytest.mark.parametrize(
    ("mcc", "hint"),
    [
        (5812, "non_saas"),
        ("4511", "non_saas"),
        (3012, "non_saas"),
        (7011, "non_saas"),
        (" 5814 ", "non_saas"),
        (5734, "saas"),
        (7372, "saas"),
        (5817, "saas"),
        (5999, None),
        ("x", None),
        (None, None),
    ],
)
def test_classify_mcc(mcc: str | int | None, hint: str | None) -> None:
    assert classify_mcc(mcc) == hint


# --------------------------------------------------------------------------- properties

_NAMES = st.lists(
    st.sampled_from(["acme", "notion", "figma", "labs", "cloud", "sketch", "zeta", "orbit", "data", "one"]),
    min_size=1,
    max_size=3,
)
_WRAPPERS = st.sampled_from(["", "SQ *", "PADDLE.NET* ", "PAYPAL *", "STRIPE* ", "FS *", "2CO*", "SQ*"])
_PHONES = st.sampled_from(["", " 415-8907765", " 888-799-9666", " (866) 290-4876", " +1 415 555 0100"])
_REFERENCES = st.sampled_from(["", " 2K4L91", " 0062345678", " T01ABCDE2", " #12345", " AB12CD34"])
_SUFFIXES = st.sampled_from(["", " INC", " LLC", " LTD", " GMBH", " INC."])
_PLACES = st.sampled_from(["", " CA", " NY", " SAN FRANCISCO CA", " DUBLIN IE", " LONDON GB", " US"])


@settings(max_examples=300, deadline=None)
@given(_NAMES, _WRAPPERS, _SUFFIXES, _PHONES, _REFERENCES, _PLACES)
def test_wrappers_phones_references_suffixes_and_places_come_off(
    words: list[str], wrapper: str, suffix: str, phone: str, reference: str, place: str
) -> None:
    descriptor = f"{wrapper}{' '.join(words).upper()}{suffix}{phone}{reference}{place}"
    assert normalise_descriptor(descriptor) == " ".join(words)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_lower_case_words_and_is_stable(text: str) -> None:
    name = normalise_descriptor(text)
    assert name == name.strip() and "  " not in name and name == name.casefold()
    assert normalise_descriptor(text.upper()) == normalise_descriptor(text.upper().lower().upper())
    assert normalise_descriptor(name.upper()) == normalise_descriptor(normalise_descriptor(name.upper()).upper())


def test_other_scripts_keep_their_marks_while_latin_loses_its_accents() -> None:
    # A kana's voicing mark is part of the letter (ボ is not ホ); an é is an e.
    assert normalise_descriptor("サイボウズ OFFICE") == "サイボウズ office"
    assert normalise_descriptor("CAFÉ ZOË") == "cafe zoe"


def test_an_invoice_number_after_a_hash_goes_whole() -> None:
    assert normalise_descriptor("NOTION LABS INC #INV-2026-001 NEW YORK NY") == "notion labs"
