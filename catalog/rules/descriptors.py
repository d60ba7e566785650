"""Card descriptors as banks print them → the merchant's words.

`FIGMA INC 415-8907765 CA` → "figma"; `SQ *NOTION LABS` → "notion labs";
`PADDLE.NET* SOMEAPP` → "someapp" (sold through Paddle, a software reseller);
`OPENAI *CHATGPT SUBSCR` → "openai chatgpt". Pure: no I/O.

What is removed: the payment processor's wrapper (`SQ *`, `PADDLE.NET*`, `PAYPAL *`, `STRIPE*`,
`FS *` …), phone numbers, reference numbers, billing words ("SUBSCR", "RECURRING"), legal
suffixes and, at the end, the city, state and country a bank appends. A merchant's own prefix
before the asterisk (`ATLASSIAN*`, `GOOGLE *`, `MSFT *`) is kept: it names the vendor.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from catalog.rules.matching_text import APOSTROPHE, LEGAL_SUFFIXES, strip_accents

MerchantHint = Literal["saas", "non_saas"]

MAX_DESCRIPTOR_CHARS = 200

# Processors that print their own name before the merchant's, and what selling through them says.
_PROCESSORS: dict[str, MerchantHint | None] = {
    "sq": None,  # Square: cafés and small software vendors alike
    "sqsp": "saas",  # Squarespace bills under its own prefix
    "tst": "non_saas",  # Toast: restaurants
    "paddle": "saas",
    "paddle net": "saas",
    "paypal": None,
    "pp": None,
    "stripe": None,
    "fs": "saas",  # FastSpring
    "fsprg": "saas",
    "fastspring": "saas",
    "2co": "saas",  # 2Checkout / Verifone
    "2checkout": "saas",
    "dri": "saas",  # Digital River
    "lemsqzy": "saas",  # Lemon Squeezy
    "lemon squeezy": "saas",
    "chargebee": "saas",
    "recurly": "saas",
    "sp": None,  # Shopify Payments
    "wpy": None,  # WePay
    "bt": None,  # Braintree
    "cko": None,  # Checkout.com
    "pmt": None,
    "pos": None,
    "sumup": None,
    "zettle": None,
    "izettle": None,
    "eb": "non_saas",  # Eventbrite: event tickets
    "uep": None,
    "ic": "non_saas",  # Instacart
    "dd": "non_saas",  # DoorDash
}
# Abbreviated merchant prefixes that name a vendor.
_VENDOR_PREFIXES = {
    "msft": "microsoft",
    "amzn": "amazon",
    "amz": "amazon",
    "goog": "google",
    "aws": "aws",
    "fb": "facebook",
    "facebk": "facebook",
    "lnkd": "linkedin",
    "apple com bill": "apple",
    "dnh": "godaddy",
}
_NOISE_WORDS = frozenset(
    """
    subscr subscrip subscript subscription subscriptions subs sub recurring recur rec renewal renew
    payment pymt pymnt pmt purchase pur pos ach debit credit card online internet web bill billing
    invoice inv charge chg monthly mthly mo yearly annual annually yr plan fee fees autopay auto
    intl international foreign transaction fx txn trx ref order ord help support www http https
    """.split()
)
_US_STATES = frozenset(
    """
    al ak az ar ca co ct de dc fl ga hi id il in ia ks ky la me md ma mi mn ms mo mt ne nv nh nj nm
    ny nc nd oh ok or pa ri sc sd tn tx ut vt va wa wv wi wy on bc qc ab nsw vic qld
    """.split()
)
_COUNTRIES = frozenset(
    """
    us usa gb gbr uk ie irl nl nld de deu fr fra es esp it ita au aus nz sg sgp jp jpn ch che se swe
    dk dnk no nor fi fin be bel lu lux at aut pl pol pt prt il isr in ind br bra mx mex cn hk can
    """.split()
)
_CITIES = frozenset(
    " ".join(city.split())
    for city in """
    san francisco|new york|seattle|mountain view|palo alto|menlo park|sunnyvale|san jose|san mateo
    |redwood city|los angeles|santa monica|austin|boston|cambridge|chicago|denver|boulder|atlanta
    |miami|redmond|bellevue|portland|salt lake city|lehi|toronto|vancouver|montreal|dublin|cork
    |london|manchester|amsterdam|berlin|munich|hamburg|paris|madrid|barcelona|lisbon|stockholm
    |copenhagen|oslo|helsinki|zurich|luxembourg|tel aviv|sydney|melbourne|singapore|tokyo|bangalore
    |wilmington|dover|sf|nyc|la|ny|sfo|internet|online|httpswww
    """.split("|")
)
_PHONE = re.compile(
    r"(?<!\w)(?:\+?\d{1,3}[\s.-]?)?(?:\(\d{3}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{4}(?!\w)"
    r"|(?<!\w)\d{3}-\d{7}(?!\w)|(?<!\w)\+\d[\d\s-]{7,}\d(?!\w)"
)
_WRAPPER = re.compile(r"^\s*([^*]{1,24}?)\s*\*+\s*(.*)$")
_TOKEN = re.compile(r"[^\W_]+")
_HASH_REFERENCE = re.compile(r"#\S*")  # "#INV-2026-001": an invoice or order number, whole
_WORD_THEN_NUMBER = re.compile(r"\b([^\W\d_]{3,})(\d{4,})\b")
_DIGIT_RUN = re.compile(r"\d+")
_LETTER_RUN = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True, slots=True)
class Descriptor:
    name: str  # the merchant's words, lower-case, single spaces
    processor: str | None  # the wrapper taken off ("paddle", "sq"), if any
    hint: MerchantHint | None  # what the processor says about the merchant


def _words(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _is_reference(token: str) -> bool:
    """Order, card and store numbers ("0062345", "2K4L91", "T02ABCD1E", "F12345"), not names that
    carry a number ("DOCUMENT360", "15FIVE", "M365")."""
    if token.isalpha():
        return False
    digits = sum(c.isdigit() for c in token)
    runs = len(_DIGIT_RUN.findall(token)) + len(_LETTER_RUN.findall(token)) - 1
    return (token.isdigit() and len(token) >= 4) or digits >= 4 or (digits >= 2 and runs >= 2 and len(token) >= 5)


def _strip_location(words: list[str]) -> list[str]:
    while len(words) > 1:
        if words[-1] in _US_STATES or words[-1] in _COUNTRIES:
            words = words[:-1]
            continue
        for size in (3, 2, 1):
            if len(words) > size and " ".join(words[-size:]) in _CITIES:
                words = words[:-size]
                break
        else:
            return words
    return words


@functools.lru_cache(maxsize=65_536)
def parse_descriptor(text: str) -> Descriptor:
    """The merchant's words in a card descriptor, and the processor wrapper around them."""
    s = unicodedata.normalize("NFKC", text[:MAX_DESCRIPTOR_CHARS]).casefold()
    s = strip_accents(s)
    s = _HASH_REFERENCE.sub(" ", _PHONE.sub(" ", s))
    processor: str | None = None
    hint: MerchantHint | None = None
    wrapped = _WRAPPER.match(s)
    if wrapped is not None:
        prefix = " ".join(_words(wrapped.group(1)))
        if prefix in _PROCESSORS:
            processor, hint, s = prefix, _PROCESSORS[prefix], wrapped.group(2)
        elif prefix in _VENDOR_PREFIXES:
            s = f"{_VENDOR_PREFIXES[prefix]} {wrapped.group(2)}"
    # A word run into its reference number keeps the word: "GOOGLE*ADS5555555555" → "google ads".
    text = _WORD_THEN_NUMBER.sub(r"\1 \2", APOSTROPHE.sub("", s.replace("www.", " ")))
    words = [w for w in _words(text) if not _is_reference(w)]
    if not words:
        return Descriptor("", processor, hint)
    # The first word is the merchant's own ("HELP SCOUT", "AB TASTY", "BILL.COM"); later ones may be noise.
    first = _VENDOR_PREFIXES.get(words[0], words[0])
    words = [first, *(w for w in words[1:] if w not in _NOISE_WORDS and w not in LEGAL_SUFFIXES)]
    return Descriptor(" ".join(_strip_location(words)), processor, hint)


def normalise_descriptor(text: str) -> str:
    """The merchant's words in a card descriptor: `FIGMA INC 415-8907765 CA` → "figma"."""
    return parse_descriptor(text).name


def looks_like_descriptor(text: str) -> bool:
    """Whether `text` reads as a bank's card descriptor rather than a sentence someone typed:
    capitals and no lower-case letters, or capitals and a processor's asterisk."""
    letters = [c for c in text if c.isalpha()]
    upper = any(c.isupper() for c in letters)
    return upper and ("*" in text.strip("* ") or not any(c.islower() for c in letters))


# Merchant category codes (ISO 18245) that settle the question without reading the name.
_NON_SAAS_MCC = (
    (3000, 3350),  # airlines
    (3351, 3500),  # car rental
    (3501, 3999),  # hotels
    (4011, 4131),  # rail, commuter transport, taxis, buses
    (4411, 4511),  # cruise lines, airlines
    (4722, 4723),  # travel agencies
    (4784, 4789),  # tolls, transport
    (5411, 5499),  # groceries, food stores
    (5511, 5599),  # car dealers, fuel
    (5811, 5814),  # caterers, restaurants, bars, fast food
    (5111, 5111),  # stationery, office supplies
    (5943, 5943),  # office and school supplies
    (5912, 5912),  # pharmacies
    (7011, 7012),  # lodging
    (7512, 7523),  # car rental, parking
)
_SAAS_MCC = frozenset({4816, 5045, 5734, 5817, 5818, 7372, 7375, 7379})


def classify_mcc(code: str | int | None) -> MerchantHint | None:
    """What a merchant category code says: "saas" (software, data services), "non_saas", or None."""
    try:
        value = int(str(code).strip())
    except ValueError:
        return None
    if value in _SAAS_MCC:
        return "saas"
    return "non_saas" if any(low <= value <= high for low, high in _NON_SAAS_MCC) else None
