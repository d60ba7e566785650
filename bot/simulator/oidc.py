"""Sign in with Slack, simulated: the three OpenID Connect endpoints Slack serves, for the
workspace's people, so the web console signs in with no workspace and no internet.

- `GET /openid/connect/authorize`: a "Continue as …" picker of the workspace's people;
  choosing one (a same-origin form POST) redirects to `redirect_uri` with `code` and `state`.
- `POST /api/openid.connect.token`: the code (once, within 10 minutes, with the client id,
  secret and the same redirect URI) for `{"ok": true, "access_token", "id_token"}`.
- `GET /api/openid.connect.userInfo`: the person of a Bearer access token, with Slack's claims.

The ID token is a JWT signed with HS256 under the client secret: enough for a local stand-in
(the console reads it from the back channel, as it does Slack's). The issuer is the simulator's
base URL. Codes and tokens live in memory and vanish with the process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.simulator.config import SimUser
from bot.simulator.runtime import simulator

CODE_TTL_S = 600.0
TOKEN_TTL_S = 3600.0
REQUIRED_SCOPE = "openid"


@dataclass(frozen=True)
class Grant:
    user_id: str
    client_id: str
    redirect_uri: str
    nonce: str | None
    issued: float


@dataclass
class OidcProvider:
    """The clients the simulator accepts and what it has handed out."""

    client_id: str
    client_secret: str
    codes: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # access token -> (user id, issued)


def _provider(request: Request) -> OidcProvider:
    provider: OidcProvider = request.app.state.oidc
    return provider


def _issuer(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def id_token(claims: dict[str, object], secret: str) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _user_claims(request: Request, user: SimUser) -> dict[str, object]:
    config = simulator(request).config
    return {
        "sub": user.id,
        "https://slack.com/user_id": user.id,
        "https://slack.com/team_id": config.team_id,
        "email": user.email,
        "email_verified": True,
        "name": user.name,
        "given_name": user.name.split(" ")[0],
        "https://slack.com/team_domain": config.team_domain,
    }


def _picker_error(message: str, status: int = 400) -> Response:
    return HTMLResponse(f"<!doctype html><title>Sign-in error</title><p>{html.escape(message)}</p>", status)


def _authorize_params(params: dict[str, str], provider: OidcProvider) -> str | None:
    """What is wrong with an authorize request, or None."""
    if params.get("client_id") != provider.client_id:
        return "unknown client_id"
    if params.get("response_type") != "code":
        return "response_type must be code"
    if REQUIRED_SCOPE not in params.get("scope", "").split():
        return "scope must include openid"
    if not params.get("redirect_uri", "").startswith(("http://", "https://")):
        return "redirect_uri must be an http(s) URL"
    return None


async def authorize(request: Request) -> Response:
    provider = _provider(request)
    if request.method == "POST":
        form = await request.form()
        params = {k: str(v) for k, v in form.items()}
    else:
        params = dict(request.query_params)
    if problem := _authorize_params(params, provider):
        return _picker_error(problem)
    config = simulator(request).config
    if request.method == "POST":
        user = config.user(params.get("user_id", ""))
        if user is None or user.is_bot:
            return _picker_error("choose a person of the workspace")
        code = secrets.token_urlsafe(24)
        provider.codes[code] = Grant(
            user.id, params["client_id"], params["redirect_uri"], params.get("nonce"), time.monotonic()
        )
        query = urlencode({"code": code, "state": params.get("state", "")})
        return RedirectResponse(f"{params['redirect_uri']}{'&' if '?' in params['redirect_uri'] else '?'}{query}", 303)
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
        if k in ("client_id", "response_type", "scope", "redirect_uri", "state", "nonce")
    )
    choices = "".join(
        f'<li><form method="post">{hidden}<button name="user_id" value="{html.escape(u.id)}">'
        f"Continue as {html.escape(u.name)}</button> <small>{html.escape(u.email)}</small></form></li>"
        for u in config.users
        if not u.is_bot
    )
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in with Slack (simulator)</title>'
        "</head><body><main><h1>Sign in to the console</h1><p>The local Slack simulator signs you in as one of "
        f"the workspace's people.</p><ul>{choices}</ul></main></body></html>"
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


async def token(request: Request) -> Response:
    provider = _provider(request)
    form = await request.form()
    code = str(form.get("code", ""))
    grant = provider.codes.pop(code, None)
    if str(form.get("client_id", "")) != provider.client_id or not hmac.compare_digest(
        str(form.get("client_secret", "")), provider.client_secret
    ):
        return JSONResponse({"ok": False, "error": "invalid_client_id"})
    if grant is None or time.monotonic() - grant.issued > CODE_TTL_S:
        return JSONResponse({"ok": False, "error": "invalid_code"})
    if str(form.get("redirect_uri", "")) != grant.redirect_uri or grant.client_id != provider.client_id:
        return JSONResponse({"ok": False, "error": "bad_redirect_uri"})
    user = simulator(request).config.user(grant.user_id)
    assert user is not None
    access = "xoxp-sim-" + secrets.token_urlsafe(24)
    provider.tokens[access] = (user.id, time.monotonic())
    now = int(time.time())
    claims = {
        **_user_claims(request, user),
        "iss": _issuer(request),
        "aud": provider.client_id,
        "iat": now,
        "exp": now + int(TOKEN_TTL_S),
        "auth_time": now,
    }
    if grant.nonce:
        claims["nonce"] = grant.nonce
    return JSONResponse(
        {
            "ok": True,
            "access_token": access,
            "token_type": "Bearer",
            "id_token": id_token(claims, provider.client_secret),
        }
    )


async def user_info(request: Request) -> Response:
    provider = _provider(request)
    scheme, _, access = request.headers.get("authorization", "").partition(" ")
    held = provider.tokens.get(access.strip()) if scheme.lower() == "bearer" else None
    if held is None or time.monotonic() - held[1] > TOKEN_TTL_S:
        return JSONResponse({"ok": False, "error": "invalid_auth"})
    user = simulator(request).config.user(held[0])
    assert user is not None
    return JSONResponse({"ok": True, **_user_claims(request, user)})


def oidc_routes() -> list[Route]:
    """Before the generic `/api/{method}` route, so these two Web API names land here."""
    return [
        Route("/openid/connect/authorize", authorize, methods=["GET", "POST"]),
        Route("/api/openid.connect.token", token, methods=["POST"]),
        Route("/api/openid.connect.userInfo", user_info, methods=["GET", "POST"]),
    ]
