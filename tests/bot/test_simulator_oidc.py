"""The simulator's Sign in with Slack: Slack's three OpenID Connect endpoints, strict about the
client, the code and the redirect URI, so the console's sign-in is tested against something
that refuses what Slack refuses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.simulator import SimUser, create_simulator_app
from catalog.settings import SIMULATOR_OIDC_CLIENT_ID, SIMULATOR_OIDC_CLIENT_SECRET
from tests.bot.simulator_fixtures import EMMA, make_config

BOT = SimUser("U0SOMEBOT", "Some Bot", "bot@example.com", is_bot=True)
BASE = "http://127.0.0.1:3001"
CALLBACK = "http://127.0.0.1:3002/auth/callback"
AUTHORIZE = {
    "client_id": SIMULATOR_OIDC_CLIENT_ID,
    "response_type": "code",
    "scope": "openid email profile",
    "redirect_uri": CALLBACK,
    "state": "s1",
    "nonce": "n1",
}


@pytest.fixture
async def sim() -> AsyncIterator[httpx.AsyncClient]:
    config = replace(make_config("http://127.0.0.1:9/unused", schema=False), users=(EMMA, BOT))
    transport = httpx.ASGITransport(app=create_simulator_app(config))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


async def _code(sim: httpx.AsyncClient, user: str = EMMA.id) -> str:
    chosen = await sim.post("/openid/connect/authorize", data={**AUTHORIZE, "user_id": user})
    assert chosen.status_code == 303
    location = urlsplit(chosen.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["s1"]
    return query["code"][0]


def _token_form(issued: str, **overrides: str) -> dict[str, str]:
    return {
        "client_id": SIMULATOR_OIDC_CLIENT_ID,
        "client_secret": SIMULATOR_OIDC_CLIENT_SECRET,
        "code": issued,
        "grant_type": "authorization_code",
        "redirect_uri": CALLBACK,
        **overrides,
    }


async def test_the_picker_lists_people_not_bots_and_refuses_bad_requests(sim: httpx.AsyncClient) -> None:
    picker = await sim.get("/openid/connect/authorize", params=AUTHORIZE)
    assert picker.status_code == 200 and "Continue as Emma Employee" in picker.text and "Some Bot" not in picker.text
    for broken, words in [
        ({"client_id": "other"}, "unknown client_id"),
        ({"scope": "email"}, "openid"),
        ({"response_type": "token"}, "response_type"),
        ({"redirect_uri": "javascript:alert(1)"}, "redirect_uri"),
    ]:
        refused = await sim.get("/openid/connect/authorize", params={**AUTHORIZE, **broken})
        assert refused.status_code == 400 and words in refused.text
    as_bot = await sim.post("/openid/connect/authorize", data={**AUTHORIZE, "user_id": BOT.id})
    assert as_bot.status_code == 400
    cross_site = await sim.post(
        "/openid/connect/authorize", data={**AUTHORIZE, "user_id": EMMA.id}, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403  # another site cannot sign someone in


async def test_code_token_and_user_info(sim: httpx.AsyncClient) -> None:
    code = await _code(sim)
    token = (await sim.post("/api/openid.connect.token", data=_token_form(code))).json()
    assert token["ok"] and token["token_type"] == "Bearer"
    header, payload, signature = token["id_token"].split(".")
    expected = hmac.new(SIMULATOR_OIDC_CLIENT_SECRET.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(signature + "==") == expected
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert (claims["iss"], claims["aud"], claims["nonce"], claims["email"]) == (
        BASE,
        SIMULATOR_OIDC_CLIENT_ID,
        "n1",
        EMMA.email,
    )
    info = (
        await sim.get("/api/openid.connect.userInfo", headers={"Authorization": f"Bearer {token['access_token']}"})
    ).json()
    assert info["ok"] and info["email"] == EMMA.email and info["https://slack.com/user_id"] == EMMA.id
    again = (await sim.post("/api/openid.connect.token", data=_token_form(code))).json()
    assert again == {"ok": False, "error": "invalid_code"}  # a code is good once


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"client_secret": "guess"}, "invalid_client_id"),
        ({"client_id": "other"}, "invalid_client_id"),
        ({"redirect_uri": "http://127.0.0.1:3002/elsewhere"}, "bad_redirect_uri"),
        ({"code": "made-up"}, "invalid_code"),
    ],
)
async def test_the_token_endpoint_refuses_what_slack_refuses(
    sim: httpx.AsyncClient, overrides: dict[str, str], error: str
) -> None:
    code = await _code(sim)
    answer = (await sim.post("/api/openid.connect.token", data=_token_form(code, **overrides))).json()
    assert answer == {"ok": False, "error": error}


async def test_user_info_needs_a_token_it_issued(sim: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer xoxp-sim-made-up"}, {"Authorization": "Basic abc"}):
        answer = (await sim.get("/api/openid.connect.userInfo", headers=headers)).json()
        assert answer == {"ok": False, "error": "invalid_auth"}
