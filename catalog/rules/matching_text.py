"""Text cleanup shared by product recognition: normalisation, word lists, purchase channel.

Pure: no I/O. `normalize` turns what people type (Slack markup, URLs, accents, other scripts)
into lower-case ASCII-ish words; `split_channel` takes the marketplace phrase out.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Channel = Literal["direct", "aws_marketplace", "azure_marketplace", "gcp_marketplace"]

MAX_QUERY_CHARS = 500
BARRIER = "|"  # never produced by normalisation; phrases do not span it

# Words that never take part in fuzzy matching, vendor lookup or partial-name candidates:
# English function words plus the vocabulary of a purchase request.
STOPWORDS = frozenset(
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
) | frozenset(
    # The same request vocabulary in the languages people write requests in (accents removed,
    # Cyrillic transliterated), so "je voudrais une licence Figma" leaves only "figma" to match.
    """
    je voudrais voudrions besoin avoir acheter achat abonnement compte acces licence licences pour le la
    les des un une du au aux nous notre nos equipe merci svp sil vous plait est ce que qui avec sur
    ich brauche brauchen eine einen einer lizenz lizenzen fur unser unsere unseren team bitte zugang konto
    kaufen abo moechte mochte wir benotigen benoetigen fuer und der die das den dem ein mit zum zur
    necesito necesitamos una licencia licencias para el los las del nuestro nuestra equipo por favor
    comprar cuenta acceso quiero queremos suscripcion con
    vorrei vorremmo ho abbiamo bisogno di licenza licenze il nostro nostra squadra acquistare grazie
    preciso precisamos uma licenca licencas o os nosso nossa time obrigado
    ik heb hebben nodig een licentie licenties voor ons onze graag
    mne nam nuzhna nuzhen nuzhno nuzhny litsenziya litsenzii litsenziyu dlya na kupit podpiska
    podpisku dostup pozhaluysta komandy komanda khochu
    """.split()
)

FUNCTION_WORDS = frozenset("a an the and or of for to in on at by with from via".split())

LEGAL_SUFFIXES = frozenset(
    "inc incorporated llc ltd limited corp corporation co company gmbh ag sa sas plc bv nv pty lp "
    "llp us oy ab as srl spa kk".split()
)

_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
# Edition words a catalog name may carry that people leave out: "IntelliJ IDEA Ultimate" → "intellij idea".
EDITION_WORDS = frozenset("pro professional ultimate enterprise business premium plus standard starter edition".split())


# --------------------------------------------------------------------------- text cleanup

_SLACK_LABELLED_LINK = re.compile(r"<((?:https?|mailto|ftp)[^|>]*)\|([^>]*)>")
_SLACK_LINK = re.compile(r"<((?:https?|ftp)://[^>|]*)>")
SLACK_SPECIAL = re.compile(r"<[!@#][^>]*>")
_BARE_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>]+")
_URL_HOST = re.compile(r"[a-z]+://([^/:?#\s]+)")
_HTML_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|apos|nbsp|#\d+);")
_EMOJI_CODE = re.compile(r":[a-z0-9_+'-]+:")
_APOSTROPHE_S = re.compile(r"['’]s\b")
APOSTROPHE = re.compile(r"['’`]")
_NON_WORD = re.compile(r"[\W_]+")


def _url_words(match: re.Match[str]) -> str:
    # A pasted pricing page still names the product: "https://www.figma.com/pricing" → "figma".
    label = match.group(2) if match.re is _SLACK_LABELLED_LINK else ""
    host = _URL_HOST.match(match.group(0) if match.re is _BARE_URL else match.group(1))
    if host is None:
        return f" {label} "
    parts = [p for p in host.group(1).split(".") if p and p != "www"]
    return f" {label} {' '.join(parts[:-1] if len(parts) > 1 else parts)} "


# Cyrillic and Greek letters → Latin, so "Фигма" and "Лицензия на Miro" read as Latin words.
_TRANSLITERATION = str.maketrans(
    {
        **dict(zip("абвгдезийклмнопрстуфыэ", "abvgdeziyklmnoprstufye", strict=True)),
        **{"ё": "e", "ж": "zh", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ь": ""},
        **{"ю": "yu", "я": "ya", "є": "ye", "і": "i", "ї": "yi", "ґ": "g"},
        **dict(zip("αβγδεζηικλμνξοπρσςτυφω", "abgdeziiklmnxoprsstyfo", strict=True)),
        **{"θ": "th", "χ": "ch", "ψ": "ps"},
    }
)
# Scripts written without spaces run into the product name: "Slackのライセンス", "我需要Figma".
_SCRIPT_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[^\W\da-z_])|(?<=[^\W\da-z_])(?=[a-z0-9])")


def _takes_accents(base: str) -> bool:
    """Latin, Greek and Cyrillic letters lose their accents; other scripts keep their marks
    (a kana's voicing mark changes the sound: ボ is not ホ)."""
    code = ord(base)
    return code < 0x0530 or 0x1E00 <= code <= 0x1FFF


def strip_accents(text: str) -> str:
    """`text` without the accents of Latin, Greek and Cyrillic letters (é → e), every other
    script as it was."""
    if text.isascii():
        return text
    kept: list[str] = []
    for c in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(c) and kept and _takes_accents(kept[-1]):
            continue
        kept.append(c)
    return unicodedata.normalize("NFC", "".join(kept))


def normalize(text: str) -> str:
    """Lower-case words separated by single spaces; Slack markup, URLs, emoji and accents removed,
    Cyrillic and Greek transliterated, and Latin words split from the scripts around them."""
    s = unicodedata.normalize("NFKC", text).casefold()
    s = _SLACK_LABELLED_LINK.sub(_url_words, s)
    s = _SLACK_LINK.sub(_url_words, s)
    s = SLACK_SPECIAL.sub(" ", s)
    s = _BARE_URL.sub(_url_words, s)
    s = _HTML_ENTITY.sub(" ", s)
    s = _EMOJI_CODE.sub(" ", s)
    s = strip_accents(s)
    s = _APOSTROPHE_S.sub("", s)
    s = APOSTROPHE.sub("", s).translate(_TRANSLITERATION)
    return _NON_WORD.sub(" ", _SCRIPT_BOUNDARY.sub(" ", s)).strip()


def compact(key: str) -> str:
    return key.replace(" ", "")


def vendor_core(vendor: str) -> str:
    """The vendor's name without legal suffixes: "Zoom Video Communications, Inc." → "zoom video communications"."""
    words = normalize(vendor).split()
    while words and words[-1] in LEGAL_SUFFIXES:
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
DATE_PHRASE = re.compile(
    r"\b(?:by|on|until|till|til|before|after|next|this|last|from|every|since|due|starting|start|thru|through) "
    rf"(?:{_WEEKDAYS})s?\b(?! com\b)|\b(?:{_WEEKDAYS}) (?:morning|afternoon|evening|night|eod|cob)\b"
)


def split_channel(text: str) -> tuple[Channel, str]:
    """The purchase channel named in `text`, and `text` with that phrase replaced by a barrier."""
    channel: Channel = "direct"
    first = len(text) + 1
    for name, pattern in _CHANNELS:
        found = pattern.search(text)
        if found is not None and found.start() < first:
            channel, first = name, found.start()
    for _, pattern in _CHANNELS:
        text = pattern.sub(f" {BARRIER} ", text)
    return channel, text
