"""The simulator's Web API, called the way the bot calls it: through slack_sdk's AsyncWebClient."""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp
import pytest
from jsonschema import Draft4Validator
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.notifier import web_client
from tests.bot.simulator_fixtures import (
    EMMA,
    MARK,
    REF,
    TOKEN,
    Receiver,
    Sim,
    approval_blocks,
    receiver,
    request_modal,
    sim,
    simulator_servers,
)

__all__ = ["receiver", "sim", "simulator_servers"]  # fixtures used by name

TS = re.compile(r"^\d{10}\.\d{6}$")
SPEC = json.loads((REF / "openapi/slack_web_openapi_v2.json").read_text(encoding="utf-8"))


def assert_matches_spec(method: str, verb: str, body: dict[str, Any], *, patch: dict[str, Any] | None = None) -> None:
    """Check an answer against the success schema Slack's OpenAPI description gives for it."""
    schema = dict(SPEC["paths"][f"/{method}"][verb]["responses"]["200"]["schema"])
    schema.update(patch or {})
    Draft4Validator({"definitions": SPEC["definitions"], **schema}).validate(body)


async def trigger_from_click(sim: Sim, receiver: Receiver) -> str:
    """Post a message with buttons and click one: Slack sends a fresh trigger_id with the click."""
    posted = await sim.client.chat_postMessage(channel=EMMA.id, text="Approve?", blocks=approval_blocks())
    answer = await sim.control(
        "/sim/action", user=EMMA.id, channel=posted["channel"], message_ts=posted["ts"], action_id="approve"
    )
    assert answer["status"] == 200
    return str(receiver.last.data["trigger_id"])


async def test_auth_test_answers_as_bolt_expects(sim: Sim) -> None:
    answer = await sim.client.auth_test()
    assert answer["user_id"] == sim.config.bot_user_id
    assert answer["bot_id"] == sim.config.bot_id
    assert answer["team_id"] == sim.config.team_id
    assert_matches_spec("auth.test", "get", answer.data)


async def test_wrong_missing_token_and_unknown_method(sim: Sim) -> None:
    with pytest.raises(SlackApiError) as wrong:
        await AsyncWebClient(token="xoxb-wrong", base_url=sim.client.base_url).auth_test()
    assert wrong.value.response["error"] == "invalid_auth"
    missing = await sim.http.post("/api/auth.test")
    assert missing.json() == {"ok": False, "error": "not_authed"}
    unknown = await sim.http.post("/api/chat.fly", headers={"Authorization": f"Bearer {TOKEN}"})
    assert unknown.json() == {"ok": False, "error": "unknown_method"}


async def test_users_info_and_lookup_by_email(sim: Sim) -> None:
    info = await sim.client.users_info(user=EMMA.id)
    user = info["user"]
    assert (user["id"], user["real_name"], user["profile"]["email"]) == (EMMA.id, EMMA.name, EMMA.email)
    assert user["deleted"] is False and user["is_bot"] is False and user["tz"] == "UTC"
    # objs_user is a tuple of two object schemas; the first is the plain (non Enterprise) user.
    user_schema = SPEC["definitions"]["objs_user"]["items"][0]
    Draft4Validator({"definitions": SPEC["definitions"], **user_schema}).validate(user)
    by_email = await sim.client.users_lookupByEmail(email="MARK@example.com")
    assert by_email["user"]["id"] == MARK.id
    with pytest.raises(SlackApiError, match="users_not_found"):
        await sim.client.users_lookupByEmail(email="nobody@example.com")
    with pytest.raises(SlackApiError, match="user_not_found"):
        await sim.client.users_info(user="U0NOBODY00")


async def test_post_to_a_user_id_lands_in_the_dm_from_conversations_open(sim: Sim) -> None:
    opened = await sim.client.conversations_open(users=EMMA.id)
    again = await sim.client.conversations_open(users=EMMA.id)
    dm = opened["channel"]["id"]
    assert dm.startswith("D") and again["channel"]["id"] == dm
    assert_matches_spec("conversations.open", "post", opened.data)

    first = await sim.client.chat_postMessage(channel=EMMA.id, text="Hello *Emma*")
    second = await sim.client.chat_postMessage(channel=dm, text="Blocks too", blocks=approval_blocks())
    assert first["channel"] == dm and second["channel"] == dm
    assert TS.match(first["ts"]) and second["ts"] > first["ts"]
    assert second["message"]["blocks"][1]["elements"][0]["action_id"] == "approve"
    assert_matches_spec("chat.postMessage", "post", first.data)
    assert_matches_spec("chat.postMessage", "post", second.data)

    seen = (await sim.state(EMMA.id))["dm"]
    assert [m["ts"] for m in seen["messages"]] == [first["ts"], second["ts"]]
    assert seen["messages"][0]["text"] == "Hello *Emma*"
    assert (await sim.state(MARK.id))["dm"]["messages"] == []


async def test_blocks_sent_as_a_json_string_in_a_form_body(sim: Sim) -> None:
    answer = await sim.client.api_call(
        "chat.postMessage", data={"channel": EMMA.id, "text": "form", "blocks": json.dumps(approval_blocks())}
    )
    assert answer["message"]["blocks"][0]["block_id"] == "summary"


async def test_channels_are_found_by_name_and_unknown_ones_refused(sim: Sim) -> None:
    by_name = await sim.client.chat_postMessage(channel="#itam", text="New asset")
    by_id = await sim.client.chat_postMessage(channel=by_name["channel"], text="Another")
    assert by_name["channel"].startswith("C") and by_id["channel"] == by_name["channel"]
    channels = (await sim.state())["channels"]
    assert [(c["name"], len(c["messages"])) for c in channels if c["messages"]] == [("itam", 2)]
    with pytest.raises(SlackApiError, match="channel_not_found"):
        await sim.client.chat_postMessage(channel="C0DOESNOTEXIST", text="x")
    # As in Slack, a name is not a way to create a channel: only people create them.
    for name in ("#nope", "nope"):
        with pytest.raises(SlackApiError, match="channel_not_found"):
            await sim.client.chat_postMessage(channel=name, text="x")
    assert "nope" not in [c["name"] for c in (await sim.state())["channels"]]


async def test_the_bot_posts_only_in_channels_it_was_invited_to_and_not_archived(sim: Sim) -> None:
    # A person starts #random by typing in it; nobody invited the bot.
    await sim.control("/sim/message", user=MARK.id, channel="#random", text="hello")
    with pytest.raises(SlackApiError) as outside:
        await sim.client.chat_postMessage(channel="#random", text="x")
    assert outside.value.response["error"] == "not_in_channel"
    await sim.control("/sim/channel", name="random", bot_member=True)
    assert (await sim.client.chat_postMessage(channel="#random", text="invited"))["ok"]
    await sim.control("/sim/channel", name="#random", archived=True)
    with pytest.raises(SlackApiError) as archived:
        await sim.client.chat_postMessage(channel="#random", text="x")
    assert archived.value.response["error"] == "is_archived"


async def test_conversations_info_and_list_describe_channels_as_slack_does(sim: Sim) -> None:
    await sim.control("/sim/channel", name="old-itam", archived=True)
    await sim.control("/sim/channel", name="outside", bot_member=False)
    await sim.control("/sim/channel", name="secret", private=True, bot_member=False)
    listed = await sim.client.conversations_list(types="public_channel,private_channel", limit=2)
    assert_matches_spec("conversations.list", "get", listed.data)
    names = [c["name"] for c in listed["channels"]]
    cursor = listed["response_metadata"]["next_cursor"]
    while cursor:
        page = await sim.client.conversations_list(types="public_channel,private_channel", limit=2, cursor=cursor)
        names += [c["name"] for c in page["channels"]]
        cursor = page["response_metadata"]["next_cursor"]
    # A private channel the bot is not in is invisible to it, as in Slack.
    assert sorted(names) == ["general", "itam", "old-itam", "outside"]
    current = await sim.client.conversations_list(exclude_archived=True)
    assert "old-itam" not in [c["name"] for c in current["channels"]]

    itam = next(c for c in listed["channels"] if c["name"] == "itam")
    info = await sim.client.conversations_info(channel=itam["id"])
    assert_matches_spec("conversations.info", "get", info.data)
    assert (info["channel"]["is_member"], info["channel"]["is_archived"]) == (True, False)
    outside = sim.workspace.channel_named("outside")
    assert outside is not None
    assert (await sim.client.conversations_info(channel=outside.id))["channel"]["is_member"] is False
    for missing in ("#itam", "C0DOESNOTEXIST"):  # by id only, as in Slack
        with pytest.raises(SlackApiError, match="channel_not_found"):
            await sim.client.conversations_info(channel=missing)
    with pytest.raises(SlackApiError, match="no_text"), pytest.warns(UserWarning, match="`text` argument"):
        await sim.client.chat_postMessage(channel=EMMA.id)
    with pytest.raises(SlackApiError, match="msg_too_long"):
        await sim.client.chat_postMessage(channel=EMMA.id, text="x" * 40_001)


async def test_chat_update_edits_in_place_and_keeps_history(sim: Sim) -> None:
    posted = await sim.client.chat_postMessage(channel=EMMA.id, text="Pending", blocks=approval_blocks())
    updated = await sim.client.chat_update(
        channel=posted["channel"], ts=posted["ts"], text="Approved by Mark", blocks=[]
    )
    assert updated["ts"] == posted["ts"] and updated["text"] == "Approved by Mark"
    assert_matches_spec(
        "chat.update",
        "post",
        updated.data,
        # the 2021 spec types message.blocks as an object; Slack returns an array
        patch={
            "properties": {
                **SPEC["paths"]["/chat.update"]["post"]["responses"]["200"]["schema"]["properties"],
                "message": {"type": "object"},
            }
        },
    )
    message = (await sim.state())["dm"]["messages"][0]
    assert message["edited"] is True and message["text"] == "Approved by Mark" and message["blocks"] == []
    assert message["history"][0]["text"] == "Pending"

    with pytest.raises(SlackApiError, match="message_not_found"):
        await sim.client.chat_update(channel=posted["channel"], ts="1234567890.000001", text="x")
    said = await sim.control("/sim/message", user=EMMA.id, text="hi bot")
    assert said["error"] is None
    users_ts = (await sim.state())["dm"]["messages"][-1]["ts"]
    with pytest.raises(SlackApiError, match="cant_update_message"):
        await sim.client.chat_update(channel=posted["channel"], ts=users_ts, text="x")


async def test_ephemeral_is_only_visible_to_its_user(sim: Sim) -> None:
    itam = await sim.client.chat_postMessage(channel="#itam", text="Channel message")
    answer = await sim.client.chat_postEphemeral(channel=itam["channel"], user=MARK.id, text="Only for Mark")
    assert TS.match(answer["message_ts"])
    assert_matches_spec("chat.postEphemeral", "post", answer.data)
    marks = next(c for c in (await sim.state(MARK.id))["channels"] if c["name"] == "itam")["messages"]
    emmas = next(c for c in (await sim.state(EMMA.id))["channels"] if c["name"] == "itam")["messages"]
    assert [m["ephemeral"] for m in marks] == [False, True]
    assert [m["text"] for m in emmas] == ["Channel message"]
    dm = (await sim.client.conversations_open(users=EMMA.id))["channel"]["id"]
    with pytest.raises(SlackApiError, match="user_not_in_channel"):
        await sim.client.chat_postEphemeral(channel=dm, user=MARK.id, text="not Mark's DM")


async def test_invalid_blocks_are_refused_explained_and_shown(sim: Sim) -> None:
    too_long = approval_blocks()
    too_long[1]["elements"][0]["text"]["text"] = "A" * 100
    duplicate = approval_blocks()
    duplicate[1]["elements"][1]["action_id"] = "approve"
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    cases = {
        "blocks/1/elements/0/text/text: longer than 75 chars (got 100)": too_long,
        "blocks/1/elements/1/action_id: duplicate action_id 'approve' in one block": duplicate,
        "blocks: more than 50 blocks in a message (got 51)": [section] * 51,
    }
    for expected, blocks in cases.items():
        with pytest.raises(SlackApiError) as refused:
            await sim.client.chat_postMessage(channel=EMMA.id, text="x", blocks=blocks)
        assert refused.value.response["error"] == "invalid_blocks"
        assert refused.value.response["errors"] == [expected]
    problems = (await sim.state())["problems"]
    assert [p["source"] for p in problems] == ["chat.postMessage"] * 3
    assert problems[0]["details"] == [next(iter(cases))]
    assert (await sim.state())["dm"]["messages"] == []


async def test_views_open_update_publish_with_triggers_from_clicks(sim: Sim, receiver: Receiver) -> None:
    trigger = await trigger_from_click(sim, receiver)
    opened = await sim.client.views_open(trigger_id=trigger, view=request_modal(external_id="req-1"))
    view = opened["view"]
    assert view["id"].startswith("V") and view["root_view_id"] == view["id"]
    assert view["state"] == {"values": {}} and view["app_id"] == sim.config.api_app_id
    assert view["bot_id"] == sim.config.bot_id and view["previous_view_id"] is None
    example = SPEC["paths"]["/views.open"]["get"]["responses"]["200"]["examples"]["application/json"]["view"]
    assert set(example) <= set(view)

    with pytest.raises(SlackApiError, match="exchanged_trigger_id"):
        await sim.client.views_open(trigger_id=trigger, view=request_modal())
    with pytest.raises(SlackApiError, match="invalid_trigger_id"):
        await sim.client.views_open(trigger_id="1.2.nope", view=request_modal())

    retitled = request_modal(external_id="req-1")
    retitled["title"]["text"] = "Figma request"
    updated = await sim.client.views_update(view_id=view["id"], hash=view["hash"], view=retitled)
    assert updated["view"]["title"]["text"] == "Figma request" and updated["view"]["hash"] != view["hash"]
    with pytest.raises(SlackApiError, match="hash_conflict"):
        await sim.client.views_update(view_id=view["id"], hash=view["hash"], view=retitled)
    by_external = await sim.client.views_update(external_id="req-1", view=request_modal())
    assert by_external["view"]["id"] == view["id"]
    assert [m["title"]["text"] for m in (await sim.state())["modals"]] == ["New SaaS request"]

    home = {"type": "home", "blocks": approval_blocks()}
    published = await sim.client.views_publish(user_id=EMMA.id, view=home)
    republished = await sim.client.views_publish(user_id=EMMA.id, view=home)
    assert published["view"]["type"] == "home" and republished["view"]["id"] == published["view"]["id"]
    assert (await sim.state())["home"]["blocks"][0]["block_id"] == "summary"


async def test_triggers_expire_after_three_seconds(sim: Sim, receiver: Receiver) -> None:
    trigger = await trigger_from_click(sim, receiver)
    sim.clock.advance(3.5)
    with pytest.raises(SlackApiError, match="expired_trigger_id"):
        await sim.client.views_open(trigger_id=trigger, view=request_modal())


async def test_invalid_views_are_refused(sim: Sim, receiver: Receiver) -> None:
    trigger = await trigger_from_click(sim, receiver)
    no_submit = request_modal()
    del no_submit["submit"]
    with pytest.raises(SlackApiError) as refused:
        await sim.client.views_open(trigger_id=trigger, view=no_submit)
    assert refused.value.response["error"] == "invalid_arguments"
    assert refused.value.response["errors"] == ["view: 'submit' is a required property"]
    inverted = request_modal()
    inverted["blocks"][1]["element"].update(min_value="50", max_value="5")
    with pytest.raises(SlackApiError) as refused:  # the trigger was not used up by the refusal
        await sim.client.views_open(trigger_id=trigger, view=inverted)
    assert refused.value.response["errors"] == ["blocks/1/element: min_value 50 is greater than max_value 5"]
    with pytest.raises(SlackApiError, match="not_found"):
        await sim.client.views_update(view_id="V0NOTTHERE1", view=request_modal())


async def test_calls_are_recorded_without_the_token(sim: Sim) -> None:
    await sim.client.chat_postMessage(channel=EMMA.id, text="one")
    with pytest.raises(SlackApiError):
        await sim.client.chat_postMessage(channel="C0NOPE00000", text="two")
    calls = (await sim.http.get("/sim/calls")).json()["calls"]
    assert [(c["method"], c["ok"], c["error"]) for c in calls] == [
        ("chat.postMessage", True, None),
        ("chat.postMessage", False, "channel_not_found"),
    ]
    assert calls[0]["args"] == {"channel": EMMA.id, "text": "one"}
    assert TOKEN not in json.dumps(calls)
    assert calls[0]["t"] <= calls[1]["t"]
    await sim.control("/sim/calls/clear")
    assert (await sim.http.get("/sim/calls")).json()["calls"] == []


async def test_rate_limit_injection_and_slack_sdk_retry(sim: Sim) -> None:
    await sim.control("/sim/rate_limit", method="chat.postMessage", count=1, retry_after=1)
    with pytest.raises(SlackApiError) as limited:
        await sim.client.chat_postMessage(channel=EMMA.id, text="too fast")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] in ("1", ["1"])
    assert limited.value.response["error"] == "ratelimited"

    # slack_sdk's handler sleeps Retry-After (1 s, the protocol's minimum) and tries again.
    await sim.control("/sim/rate_limit", method="chat.postMessage", count=1, retry_after=1)
    patient = AsyncWebClient(
        token=TOKEN, base_url=sim.client.base_url, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)]
    )
    answer = await patient.chat_postMessage(channel=EMMA.id, text="after waiting")
    assert answer["ok"]
    calls = [(c["status"], c["error"]) for c in (await sim.http.get("/sim/calls")).json()["calls"]]
    assert calls == [(429, "ratelimited"), (429, "ratelimited"), (200, None)]


async def test_the_process_session_keeps_one_connection_to_slack_across_calls_and_retries(sim: Sim) -> None:
    opened = 0

    async def on_connection(*_: Any) -> None:
        nonlocal opened
        opened += 1

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(on_connection)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        client = web_client(TOKEN, sim.client.base_url, session=session)
        await sim.control("/sim/rate_limit", method="chat.postMessage", count=1, retry_after=1)
        for n in range(3):
            assert (await client.chat_postMessage(channel=EMMA.id, text=f"message {n}"))["ok"]
        assert not session.closed, "slack_sdk must not close a session it was given"
    assert opened == 1
    calls = [c["status"] for c in (await sim.http.get("/sim/calls")).json()["calls"]]
    assert calls == [429, 200, 200, 200]
