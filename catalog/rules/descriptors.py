"""Card descriptors as banks print them → the merchant's name, for the matcher.

`FIGMA INC 415-8907765 CA` → `figma`; `SQ *NOTION LABS` → `notion labs`;
`PADDLE.NET* SOMEAPP` → `someapp`; `GOOGLE *GSUITE_EXAMPLE` → `google gsuite example`.

What goes: payment-processor wrappers in front (`SQ *`, `PADDLE.NET*`, `PAYPAL *`, `STRIPE*`,
`FS *` …), phone numbers, web addresses' `www.` and top-level domain, reference numbers
(`#…`, long numbers, words with three digits or more: `1PASSWORD` and `365` stay), legal suffixes, and the
city, state and country codes banks append at the end. Pure and cached: a card export
repeats the same few thousand descriptors over and over.
"""

from __future__ import annotations

import functools
import re

__all__ = ["normalise_descriptor"]

# Processors that print their own name before the merchant's (Square, Toast, Paddle, PayPal,
# Stripe, FastSpring, Shopify, 2Checkout, Checkout.com, Google Pay, Apple Pay).
_WRAPPER = re.compile(
    r"^\s*(?:sq|tst|paddle(?:\.net)?|paypal|pp|stripe|fs|fsprg|fastspring|sp|2co|2checkout|cko|gpay|applepay|"
    r"pwp|ppl|bt|dri)\s*\*+\s*",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?<![\w])\+?\d[\d\-. ()]{7,}\d(?![\w])")
_URL_PARTS = re.compile(r"\b(?:https?://)?(?:www\.)?([a-z0-9-]+)\.(?:com|net|org|io|ai|co|app|dev|so|us|eu|uk)\b")
# A reference: `#…`, a word of four digits or more, or a word of letters and three digits or more.
_REFERENCE = re.compile(r"#\S*|\b\d{4,}\b|\b(?=[a-z\d]*[a-z])(?=(?:[a-z]*\d){3})[a-z\d]+\b")
_NON_WORD = re.compile(r"[^\w&+]+")

_LEGAL = frozenset(
    "inc incorporated llc ltd limited corp corporation co company gmbh ag sa sas sarl plc bv nv pty lp llp "
    "oy ab srl spa kk".split()
)
_NOISE = frozenset("internet online web www https http subscription recurring purchase payment pymt".split())
# Codes and place names banks append after the merchant: US states and Canadian provinces,
# countries, and the cities SaaS vendors bill from.
_PLACE = frozenset(
    """
    al ak az ar ca co ct de fl ga hi id il in ia ks ky la me md ma mi mn ms mo mt ne nv nh nj nm ny nc nd oh ok
    or pa ri sc sd tn tx ut vt va wa wv wi wy dc on bc qc ab ns nsw vic
    us usa gb uk ie nl de fr au nz sg jp ch se dk no fi es it be at lu
    """.split()
)
_CITIES = (
    "san francisco",
    "san francisc",
    "sanfrancisco",
    "south san fra",
    "new york",
    "mountain view",
    "palo alto",
    "menlo park",
    "redwood city",
    "san jose",
    "san mateo",
    "sunnyvale",
    "seattle",
    "boston",
    "cambridge",
    "austin",
    "denver",
    "chicago",
    "atlanta",
    "los angeles",
    "dublin",
    "london",
    "amsterdam",
    "berlin",
    "paris",
    "toronto",
    "sydney",
    "singapore",
    "tel aviv",
    "lehi",
    "boulder",
)


def _strip_places(words: list[str]) -> list[str]:
    """Drop trailing place codes and city names, never the first word."""
    changed = True
    while changed and len(words) > 1:
        changed = False
        if words[-1] in _PLACE or words[-1] in _NOISE:
            words.pop()
            changed = True
            continue
        tail = " ".join(words[-3:])
        for city in _CITIES:
            if tail.endswith(city) and len(words) > city.count(" ") + 1:
                del words[-(city.count(" ") + 1) :]
                changed = True
                break
    return words


@functools.lru_cache(maxsize=100_000)
def normalise_descriptor(text: str) -> str:
    """The merchant's name in a card descriptor, lower-case, words separated by one space
    ("" when nothing is left, e.g. a descriptor of digits only)."""
    text = text.replace("_", " ").strip()
    while (wrapped := _WRAPPER.sub("", text, count=1)) != text:
        text = wrapped
    text = _PHONE.sub(" ", text.casefold())
    text = _URL_PARTS.sub(r" \1 ", text)
    text = _REFERENCE.sub(" ", text.replace("*", " "))
    words = [w for w in _NON_WORD.sub(" ", text).split() if w not in _NOISE or w == text]
    words = [w for i, w in enumerate(words) if i == 0 or w not in _LEGAL]
    return " ".join(_strip_places(words))
