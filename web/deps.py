"""What every page and API route gets: the console's shared objects, the viewer, rendering.

- `console(request)`: settings, engine, templates, the Temporal façade (connected on first use).
- `page_viewer`: the signed-in person, or a redirect to sign-in; `api_viewer`: the person of a
  Bearer token or of the session cookie, or 401. A POST, PUT, PATCH or DELETE authenticated by
  the cookie must carry the session's CSRF token (form field `csrf_token` or header
  `X-CSRF-Token`), else 403; a Bearer token is not sent by browsers on their own, so it needs none.
- `render(...)`: a template with the viewer, the navigation and the CSRF token.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Engine

from catalog import repository
from catalog.db import transaction
from catalog.money import format_money
from catalog.repository import api_tokens
from catalog.settings import Settings
from web.access import Viewer, may_edit_register, may_see_register, sees_everything, visible_pages

TEMPLATES = FilePath(__file__).parent / "templates"
SESSION_COOKIE = "procure_session"
SESSION_MAX_AGE_S = 12 * 3600
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class SignInRequired(Exception):
    """Raised by `page_viewer` without a session: the app answers with a redirect to sign-in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class Session:
    email: str
    csrf: str


@dataclass
class Console:
    settings: Settings
    engine: Engine
    serializer: URLSafeTimedSerializer
    templates: Jinja2Templates
    temporal_factory: Callable[[], Any] | None = None
    _temporal: Any = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def temporal(self) -> Any:
        """The `ProcurementClient` the bot uses, connected on first use: pages that only read
        never wait for Temporal."""
        async with self._lock:
            if self._temporal is None:
                if self.temporal_factory is None:
                    raise HTTPException(503, "Temporal is not configured for this console")
                self._temporal = await self.temporal_factory()
        return self._temporal

    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.company_timezone)

    def today(self) -> date:
        return datetime.now(UTC).astimezone(self.tz()).date()

    def local(self, moment: datetime | None) -> str:
        """A timestamp as the company reads it: `2026-12-04 09:30` in COMPANY_TIMEZONE."""
        if moment is None:
            return ""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.tz()).strftime("%Y-%m-%d %H:%M")


def console(request: Request) -> Console:
    found: Console = request.app.state.console
    return found


def read_session(request: Request) -> Session | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        data = console(request).serializer.loads(raw, salt="session", max_age=SESSION_MAX_AGE_S)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("e"), str) or not isinstance(data.get("c"), str):
        return None
    return Session(email=data["e"], csrf=data["c"])


def _viewer_by_email(engine: Engine, email: str) -> Viewer | None:
    with transaction(engine, read_only=True) as session:
        person = repository.get_person(session, email=email)
        return Viewer.from_person(person) if person else None


def _viewer_by_token(engine: Engine, token: str) -> Viewer | None:
    with transaction(engine, read_only=True) as session:
        row = api_tokens.find_live(session, token=token, now=datetime.now(UTC))
        person = repository.get_person(session, email=row.email) if row else None
        return Viewer.from_person(person) if person else None


async def _check_csrf(request: Request, session: Session) -> None:
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, session.csrf):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


async def _session_viewer(request: Request) -> Viewer | None:
    session = read_session(request)
    if session is None:
        return None
    viewer = await run_in_threadpool(_viewer_by_email, console(request).engine, session.email)
    if viewer is not None:
        await _check_csrf(request, session)
        request.state.csrf = session.csrf
    return viewer


async def page_viewer(request: Request) -> Viewer:
    viewer = await _session_viewer(request)
    if viewer is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    request.state.viewer = viewer
    return viewer


async def api_viewer(request: Request) -> Viewer:
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        viewer = await run_in_threadpool(_viewer_by_token, console(request).engine, token.strip())
    else:
        viewer = await _session_viewer(request)
    if viewer is None:
        raise HTTPException(401, "sign in, or send Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"})
    request.state.viewer = viewer
    return viewer


def require(allowed: bool, what: str = "this page") -> None:
    """403 unless the role matrix allows it (web/access.py)."""
    if not allowed:
        raise HTTPException(403, f"your directory roles do not let you see {what}")


def render(
    request: Request, template: str, viewer: Viewer | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    c = console(request)
    return c.templates.TemplateResponse(
        request,
        template,
        {
            "viewer": viewer,
            "pages": visible_pages(viewer) if viewer else [],
            "csrf_token": getattr(request.state, "csrf", ""),
            "sees_everything": bool(viewer and sees_everything(viewer)),
            "may_see_register": bool(viewer and may_see_register(viewer)),
            "may_edit_register": bool(viewer and may_edit_register(viewer)),
            "today": c.today(),
            "status_code": status_code,
            **context,
        },
        status_code=status_code,
    )


def _currency_for(key: str, detail: Mapping[str, Any]) -> str | None:
    """The currency an amount `<prefix>_cents` is in: `<prefix>_currency`'s, else the record's."""
    prefix = key.removesuffix("_cents")
    for candidate in (f"{prefix}_currency", f"{prefix.split('_', 1)[0]}_currency", "currency"):
        if isinstance(detail.get(candidate), str):
            return str(detail[candidate])
    return None


def describe_value(key: str, value: Any, detail: Mapping[str, Any]) -> str:
    """One value of an audit detail as a person reads it: an amount in cents as money in its
    currency (a raw 20000000 read as two hundred thousand, not two hundred million), a list
    as its items, yes/no for a flag."""
    if key.endswith("_cents") and isinstance(value, int) and not isinstance(value, bool):
        currency = _currency_for(key, detail)
        return format_money(value, currency) if currency else f"{value / 100:,.2f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "none"
    return "—" if value is None else str(value)


def _label(key: str) -> str:
    return key.removesuffix("_cents").replace("_", " ")


def describe_change(before: Mapping[str, Any], after: Mapping[str, Any], currency: str | None) -> str:
    """An edit's audit detail, "field: old → new; …", amounts in the record's `currency`."""
    context_before = {"currency": currency, **before}
    context_after = {"currency": currency, **after}
    return "; ".join(
        f"{_label(key)}: {describe_value(key, before.get(key), context_before)} → "
        f"{describe_value(key, value, context_after)}"
        for key, value in after.items()
    )


def describe(detail: Any) -> str:
    """An audit row's detail (or a budget snapshot) as one readable line, "key: value; …"."""
    if not isinstance(detail, Mapping):
        return "" if detail is None else str(detail)
    return "; ".join(f"{_label(key)}: {describe_value(key, value, detail)}" for key, value in detail.items())


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals["money"] = format_money
    templates.env.filters["describe"] = describe
    templates.env.globals["describe_change"] = describe_change
    templates.env.trim_blocks = True
    templates.env.lstrip_blocks = True
    return templates


#: Route parameters: `viewer: PageViewer` (redirect to sign-in) or `viewer: ApiViewer` (401).
PageViewer = Annotated[Viewer, Depends(page_viewer)]
ApiViewer = Annotated[Viewer, Depends(api_viewer)]

#: The largest row id and list offset the database takes (a PostgreSQL `integer`): a bigger
#: number in an address (`/assets/99999999999999999999`) is refused as a bad value, not a 500.
MAX_DB_INT = 2**31 - 1
#: A row id in a path (`/assets/{asset_id}`, `/seats/{seat_id}/…`).
RowId = Annotated[int, Path(ge=1, le=MAX_DB_INT)]
#: A list's `offset` (a negative one is the first page).
Offset = Annotated[int, Query(le=MAX_DB_INT)]
