"""Cloud billing in FOCUS 1.x, the FinOps Foundation's cost-and-usage format
(`procure spend import FILE --format focus`): the marketplace purchases in it.

A line is a marketplace purchase when its publisher is a third party, not the cloud itself.
That is judged against each cloud's own entity names, never by string equality: AWS bills
its own services as "Amazon Web Services, Inc." (or "… Canada, Inc.", "… EMEA SARL") while
the provider column says "AWS"; Microsoft's say "Microsoft", Google's "Google", Oracle's
"Oracle". The cloud's own usage is left out (it is not SaaS bought outside the process), as
are tax and credit lines; corrections (`Adjustment`, negative amounts) count with their sign.
`BilledCost` is the amount, rounded half-up to cents.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from catalog.importers.directory import ImportProblem
from catalog.importers.spend_lines import MAX_LINES, LineKeys, SpendLineRow, bulk, cached_date, read_table
from catalog.money import CURRENCY_CODES

__all__ = ["FOCUS_COLUMNS", "cloud_of", "is_marketplace", "parse_focus"]

FOCUS_COLUMNS = (
    "ChargePeriodStart",
    "BilledCost",
    "BillingCurrency",
    "ChargeCategory",
    "ProviderName",
    "PublisherName",
)
_OPTIONAL = ("InvoiceIssuerName", "ServiceName", "SubAccountId", "Tags")
_CATEGORIES = ("usage", "purchase", "tax", "credit", "adjustment")
_NEVER_COUNTED = {"tax": "tax lines", "credit": "credit lines"}
_NATIVE = "lines of the cloud's own services"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_WORDS = re.compile(r"[^a-z0-9]+")

# Each cloud: the key commitments use (catalog.rules.budget.PROVIDERS, or the cloud's name),
# the names its provider column takes, and the names of its own billing entities (the start
# of the publisher's name, in words).
_CLOUDS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("aws", ("aws", "amazon web services", "amazon"), ("amazon web services", "amazon", "aws")),
    ("azure", ("microsoft", "azure", "microsoft azure"), ("microsoft", "azure")),
    ("gcp", ("google", "google cloud", "gcp", "google cloud platform"), ("google", "gcp")),
    ("oracle", ("oracle", "oci", "oracle cloud infrastructure"), ("oracle", "oci")),
    ("alibaba", ("alibaba", "alibaba cloud"), ("alibaba", "aliyun")),
    ("ibm", ("ibm", "ibm cloud"), ("ibm",)),
)


def _words(text: str) -> str:
    return " ".join(_WORDS.sub(" ", text.casefold()).split())


def cloud_of(provider: str) -> tuple[str, tuple[str, ...]]:
    """The cloud's key and its own entity names; an unknown provider is its own only entity."""
    name = _words(provider)
    for key, names, entities in _CLOUDS:
        if name in names:
            return key, entities
    return name, (name,) if name else ()


def is_marketplace(provider: str, publisher: str) -> bool:
    """Whether `publisher` is a third party selling through `provider`'s marketplace."""
    publisher_words = _words(publisher)
    if not publisher_words:
        return False
    _, entities = cloud_of(provider)
    return not any(publisher_words == e or publisher_words.startswith(e + " ") for e in entities)


def _cents(text: str) -> int:
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"BilledCost {text[:40]!r} is not a number") from None
    if not value.is_finite() or abs(value) >= Decimal(10) ** 13:
        raise ValueError(f"BilledCost {text[:40]!r} is not a plausible amount")
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _tag(tags: str, names: tuple[str, ...]) -> str | None:
    """A value of the line's `Tags` (a JSON object) under one of `names` (any case, - or _)."""
    if not tags.startswith("{"):
        return None
    try:
        parsed = json.loads(tags)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    for key, value in parsed.items():
        if isinstance(value, str) and _words(str(key)).replace(" ", "") in names and value.strip():
            return value.strip()
    return None


@bulk()
def parse_focus(text: str) -> tuple[list[SpendLineRow], list[ImportProblem], dict[str, int]]:
    """The marketplace lines of a FOCUS export, the problems, and how many lines were left
    out and why. The key of a line is a digest of all its values (and its occurrence)."""
    header, rows, problems = read_table(text)
    if problems:
        return [], problems, {}
    position = {h: i for i, h in reversed(list(enumerate(header)))}
    missing = [c for c in FOCUS_COLUMNS if c not in position]
    if missing:
        return [], [ImportProblem(1, f"not a FOCUS export: no column {', '.join(missing)}")], {}
    at = {c: position[c] for c in (*FOCUS_COLUMNS, *_OPTIONAL) if c in position}
    keys = LineKeys("focus")
    skipped: Counter[str] = Counter()
    records: list[SpendLineRow] = []
    for count, (line, values) in enumerate(rows):
        if count >= MAX_LINES:
            problems.append(ImportProblem(line, f"more than {MAX_LINES:,} lines; split the file"))
            break
        get = {c: v for c, i in at.items() if (v := (values[i].strip() if i < len(values) else "")) != "NULL"}
        before = len(problems)
        category = get.get("ChargeCategory", "").casefold()
        if category not in _CATEGORIES:
            problems.append(
                ImportProblem(
                    line,
                    f"ChargeCategory {get.get('ChargeCategory', '')[:30]!r} is not one of "
                    "Usage, Purchase, Tax, Credit, Adjustment",
                )
            )
        elif category in _NEVER_COUNTED:
            skipped[_NEVER_COUNTED[category]] += 1
            continue
        provider, publisher = get.get("ProviderName", ""), get.get("PublisherName", "")
        if not provider:
            problems.append(ImportProblem(line, "missing ProviderName"))
        if len(problems) == before and not is_marketplace(provider, publisher):
            skipped[_NATIVE] += 1
            continue
        spent_on, amount = None, None
        try:
            spent_on = cached_date(get.get("ChargePeriodStart", ""))
        except ValueError as error:
            problems.append(ImportProblem(line, f"ChargePeriodStart: {error}"))
        try:
            amount = _cents(get.get("BilledCost", ""))
        except ValueError as error:
            problems.append(ImportProblem(line, str(error)))
        currency = get.get("BillingCurrency", "").upper()
        if currency not in CURRENCY_CODES:
            problems.append(ImportProblem(line, f"BillingCurrency {currency[:20]!r} is not an ISO 4217 currency code"))
        if len(problems) > before or spent_on is None or amount is None:
            continue
        tags = get.get("Tags", "")
        payer = (_tag(tags, ("owner", "owneremail", "email", "createdby")) or "").lower()
        records.append(
            SpendLineRow(
                source="focus",
                source_key=keys.by_content(*values),
                spent_on=spent_on,
                descriptor=publisher[:300],
                amount_cents=amount,
                currency=currency,
                line=line,
                payer_email=payer if _EMAIL.fullmatch(payer) else None,
                cost_center=(_tag(tags, ("costcenter", "costcentre", "cc")) or "")[:64] or None,
                marketplace=True,
                provider=cloud_of(provider)[0][:16],
                publisher=publisher[:200],
                service_name=get.get("ServiceName", "")[:200] or None,
                sub_account_id=get.get("SubAccountId", "")[:128] or None,
            )
        )
    return records, problems, dict(skipped)
