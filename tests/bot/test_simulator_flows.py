"""What a person does in the simulator reaches the app as Slack's signed requests, and the
app's answers (ack bodies, response_url posts, response_action) land where Slack puts them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.simulator import create_simulator_app, payloads
from bot.simulator.modals import TROUBLE
from bot.simulator.serve import bind_socket, serving, socket_url
from tests.bot.simulator_fixtures import (
    EMMA,
    MARK,
    SECRET,
    Received,
    Receiver,
    Sim,
    approval_blocks,
    make_config,
    receiver,
    request_modal,
    request_values,
    running_simulator,
    sim,
    simulator_servers,
)

__all__ = ["receiver", "sim", "simulator_servers"]  # fixtures used by name


def answer(body: Any = "", status: int = 200) -> Callable[[Received], Response]:
    if isinstance(body, dict):
        return lambda r: JSONResponse(body, status_code=status)
    return lambda r: PlainTextResponse(body, status_code=status)


async def open_modal(sim: Sim, receiver: Receiver, view: dict[str, Any] | None = None) -> dict[str, Any]:
    await sim.control("/sim/command", user=EMMA.id, text="/request figma")
    opened = await sim.client.views_open(trigger_id=receiver.last.data["trigger_id"], view=view or request_modal())
    return dict(opened["view"])


async def test_slash_command_is_a_signed_form_and_its_ack_text_is_shown_to_the_user(
    sim: Sim, receiver: Receiver
) -> None:
    receiver.reply = answer("Looking for *figma*…")
    result = await sim.control("/sim/command", user=EMMA.id, text="/request figma 2 seats")
    assert (result["status"], result["body"], result["error"]) == (200, "Looking for *figma*…", None)

    request = receiver.last
    assert request.signature_ok and request.content_type == "application/x-www-form-urlencoded"
    fields = request.data
    dm = (await sim.client.conversations_open(users=EMMA.id))["channel"]["id"]
    assert (fields["command"], fields["text"], fields["user_id"], fields["user_name"]) == (
        "/request",
        "figma 2 seats",
        EMMA.id,
        "emma",
    )
    assert (fields["channel_id"], fields["channel_name"], fields["team_id"]) == (
        dm,
        "directmessage",
        sim.config.team_id,
    )
    assert "/sim/response/" in fields["response_url"] and fields["trigger_id"]
    assert set(fields) == set(
        payloads.slash_command(
            sim.config, user=EMMA, command="", text="", channel_id="", channel_name="", response_url="", trigger_id=""
        )
    )

    [shown] = (await sim.state(EMMA.id))["dm"]["messages"]
    assert (shown["text"], shown["ephemeral"], shown["user"]) == ("Looking for *figma*…", True, sim.config.bot_user_id)
    assert (await sim.state(MARK.id))["dm"]["messages"] == []


async def test_in_channel_ack_and_failed_commands(sim: Sim, receiver: Receiver) -> None:
    receiver.reply = answer({"response_type": "in_channel", "text": "Everyone sees this"})
    await sim.control("/sim/command", user=EMMA.id, text="/request miro")
    receiver.reply = answer("boom", status=500)
    failed = await sim.control("/sim/command", user=EMMA.id, text="/request miro")
    assert failed["status"] == 500
    messages = (await sim.state())["dm"]["messages"]
    assert [(m["user_name"], m["text"], m["ephemeral"]) for m in messages] == [
        ("Emma Employee", "/request miro", False),
        ("Procure", "Everyone sees this", False),
        ("Slackbot", '/request failed with the error "http_500"', True),
    ]


async def test_response_url_replies_replaces_and_deletes(sim: Sim, receiver: Receiver) -> None:
    await sim.control("/sim/command", user=EMMA.id, text="/request")
    command_url = receiver.last.data["response_url"]
    posted = await sim.client.chat_postMessage(channel=EMMA.id, text="Approve?", blocks=approval_blocks())
    await sim.control(
        "/sim/action", user=EMMA.id, channel=posted["channel"], message_ts=posted["ts"], action_id="approve"
    )
    click_url = receiver.last.data["response_url"]
    async with httpx.AsyncClient(trust_env=False) as http:
        assert (await http.post(command_url, json={"text": "Later, privately"})).text == "ok"
        await http.post(click_url, json={"replace_original": True, "text": "Approved :white_check_mark:"})
        messages = (await sim.state())["dm"]["messages"]
        assert [(m["text"], m["ephemeral"], m["edited"]) for m in messages] == [
            ("Approved :white_check_mark:", False, True),
            ("Later, privately", True, False),
        ]
        await http.post(click_url, json={"delete_original": True})
        assert [m["text"] for m in (await sim.state())["dm"]["messages"]] == ["Later, privately"]
        refused = await http.post(command_url, json={"text": "x", "blocks": [{"type": "sectoin"}]})
        assert (refused.status_code, refused.text) == (400, "invalid_blocks")
    assert (await sim.state())["problems"][-1]["source"] == "response_url"


async def test_dm_message_event_and_its_retry(sim: Sim, receiver: Receiver) -> None:
    sent = await sim.control("/sim/message", user=EMMA.id, text="do we have figma?")
    first = receiver.last
    envelope = first.data
    assert first.signature_ok and first.content_type == "application/json"
    assert envelope["type"] == "event_callback" and envelope["event_id"] == sent["event_id"]
    event = envelope["event"]
    assert (event["type"], event["channel_type"], event["user"], event["text"]) == (
        "message",
        "im",
        EMMA.id,
        "do we have figma?",
    )
    assert "x-slack-retry-num" not in first.headers

    await sim.control("/sim/message", user=EMMA.id, text="ignored on a retry", retry_num=1, event_id=sent["event_id"])
    retry = receiver.last
    assert retry.body == first.body and retry.signature_ok
    assert (retry.headers["x-slack-retry-num"], retry.headers["x-slack-retry-reason"]) == ("1", "http_timeout")
    assert [m["text"] for m in (await sim.state())["dm"]["messages"]] == ["do we have figma?"]


async def test_app_mention_in_a_channel(sim: Sim, receiver: Receiver) -> None:
    await sim.client.chat_postMessage(channel="#itam", text="Renewals this week")
    quiet = await sim.control("/sim/message", user=MARK.id, channel="#itam", text="nobody asked the bot")
    assert quiet["status"] is None and receiver.received == []
    await sim.control("/sim/message", user=MARK.id, channel="#itam", text="@procure who uses Miro?")
    event = receiver.last.data["event"]
    assert (event["type"], event["text"], event["user"]) == (
        "app_mention",
        f"<@{sim.config.bot_user_id}> who uses Miro?",
        MARK.id,
    )
    itam = next(c for c in (await sim.state())["channels"] if c["name"] == "itam")
    assert len(itam["messages"]) == 3


async def test_button_click_becomes_block_actions(sim: Sim, receiver: Receiver) -> None:
    posted = await sim.client.chat_postMessage(channel=EMMA.id, text="Approve?", blocks=approval_blocks("req-7"))
    await sim.control("/sim/action", user=EMMA.id, channel=posted["channel"], message_ts=posted["ts"], action_id="deny")
    click = receiver.last
    payload = click.data
    assert click.signature_ok and list(dict_from_form(click.body)) == ["payload"]
    assert payload["type"] == "block_actions" and payload["user"]["id"] == EMMA.id
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": posted["channel"],
        "is_ephemeral": False,
    }
    action = payload["actions"][0]
    assert {k: v for k, v in action.items() if k != "action_ts"} == {
        "action_id": "deny",
        "block_id": "decision",
        "text": {"type": "plain_text", "text": "Deny"},
        "value": "req-7",
        "style": "danger",
        "type": "button",
    }
    assert payload["message"]["ts"] == posted["ts"] and payload["message"]["blocks"][1]["block_id"] == "decision"

    picker: list[dict[str, Any]] = [
        {
            "type": "actions",
            "block_id": "pick",
            "elements": [
                {
                    "type": "static_select",
                    "action_id": "vendor",
                    "placeholder": {"type": "plain_text", "text": "Vendor"},
                    "options": [{"text": {"type": "plain_text", "text": "Figma"}, "value": "figma"}],
                }
            ],
        }
    ]
    ephemeral = await sim.client.chat_postEphemeral(channel=EMMA.id, user=EMMA.id, text="Pick", blocks=picker)
    option = picker[0]["elements"][0]["options"][0]
    await sim.control(
        "/sim/action",
        user=EMMA.id,
        channel=posted["channel"],
        message_ts=ephemeral["message_ts"],
        action_id="vendor",
        selected_option=option,
    )
    payload = receiver.last.data
    assert payload["container"]["is_ephemeral"] is True and "message" not in payload
    assert payload["actions"][0]["selected_option"] == option

    missing = await sim.http.post(
        "/sim/action",
        json={"user": EMMA.id, "channel": posted["channel"], "message_ts": posted["ts"], "action_id": "nope"},
    )
    assert missing.status_code == 404 and "nope" in missing.json()["error"]


def dict_from_form(body: str) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(body))


async def test_modal_submission_errors_then_close(sim: Sim, receiver: Receiver) -> None:
    view = await open_modal(sim, receiver)
    sent_before = len(receiver.received)
    empty = await sim.control("/sim/submit", user=EMMA.id, view_id=view["id"], values={})
    assert empty["outcome"] == "client_errors" and len(receiver.received) == sent_before
    assert set(empty["errors"]) == {"product", "seats"}  # needed_by is optional
    too_few = await sim.control("/sim/submit", user=EMMA.id, view_id=view["id"], values=request_values(seats="0"))
    assert too_few["errors"] == {"seats": "Please enter a number that is 1 or more."}

    receiver.reply = answer({"response_action": "errors", "errors": {"seats": "Figma sells at most 100 seats"}})
    refused = await sim.control("/sim/submit", user=EMMA.id, view_id=view["id"], values=request_values(seats="200"))
    assert refused["outcome"] == "errors"
    submitted = receiver.last.data
    assert submitted["type"] == "view_submission" and submitted["view"]["id"] == view["id"]
    assert submitted["view"]["state"]["values"] == request_values(seats="200")
    [modal] = (await sim.state())["modals"]
    assert modal["errors"] == {"seats": "Figma sells at most 100 seats"}
    assert modal["state"]["values"]["seats"]["value"]["value"] == "200"  # what the user typed stays

    receiver.reply = answer("")
    closed = await sim.control("/sim/submit", user=EMMA.id, view_id=view["id"], values=request_values())
    assert closed["outcome"] == "closed" and (await sim.state())["modals"] == []


async def test_response_actions_update_push_clear(sim: Sim, receiver: Receiver) -> None:
    view = await open_modal(sim, receiver)
    retitled = request_modal()
    retitled["title"]["text"] = "Check the details"
    receiver.reply = answer({"response_action": "update", "view": retitled})
    assert (await sim.control("/sim/submit", user=EMMA.id, view_id=view["id"], values=request_values()))[
        "outcome"
    ] == "updated"
    confirm = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Confirm"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Sure?"}}],
        "submit": {"type": "plain_text", "text": "Yes"},
    }
    receiver.reply = answer({"response_action": "push", "view": confirm})
    await sim.control("/sim/submit", user=EMMA.id, view_id=view["id"], values=request_values())
    stack = (await sim.state())["modals"]
    assert [v["title"]["text"] for v in stack] == ["Check the details", "Confirm"]
    assert stack[1]["previous_view_id"] == view["id"] and stack[1]["root_view_id"] == view["id"]

    receiver.reply = answer("")  # a pushed view closes back to the one below it
    await sim.control("/sim/submit", user=EMMA.id, view_id=stack[1]["id"], values={})
    assert [v["id"] for v in (await sim.state())["modals"]] == [view["id"]]
    receiver.reply = answer({"response_action": "clear"})
    await sim.control("/sim/submit", user=EMMA.id, view_id=view["id"], values=request_values())
    assert (await sim.state())["modals"] == []


async def test_unusable_answers_keep_the_modal_and_say_why(sim: Sim, receiver: Receiver) -> None:
    view = await open_modal(sim, receiver)
    bad_update = request_modal()
    bad_update["title"]["text"] = "A title far too long for a modal"
    cases = [
        (answer({"response_action": "errors", "errors": {"not_an_input": "x"}}), "not_an_input"),
        (answer({"response_action": "update", "view": bad_update}), "title/text: longer than 24 chars (got 32)"),
        (answer("crash", status=500), "the app answered 500: crash"),
    ]
    for reply, detail in cases:
        receiver.reply = reply
        result = await sim.control("/sim/submit", user=EMMA.id, view_id=view["id"], values=request_values())
        assert (result["outcome"], result["notice"]) == ("error", TROUBLE)
        assert detail in " ".join((await sim.state())["problems"][-1]["details"])
    assert len((await sim.state())["modals"]) == 1


async def test_closing_sends_view_closed_only_when_asked(sim: Sim, receiver: Receiver) -> None:
    view = await open_modal(sim, receiver)
    sent_before = len(receiver.received)
    assert (await sim.control("/sim/close", user=EMMA.id, view_id=view["id"]))["status"] is None
    assert len(receiver.received) == sent_before
    with_notice = await open_modal(sim, receiver, request_modal(notify_on_close=True))
    closed = await sim.control("/sim/close", user=EMMA.id, view_id=with_notice["id"])
    assert closed["status"] == 200
    assert (receiver.last.data["type"], receiver.last.data["view"]["id"]) == ("view_closed", with_notice["id"])
    assert (await sim.state())["modals"] == []


async def test_actions_inside_a_modal_and_the_home_tab(sim: Sim, receiver: Receiver) -> None:
    modal = request_modal()
    modal["blocks"].append(
        {
            "type": "actions",
            "block_id": "more",
            "elements": [
                {"type": "button", "action_id": "add_vendor", "text": {"type": "plain_text", "text": "Add vendor"}}
            ],
        }
    )
    view = await open_modal(sim, receiver, modal)
    await sim.control(
        "/sim/view_action",
        user=EMMA.id,
        view_id=view["id"],
        action_id="add_vendor",
        values=request_values(product="Fig"),
    )
    payload = receiver.last.data
    assert payload["container"] == {"type": "view", "view_id": view["id"]}
    assert payload["view"]["state"]["values"]["product"]["value"]["value"] == "Fig"
    pushed = await sim.client.views_push(
        trigger_id=payload["trigger_id"],
        view={
            "type": "modal",
            "title": {"type": "plain_text", "text": "New vendor"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "…"}}],
        },
    )
    assert pushed["view"]["previous_view_id"] == view["id"]

    home_opened = await sim.control("/sim/home", user=EMMA.id)
    assert home_opened["status"] == 200 and "view" not in receiver.last.data["event"]
    home = await sim.client.views_publish(user_id=EMMA.id, view={"type": "home", "blocks": approval_blocks()})
    await sim.control("/sim/view_action", user=EMMA.id, view_id=home["view"]["id"], action_id="approve")
    payload = receiver.last.data
    assert (payload["view"]["type"], payload["actions"][0]["action_id"]) == ("home", "approve")
    await sim.control("/sim/home", user=EMMA.id)
    event = receiver.last.data["event"]
    assert (event["type"], event["tab"], event["view"]["id"]) == ("app_home_opened", "home", home["view"]["id"])


async def test_a_real_bolt_app_round_trip() -> None:
    """Bolt verifies our signatures, parses our payloads and calls our Web API (auth.test first)."""
    bot_socket = bind_socket()
    bot_url = f"{socket_url(bot_socket)}/slack/events"
    async with running_simulator(bot_url) as sim:
        app = AsyncApp(
            client=AsyncWebClient(token=sim.config.bot_token, base_url=f"{sim.url}/api/"),
            signing_secret=SECRET,
            process_before_response=True,
        )

        @app.command("/request")
        async def request_command(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
            await ack()
            await client.views_open(trigger_id=body["trigger_id"], view=request_modal())

        @app.view("procurement_request")
        async def request_submitted(
            ack: Any, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
        ) -> None:
            seats = int(view["state"]["values"]["seats"]["value"]["value"])
            if seats > 100:
                await ack(response_action="errors", errors={"seats": "At most 100 seats per request"})
                return
            await ack()
            await client.chat_postMessage(channel=body["user"]["id"], text="Approve?", blocks=approval_blocks())

        @app.action("approve")
        async def approve(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
            await ack()
            await client.chat_update(
                channel=body["container"]["channel_id"], ts=body["container"]["message_ts"], text="Approved", blocks=[]
            )

        @app.event("message")
        async def direct_message(event: dict[str, Any], say: Any) -> None:
            await say(f"You said: {event['text']}")

        handler = AsyncSlackRequestHandler(app)

        async def events(request: Request) -> Response:
            return await handler.handle(request)

        bot = Starlette(routes=[Route("/slack/events", events, methods=["POST"])])
        async with serving(bot, bot_socket):
            assert (await sim.control("/sim/command", user=EMMA.id, text="/request figma"))["status"] == 200
            [modal] = (await sim.state())["modals"]
            refused = await sim.control(
                "/sim/submit", user=EMMA.id, view_id=modal["id"], values=request_values(seats="300")
            )
            assert refused["errors"] == {"seats": "At most 100 seats per request"}
            done = await sim.control("/sim/submit", user=EMMA.id, view_id=modal["id"], values=request_values())
            assert done["outcome"] == "closed"
            [posted] = (await sim.state())["dm"]["messages"]
            await sim.control(
                "/sim/action",
                user=EMMA.id,
                channel=(await sim.state())["dm"]["id"],
                message_ts=posted["ts"],
                action_id="approve",
            )
            await sim.control("/sim/message", user=EMMA.id, text="thanks")
            messages = (await sim.state())["dm"]["messages"]
            assert [(m["text"], m["edited"]) for m in messages] == [
                ("Approved", True),
                ("thanks", False),
                ("You said: thanks", False),
            ]
            methods = [c["method"] for c in (await sim.http.get("/sim/calls")).json()["calls"]]
            assert methods == ["auth.test", "views.open", "chat.postMessage", "chat.update", "chat.postMessage"]


async def test_config_defaults_and_page_are_served(sim: Sim) -> None:
    defaults = make_config("http://127.0.0.1:9/slack/events")
    assert (defaults.ack_timeout, defaults.trigger_ttl) == (3.0, 3.0)
    page = await sim.http.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        assert (await sim.http.get(asset)).status_code == 200
    assert (await sim.http.get("/healthz")).json() == {"ok": True}
    users = (await sim.http.get("/sim/users")).json()["users"]
    assert [u["id"] for u in users] == [EMMA.id, MARK.id]
    unknown = await sim.http.get("/sim/state", params={"user": "U0NOBODY"})
    assert unknown.status_code == 404
    assert json.loads((await sim.http.get("/sim/state")).text)["user"] is None


async def test_a_click_on_a_button_an_update_removed_reaches_the_app_as_in_slack(sim: Sim, receiver: Receiver) -> None:
    """The page may still show a message the app has since replaced (a second click on Approve
    before the refresh). Slack delivers that click to the app, which answers it; the simulator
    must not refuse it with an internal "no element with action_id" error."""
    posted = await sim.client.chat_postMessage(channel=EMMA.id, text="Approve?", blocks=approval_blocks("req-9"))
    await sim.client.chat_update(
        channel=posted["channel"],
        ts=posted["ts"],
        text="Approved",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "Approved"}}],
    )
    answer = await sim.control(
        "/sim/action",
        user=EMMA.id,
        channel=posted["channel"],
        message_ts=posted["ts"],
        action_id="approve",
        block_id="decision",
    )
    assert answer["status"] == 200
    payload = receiver.last.data
    assert payload["actions"][0]["action_id"] == "approve" and payload["actions"][0]["value"] == "req-9"
    assert payload["message"]["text"] == "Approved"  # the message as Slack holds it now
    # An element that was never in any version of the message is still refused.
    never = await sim.http.post(
        "/sim/action",
        json={"user": EMMA.id, "channel": posted["channel"], "message_ts": posted["ts"], "action_id": "nope"},
    )
    assert never.status_code == 404


async def test_users_listing_names_the_user_the_page_opens_as(receiver: Receiver) -> None:
    config = make_config(receiver.url or "http://127.0.0.1:9/slack/events")
    for default, expected in ((MARK.id, MARK.id), (None, None), ("U0NOBODY", None)):
        app = create_simulator_app(replace(config, default_user_id=default))
        async with serving(app, bind_socket()) as url, httpx.AsyncClient(base_url=url, trust_env=False) as http:
            listing = (await http.get("/sim/users")).json()
        assert listing["default_user"] == expected
        assert [u["id"] for u in listing["users"]] == [EMMA.id, MARK.id]
