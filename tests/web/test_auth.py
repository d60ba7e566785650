"""Signing in to the console: Sign in with Slack through the simulator's OIDC endpoints, the
session cookie, CSRF on every form, and API tokens (hashed, revocable, expiring)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import select

from bot.simulator import SimUser, create_simulator_app
from bot.simulator.serve import bind_socket, serving
from catalog.db import transaction
from catalog.models import ApiToken, AuditEvent
from catalog.repository import api_tokens
from tests.bot.simulator_fixtures import TOKEN, make_config
from tests.web.conftest import EMPLOYEE, ITAM, Console, console_settings, open_console, seeded
from web.deps import SESSION_COOKIE

IAN = SimUser("U0ITAM", "Ian ITAM", ITAM)
EMMA = SimUser("U0EMPLOYEE", "Emma Employee", EMPLOYEE)
STRANGER = SimUser("U0STRANGER", "Stan Stranger", "stranger@example.com")


@pytest.fixture
async def oidc(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[tuple[Console, str]]:
    """The console beside a running simulator that serves Sign in with Slack (SQLite)."""
    config = make_config("http://127.0.0.1:9/unused", schema=False)
    from dataclasses import replace

    config = replace(config, users=(IAN, EMMA, STRANGER), bot_token=TOKEN)
    async with serving(create_simulator_app(config), bind_socket()) as sim_url:
        for engine in seeded("sqlite", tmp_path, request):
            settings = console_settings(tmp_path, slack_oidc_url=sim_url, web_base_url="http://127.0.0.1:3002")
            async for console in open_console(engine, settings):
                yield console, sim_url


async def _through_the_picker(console: Console, sim_url: str, user: SimUser, next_path: str = "/requests") -> str:
    """Start sign-in on the console, choose `user` in the simulator; returns the callback URL."""
    start = await console.http.get("/auth/start", params={"next": next_path})
    assert start.status_code == 303
    authorize = start.headers["location"]
    assert authorize.startswith(f"{sim_url}/openid/connect/authorize?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    assert query["scope"] == "openid email profile" and query["response_type"] == "code"
    assert query["state"] and query["nonce"] and query["redirect_uri"] == "http://127.0.0.1:3002/auth/callback"
    async with httpx.AsyncClient(trust_env=False) as browser:
        picker = await browser.get(authorize)
        assert picker.status_code == 200 and f"Continue as {user.name}" in picker.text
        chosen = await browser.post(authorize.split("?")[0], data={**query, "user_id": user.id})
    assert chosen.status_code == 303
    return chosen.headers["location"]


async def test_sign_in_with_slack_through_the_simulator(oidc: tuple[Console, str]) -> None:
    console, sim_url = oidc
    callback = await _through_the_picker(console, sim_url, IAN, "/assets?vendor=Figma")
    assert callback.startswith("http://127.0.0.1:3002/auth/callback?code=")
    signed_in = await console.http.get(callback.removeprefix("http://127.0.0.1:3002"))
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/assets?vendor=Figma"
    cookie = next(h for h in signed_in.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    me = await console.http.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["email"] == ITAM and me.json()["sees_everything"] is True


async def test_a_callback_with_another_state_is_refused(oidc: tuple[Console, str]) -> None:
    console, sim_url = oidc
    callback = await _through_the_picker(console, sim_url, IAN)
    forged = callback.replace("state=", "state=x")
    refused = await console.http.get(forged.removeprefix("http://127.0.0.1:3002"))
    assert refused.status_code == 403 and "start again" in refused.text
    assert (await console.http.get("/api/v1/me")).status_code == 401


async def test_a_code_works_once(oidc: tuple[Console, str]) -> None:
    console, sim_url = oidc
    callback = (await _through_the_picker(console, sim_url, EMMA)).removeprefix("http://127.0.0.1:3002")
    assert (await console.http.get(callback)).status_code == 303
    console.sign_out()
    flow_again = await _through_the_picker(console, sim_url, EMMA)  # a fresh flow cookie
    stale = callback.split("&state=")[0] + "&state=" + parse_qs(urlsplit(flow_again).query)["state"][0]
    again = await console.http.get(stale)
    assert again.status_code == 403 and "invalid_code" in again.text


async def test_a_slack_user_outside_the_directory_is_refused(oidc: tuple[Console, str]) -> None:
    console, sim_url = oidc
    callback = await _through_the_picker(console, sim_url, STRANGER)
    refused = await console.http.get(callback.removeprefix("http://127.0.0.1:3002"))
    assert refused.status_code == 403 and "stranger@example.com is not in the directory" in refused.text
    assert SESSION_COOKIE not in refused.cookies


async def test_the_next_page_is_never_another_site(oidc: tuple[Console, str]) -> None:
    console, sim_url = oidc
    callback = await _through_the_picker(console, sim_url, IAN, "//evil.example/steal")
    signed_in = await console.http.get(callback.removeprefix("http://127.0.0.1:3002"))
    assert signed_in.headers["location"] == "/"


async def test_an_employee_lands_on_their_requests_not_on_figures_they_may_not_see(oidc: tuple[Console, str]) -> None:
    console, sim_url = oidc
    callback = await _through_the_picker(console, sim_url, EMMA, "/")
    signed_in = await console.http.get(callback.removeprefix("http://127.0.0.1:3002"))
    assert signed_in.headers["location"] == "/requests"


async def test_anonymous_pages_redirect_and_the_api_answers_401(sqlite_console: Console) -> None:
    page = await sqlite_console.http.get("/requests?status=pending")
    assert page.status_code == 303 and page.headers["location"] == "/auth/login?next=%2Frequests%3Fstatus%3Dpending"
    api = await sqlite_console.http.get("/api/v1/me")
    assert api.status_code == 401 and api.headers["www-authenticate"] == "Bearer"
    sqlite_console.http.cookies.set(SESSION_COOKIE, "forged.cookie.value")
    assert (await sqlite_console.http.get("/api/v1/me")).status_code == 401


async def test_forms_need_the_sessions_csrf_token(sqlite_console: Console) -> None:
    csrf = sqlite_console.sign_in(ITAM)
    refused = await sqlite_console.http.post("/auth/logout", data={})
    assert refused.status_code == 403 and "CSRF" in refused.text
    wrong = await sqlite_console.http.post("/auth/logout", data={"csrf_token": "not-it"})
    assert wrong.status_code == 403
    out = await sqlite_console.http.post("/auth/logout", data={"csrf_token": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/auth/login"


async def test_api_tokens_are_hashed_revocable_and_expire(console: Console) -> None:
    now = datetime.now(UTC)
    with transaction(console.engine) as session:
        live = api_tokens.create(session, email=ITAM, actor="admin", now=now, expires_in=timedelta(days=90))
        old = api_tokens.create(
            session, email=ITAM, actor="admin", now=now - timedelta(days=2), expires_in=timedelta(days=1)
        )
        feed = api_tokens.create(session, email=ITAM, actor="admin", now=now, expires_in=None, purpose="calendar")
    with transaction(console.engine) as session:
        stored = {row.token_hash for row in session.exec(select(ApiToken)).all()}
        audited = session.exec(select(AuditEvent).where(AuditEvent.entity == "web_token")).all()
    assert live.token not in stored and api_tokens.token_hash(live.token) in stored
    assert [a.action for a in audited] == ["token_created"] * 3 and all(
        live.token not in str(a.detail) for a in audited
    )

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    ok = await console.http.get("/api/v1/me", headers=bearer(live.token))
    assert ok.status_code == 200 and ok.json()["email"] == ITAM
    assert (await console.http.get("/api/v1/me", headers=bearer(old.token))).status_code == 401
    assert (await console.http.get("/api/v1/me", headers=bearer(feed.token))).status_code == 401
    with transaction(console.engine) as session:
        assert api_tokens.revoke(session, token_id=live.id, actor="admin", now=now) is True
        assert api_tokens.revoke(session, token_id=live.id, actor="admin", now=now) is False
    assert (await console.http.get("/api/v1/me", headers=bearer(live.token))).status_code == 401


def test_token_expiry_reads_like_the_cli_option() -> None:
    assert api_tokens.parse_expiry("90d") == timedelta(days=90)
    assert api_tokens.parse_expiry("12h") == timedelta(hours=12)
    assert api_tokens.parse_expiry("never") is None
    for bad in ("0d", "90", "soon", "-1d"):
        with pytest.raises(api_tokens.TokenError):
            api_tokens.parse_expiry(bad)
