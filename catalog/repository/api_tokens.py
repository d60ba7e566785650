"""Console tokens in the database: create (the plain token is returned once and never stored),
find a live one by its plain text, list and revoke. Every change is an audit row.

Like `repository`, every function takes the session as a keyword argument and never commits."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, or_, select

from catalog import repository
from catalog.models import ApiToken

TOKEN_PREFIX = "pcw_"  # noqa: S105 - the prefix that makes a leaked token recognisable
PURPOSES = ("api", "calendar")
_DURATION = re.compile(r"^\s*(\d+)\s*([dhw])\s*$")


class TokenError(ValueError):
    """A token request that cannot be honoured (unknown person, bad expiry, no such token)."""


@dataclass(frozen=True)
class IssuedToken:
    id: int
    token: str  # the plain token: shown once, to the person who created it
    email: str
    expires_at: datetime | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_expiry(text: str | None) -> timedelta | None:
    """`90d`, `12h`, `2w` → a duration; empty or `never` → None (the token does not expire)."""
    if text is None or text.strip().lower() in ("", "never"):
        return None
    match = _DURATION.match(text.lower())
    if not match or int(match.group(1)) == 0:
        raise TokenError(f"expiry {text!r} is not a duration like 90d, 12h or 2w (or 'never')")
    amount, unit = int(match.group(1)), match.group(2)
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount), "w": timedelta(weeks=amount)}[unit]


def create(
    session: Session,
    *,
    email: str,
    actor: str,
    now: datetime,
    expires_in: timedelta | None,
    purpose: str = "api",
    label: str | None = None,
) -> IssuedToken:
    """A new token for a person of the directory, audited (without the token)."""
    if purpose not in PURPOSES:
        raise TokenError(f"purpose {purpose!r} is not one of {', '.join(PURPOSES)}")
    person = repository.get_person(session, email=email)
    if person is None:
        raise TokenError(f"{email} is not in the directory (procure directory import)")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        token_hash=token_hash(plain),
        email=person.email,
        purpose=purpose,
        label=label,
        created_at=now,
        created_by=actor,
        expires_at=now + expires_in if expires_in else None,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    expires = row.expires_at.isoformat() if row.expires_at else None
    _audit(session, row, "created", actor=actor, now=now, expires_at=expires)
    return IssuedToken(id=row.id, token=plain, email=row.email, expires_at=row.expires_at)


def find_live(session: Session, *, token: str, now: datetime, purpose: str = "api") -> ApiToken | None:
    """The unrevoked, unexpired token of this plain text and purpose, or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    statement = select(ApiToken).where(
        col(ApiToken.token_hash) == token_hash(token),
        col(ApiToken.purpose) == purpose,
        col(ApiToken.revoked_at).is_(None),
        or_(col(ApiToken.expires_at).is_(None), col(ApiToken.expires_at) > now),
    )
    return session.exec(statement).first()


def list_tokens(session: Session, *, email: str | None = None) -> Sequence[ApiToken]:
    statement = select(ApiToken).order_by(col(ApiToken.id))
    if email is not None:
        statement = statement.where(col(ApiToken.email) == email)
    return session.exec(statement).all()


def revoke(session: Session, *, token_id: int, actor: str, now: datetime) -> bool:
    """Revoke a token; returns False when it was already revoked (nothing changes then)."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise TokenError(f"no token with id {token_id}")
    if row.revoked_at is not None:
        return False
    row.revoked_at = now
    session.add(row)
    _audit(session, row, "revoked", actor=actor, now=now)
    return True


def _audit(session: Session, row: ApiToken, what: str, *, actor: str, now: datetime, **detail: object) -> None:
    """One audit row per token and change (never the token itself)."""
    repository.audit(
        session,
        idem_key=f"web-token:{row.id}:{what}",
        at=now,
        entity="web_token",
        entity_id=str(row.id),
        action=f"token_{what}",
        actor=actor,
        detail={"email": row.email, "purpose": row.purpose, **detail},
    )
