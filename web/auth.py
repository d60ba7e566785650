"""Sign in with Slack (OpenID Connect, authorization code flow) and the session cookie.

Slack's endpoints (api.slack.com/authentication/sign-in-with-slack): the browser goes to
`/openid/connect/authorize`; the console exchanges the code at `/api/openid.connect.token` and
reads the person at `/api/openid.connect.userInfo`. Without Slack credentials the simulator
serves the same three endpoints (bot/simulator/oidc.py), so sign-in works offline.

- `state` (against login CSRF) and `nonce` (against a replayed ID token) live in a short-lived
  signed cookie set when the flow starts; the callback refuses a mismatch of either.
- The ID token comes straight from the token endpoint over the back channel, authenticated by
  the client secret, so its claims are read without checking its signature (OpenID Connect
  Core 1.0, 3.1.3.7: TLS to the token endpoint stands in for the signature); its `nonce` must
  still be ours. Who the person is comes from userInfo, by email, looked up in the directory:
  a Slack user who is not in the directory is refused.
- The session is a signed cookie (itsdangerous), `HttpOnly`, `SameSite=Lax`, `Secure` when the
  console is served over HTTPS, holding the email and the session's CSRF token.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature

from catalog import repository
from catalog.db import transaction
from catalog.settings import SlackConfigError
from web.access import Viewer, may_see_register
from web.deps import SESSION_COOKIE, SESSION_MAX_AGE_S, Console, PageViewer, console, render

router = APIRouter(include_in_schema=False)

FLOW_COOKIE = "procure_oidc"
FLOW_MAX_AGE_S = 600
SCOPES = "openid email profile"
AUTHORIZE_PATH = "/openid/connect/authorize"
TOKEN_PATH = "/api/openid.connect.token"  # noqa: S105 - a path, not a secret
USERINFO_PATH = "/api/openid.connect.userInfo"


class SignInFailed(Exception):
    """Why a sign-in was refused, in words for the person trying."""


def safe_next(target: str | None) -> str:
    """Only a path on this site: never `//evil.example` or `https://…` (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _secure(c: Console) -> bool:
    return c.settings.console_url().startswith("https://")


def _callback_url(c: Console) -> str:
    return c.settings.console_url() + "/auth/callback"


def set_session(response: Response, c: Console, email: str) -> None:
    """Sign `email` in on `response`, with a fresh CSRF token."""
    value = c.serializer.dumps({"e": email, "c": secrets.token_urlsafe(24)}, salt="session")
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=_secure(c),
        path="/",
    )


@router.get("/auth/login")
async def login(request: Request, next: str = "/") -> Response:
    """The sign-in page: one button that starts the OIDC flow."""
    return render(request, "login.html", None, next=safe_next(next), error=None)


@router.get("/auth/start")
async def start(request: Request, next: str = "/") -> Response:
    c = console(request)
    try:
        client_id, _ = c.settings.oidc_client()
    except SlackConfigError as exc:
        return render(request, "login.html", None, status_code=503, next=safe_next(next), error=str(exc))
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    query = urlencode(
        {
            "response_type": "code",
            "scope": SCOPES,
            "client_id": client_id,
            "state": state,
            "nonce": nonce,
            "redirect_uri": _callback_url(c),
        }
    )
    response = RedirectResponse(f"{c.settings.oidc_url()}{AUTHORIZE_PATH}?{query}", status_code=303)
    flow = c.serializer.dumps({"s": state, "n": nonce, "next": safe_next(next)}, salt="oidc-flow")
    response.set_cookie(
        FLOW_COOKIE, flow, max_age=FLOW_MAX_AGE_S, httponly=True, samesite="lax", secure=_secure(c), path="/auth"
    )
    return response


def _claims(id_token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (see the module docstring for why that is enough here)."""
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:
        raise SignInFailed("the sign-in service sent an unreadable ID token") from exc
    if not isinstance(claims, dict):
        raise SignInFailed("the sign-in service sent an unreadable ID token")
    return claims


async def _exchange(c: Console, code: str, nonce: str) -> str:
    """The code for the person's email: token endpoint, nonce check, then userInfo."""
    client_id, client_secret = c.settings.oidc_client()
    base = c.settings.oidc_url()
    async with httpx.AsyncClient(timeout=10) as http:
        token = (
            await http.post(
                base + TOKEN_PATH,
                data={
                    "client_id": client_id,
                    "client_secret": client_secret,
                    "code": code,
                    "grant_type": "authorization_code",
                    "redirect_uri": _callback_url(c),
                },
            )
        ).json()
        if not token.get("ok") or not token.get("access_token"):
            raise SignInFailed(f"the sign-in service refused the code ({token.get('error', 'no access token')})")
        if _claims(str(token.get("id_token", ""))).get("nonce") != nonce:
            raise SignInFailed("the ID token was not issued for this sign-in (nonce mismatch)")
        info = (
            await http.get(base + USERINFO_PATH, headers={"Authorization": f"Bearer {token['access_token']}"})
        ).json()
    email = info.get("email") if info.get("ok") else None
    if not isinstance(email, str) or not email:
        raise SignInFailed("the sign-in service did not say who you are (no email in userInfo)")
    return email


def _directory_viewer(c: Console, email: str) -> Viewer | None:
    with transaction(c.engine, read_only=True) as session:
        person = repository.get_person(session, email=email.strip().lower()) or repository.get_person(
            session, email=email
        )
        return Viewer.from_person(person) if person else None


def landing(viewer: Viewer, target: str | None) -> str:
    """Where sign-in lands: the page asked for; the overview's figures are contract costs, so
    someone who may not see them starts at their requests instead."""
    path = safe_next(target)
    return "/requests" if path == "/" and not may_see_register(viewer) else path


@router.get("/auth/callback")
async def callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
    c = console(request)
    try:
        flow = c.serializer.loads(request.cookies.get(FLOW_COOKIE, ""), salt="oidc-flow", max_age=FLOW_MAX_AGE_S)
    except BadSignature:
        flow = None
    try:
        if error:
            raise SignInFailed(f"sign-in was cancelled or refused ({error})")
        if not isinstance(flow, dict) or not state or not secrets.compare_digest(state, str(flow.get("s", ""))):
            raise SignInFailed("this sign-in link is stale or was not started here: start again")
        email = await _exchange(c, code, str(flow["n"]))
        known = await run_in_threadpool(_directory_viewer, c, email)
        if known is None:
            raise SignInFailed(f"{email} is not in the directory: ask ITAM to add you (procure directory import)")
    except (SignInFailed, httpx.HTTPError) as exc:
        failed = render(request, "login.html", None, status_code=403, next="/", error=str(exc))
        failed.delete_cookie(FLOW_COOKIE, path="/auth")
        return failed
    response = RedirectResponse(landing(known, flow.get("next")), status_code=303)
    response.delete_cookie(FLOW_COOKIE, path="/auth")
    set_session(response, c, known.email)
    return response


@router.post("/auth/logout")
async def logout(request: Request, viewer: PageViewer) -> Response:
    response = RedirectResponse("/auth/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
