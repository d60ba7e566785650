"""Seat counts written in a request: "figma 2 seats", "for 5 people", "x4", "two seats".

Pure: no I/O. Split from `catalog.rules.matching`, which re-exports both functions.
"""

from __future__ import annotations

import re
import unicodedata

from catalog.rules.matching_text import MAX_QUERY_CHARS, SLACK_SPECIAL

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
    s = SLACK_SPECIAL.sub(" ", unicodedata.normalize("NFKC", text[:MAX_QUERY_CHARS]).casefold())
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
