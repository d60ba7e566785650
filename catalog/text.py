"""Text for Slack: mrkdwn escaping, truncation, money, and Jinja2 templates.

Every value interpolated into a template is escaped for mrkdwn (`&`, `<`, `>`), so user text
can never become a mention (`<!channel>`, `<@U…>`) or a link (`<http://evil|click>`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from catalog.money import format_money_symbol

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
ELLIPSIS = "…"

#: The Slack form of money, under its old name here; new code imports `catalog.money`.
format_money = format_money_symbol


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, ending with an ellipsis when cut.

    Cuts between code points and never leaves a dangling escape entity (`&am…`)."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`plural(1, "seat")` → `1 seat`, `plural(3, "seat")` → `3 seats` (`plural_form` for
    irregular words)."""
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


#: How each policy role (catalog.rules.policy.ROLES) is shown to people: as a label on its own
#: (a step's role, a column), and through `role_phrase` inside a sentence.
ROLE_LABELS = {
    "manager": "Manager",
    "finance": "Finance",
    "security": "Security",
    "finops": "FinOps",
    "it": "IT",
    "itam": "ITAM",
    "cost_center_owner": "Cost center owner",
    "executive": "Executive",
}
#: Roles that are a person rather than a team read differently mid-sentence.
_ROLE_IN_A_SENTENCE = {
    "manager": "manager",
    "cost_center_owner": "the cost center's owner",
    "executive": "an executive",
}


def role_label(role: str) -> str:
    """A role named on its own: "Manager", "FinOps", "Cost center owner"."""
    return ROLE_LABELS.get(role, role.replace("_", " ").title())


def role_phrase(role: str) -> str:
    """A role as it reads inside a sentence ("who must approve as an executive"): teams keep
    their label ("Finance"), a person is a common noun ("manager", "the cost center's owner")."""
    return _ROLE_IN_A_SENTENCE.get(role) or ROLE_LABELS.get(role, role)


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return str(value)
    if value is None:
        return ""
    return escape_mrkdwn(str(value))


def _money_filter(cents: int, currency: str) -> Markup:
    return Markup(escape_mrkdwn(format_money_symbol(cents, currency)))  # noqa: S704 (escaped just before)


def _mention_filter(slack_id: str | None) -> Markup:
    """A user mention for an id that came from Slack or the directory, never from free text."""
    if not slack_id or not slack_id.isalnum():
        return Markup("someone")
    return Markup(f"<@{slack_id}>")  # noqa: S704 (alphanumeric id only)


def slack_date(moment: datetime) -> str:
    """A time Slack shows in each reader's own time zone (`<!date^…>`), with a UTC fallback
    for clients that cannot format it. Built from a datetime only, never from free text."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _slack_date_filter(moment: datetime) -> Markup:
    return Markup(slack_date(moment))  # noqa: S704 (digits and a formatted date only)


def _truncate_filter(value: Any, limit: int) -> str:
    return truncate(str(value), limit)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(  # noqa: S701 (autoescaping for mrkdwn is done by `finalize`)
        loader=FileSystemLoader(TEMPLATES_DIR),
        undefined=StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = _money_filter
    env.filters["mention"] = _mention_filter
    env.filters["truncate_text"] = _truncate_filter
    env.filters["slack_date"] = _slack_date_filter
    env.filters["plural"] = plural
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context).strip()
