"""The exports discovery reads, whoever uploads them: `procure spend import --format
card|ap|focus`, `procure usage import --format sso` and the console's upload on `/discovered`
parse and apply a file through these two functions, so the checks, the line numbers of the
problems and what is written are the same (all or nothing: the caller applies in one
transaction, and any problem means nothing is applied)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from catalog.importers.rows import ImportProblem

__all__ = ["EXPORT_KINDS", "ParsedExport", "apply_export", "export_digest", "parse_export"]

#: What each kind of file is, as the console's upload form offers them.
EXPORT_KINDS = {
    "card": "card or expense export",
    "ap": "accounts payable / vendor bills",
    "focus": "cloud bill (FOCUS 1.x)",
    "sso": "SSO sign-ins (Okta, Entra)",
}
#: What one record of each kind is called in "imported N …".
RECORD_NAMES = {"card": "card lines", "ap": "spend lines", "focus": "focus lines", "sso": "sign-ins"}


@dataclass
class ParsedExport:
    kind: str
    filename: str
    digest: str  # of the file's name and content: the import's idempotency key
    rows: list[Any]
    problems: list[ImportProblem]
    skipped: dict[str, int] = field(default_factory=dict)  # FOCUS lines left out on purpose, by why

    @property
    def what(self) -> str:
        return RECORD_NAMES[self.kind]


def export_digest(filename: str, text: str) -> str:
    return hashlib.sha256(f"{filename}\n{text}".encode()).hexdigest()


def parse_export(
    kind: str,
    text: str,
    *,
    filename: str,
    today: date,
    preset: str | None = None,
    overrides: Mapping[str, str] | None = None,
) -> ParsedExport:
    """Every record of the file and every problem, with its line number; nothing is written."""
    digest = export_digest(filename, text)
    if kind == "card":
        from catalog.importers.spend_card import parse_card

        rows, problems = parse_card(text, preset=preset or None, overrides=dict(overrides or {}))
        return ParsedExport(kind, filename, digest, list(rows), problems)
    if kind == "focus":
        from catalog.importers.spend_focus import parse_focus

        lines, problems, left_out = parse_focus(text)
        return ParsedExport(kind, filename, digest, list(lines), problems, dict(left_out))
    if kind == "ap":
        from catalog.importers.budgets import parse_spend

        spend, problems = parse_spend(text, filename=filename)
        return ParsedExport(kind, filename, digest, list(spend), problems)
    if kind == "sso":
        from catalog.importers.usage_sso import parse_sso

        logins, problems = parse_sso(text, as_of=today)
        return ParsedExport(kind, filename, digest, list(logins), problems)
    raise ValueError(f"unknown export kind {kind!r}: use {', '.join(EXPORT_KINDS)}")


@dataclass(frozen=True)
class ApCurrency:
    """How AP spend meets the budget lines: the fiscal year's first month, and the policy's
    currency and rates (None when the policy cannot be read: only same-currency spend then)."""

    start_month: int
    rates: Any = None
    currency: str | None = None


def apply_export(session: Session, parsed: ParsedExport, *, actor: str, at: datetime, ap: ApCurrency | None) -> Any:
    """Write a parsed file in `session` (the caller's one transaction); returns its summary.
    Raises `ImportFileError` for a problem only the database can see."""
    if parsed.kind in ("card", "focus"):
        from catalog.importers.spend_lines import apply_spend_lines

        return apply_spend_lines(
            session, rows=parsed.rows, actor=actor[:320], at=at, file_digest=parsed.digest, skipped=parsed.skipped
        )
    if parsed.kind == "ap":
        from catalog.importers.budgets import apply_spend

        if ap is None:
            raise ValueError("AP spend needs the fiscal year's start month and the policy's rates")
        return apply_spend(
            session,
            rows=parsed.rows,
            start_month=ap.start_month,
            actor=actor[:320],
            at=at,
            rates=ap.rates,
            line_currency=ap.currency,
        )
    from catalog.discovery import recogniser
    from catalog.importers.usage_sso import apply_sso

    recognise_one, _ = recogniser(session)
    return apply_sso(
        session, logins=parsed.rows, product_of=lambda app: recognise_one(app).product_id, actor=actor[:320], at=at
    )


def ap_currency(start_month: int) -> tuple[ApCurrency, str | None]:
    """The AP settings from the policy in force, and a warning when it cannot be read."""
    from catalog.routing import load_active_policy
    from catalog.rules.policy import PolicyError

    try:
        policy = load_active_policy()
    except (PolicyError, OSError) as error:
        # Spend in the budget's own currency needs no rate; any other is refused, saying so.
        return ApCurrency(start_month), f"the policy can't be read, so no currency can be converted: {error}"
    return ApCurrency(start_month, policy.rates, policy.currency), None
