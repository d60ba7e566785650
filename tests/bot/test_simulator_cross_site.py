"""A web page open on the developer's machine cannot drive the simulator (bot/simulator/guard.py):
the `/sim/*` endpoints act as any person, so they take only JSON (which a foreign page cannot
send without a CORS preflight), refuse a foreign `Origin`, and answer only to a loopback host.
The simulator's own page, scripts, tests and the bot are let through."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from bot.simulator.app import STATIC
from tests.bot.simulator_fixtures import EMMA, Receiver, Sim, receiver, sim, simulator_servers

__all__ = ["receiver", "sim", "simulator_servers"]  # fixtures used by name

EVIL = "http://evil.example"
#: What a page on another site can send without a preflight: a "simple" request.
SIMPLE_TYPES = ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data"]


async def _dm_texts(sim: Sim) -> list[str]:
    return [m["text"] for m in (await sim.state(EMMA.id))["dm"]["messages"]]


@pytest.mark.parametrize("content_type", SIMPLE_TYPES)
async def test_a_cross_site_simple_post_cannot_act_as_anyone(sim: Sim, receiver: Receiver, content_type: str) -> None:
    body = json.dumps({"user": EMMA.id, "text": "approve everything"})
    for origin in ({"Origin": EVIL}, {}):
        answer = await sim.http.post("/sim/message", content=body, headers={"Content-Type": content_type, **origin})
        assert answer.status_code in (403, 415), answer.text
        assert answer.json()["ok"] is False
    assert receiver.received == [], "the app received a message nobody typed"
    assert await _dm_texts(sim) == []


@pytest.mark.parametrize("path", ["/sim/reset", "/sim/calls/clear", "/sim/rate_limit", "/sim/command", "/sim/home"])
async def test_no_control_endpoint_takes_a_body_that_is_not_json(sim: Sim, receiver: Receiver, path: str) -> None:
    await sim.client.chat_postMessage(channel=EMMA.id, text="kept")
    answer = await sim.http.post(path, content=b"", headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415, answer.text
    assert "application/json" in answer.json()["error"]
    assert await _dm_texts(sim) == ["kept"], "the workspace was reset"
    assert [c["method"] for c in (await sim.http.get("/sim/calls")).json()["calls"]] == ["chat.postMessage"]
    assert receiver.received == []


async def test_a_foreign_origin_is_refused_on_every_path(sim: Sim, receiver: Receiver) -> None:
    as_json = await sim.http.post("/sim/message", json={"user": EMMA.id, "text": "hi"}, headers={"Origin": EVIL})
    assert as_json.status_code == 403 and "Origin" in as_json.json()["error"]
    # The Web API too: a form post from a page carrying the simulator's (public) bot token.
    form = await sim.http.post(
        "/api/chat.postMessage",
        data={"token": sim.config.bot_token, "channel": EMMA.id, "text": "from a web page"},
        headers={"Origin": EVIL},
    )
    assert form.status_code == 403
    opaque = await sim.http.post("/sim/message", json={"user": EMMA.id, "text": "hi"}, headers={"Origin": "null"})
    assert opaque.status_code == 403
    assert receiver.received == [] and await _dm_texts(sim) == []


async def test_a_name_rebound_to_the_loopback_address_is_refused(sim: Sim, receiver: Receiver) -> None:
    """DNS rebinding: evil.example re-pointed at 127.0.0.1 is "same-origin" with itself."""
    port = urlsplit(sim.url).port
    headers = {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"}
    posted = await sim.http.post("/sim/message", json={"user": EMMA.id, "text": "hi"}, headers=headers)
    assert posted.status_code == 403
    read = await sim.http.get("/sim/state", params={"user": EMMA.id}, headers={"Host": f"evil.example:{port}"})
    assert read.status_code == 403, "another site could read every DM"
    assert receiver.received == []


async def test_the_page_itself_and_local_tools_are_let_through(sim: Sim, receiver: Receiver) -> None:
    # As the page's fetch() sends it: JSON, Origin = the simulator's own.
    same_origin = {"Origin": sim.url, "Content-Type": "application/json; charset=utf-8"}
    body = json.dumps({"user": EMMA.id, "text": "one"})
    page = await sim.http.post("/sim/message", content=body, headers=same_origin)
    assert page.status_code == 200, page.text
    # As a script, a test or the bot sends it: no Origin at all.
    script = await sim.http.post("/sim/message", json={"user": EMMA.id, "text": "two"})
    assert script.status_code == 200, script.text
    port = urlsplit(sim.url).port
    localhost = await sim.http.post(
        "/sim/message",
        json={"user": EMMA.id, "text": "three"},
        headers={"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"},
    )
    assert localhost.status_code == 200, localhost.text
    assert [r.data["event"]["text"] for r in receiver.received] == ["one", "two", "three"]
    assert (await sim.http.get("/", headers={"Origin": sim.url})).status_code == 200


def test_the_page_posts_json() -> None:
    """Every POST the simulator's page makes goes through one helper that says application/json."""
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    fetches = re.findall(r"fetch\((.*?)\)[;.]", script, flags=re.S)
    posting = [call for call in fetches if "POST" in call]
    assert len(posting) == 1, posting
    assert re.search(r'headers:\s*\{\s*"Content-Type":\s*"application/json"\s*\}', posting[0])
    assert "JSON.stringify(body)" in posting[0]
    assert not re.search(r"sendBeacon|XMLHttpRequest|\.submit\(\)", script)
