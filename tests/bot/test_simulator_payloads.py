"""Pure parts of the simulator: payload shapes against Slack's captured payloads, signatures, validation."""

from __future__ import annotations

import copy
import json
import time
import urllib.parse
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier

from bot.simulator import payloads
from bot.simulator.signing import slack_signature, slack_signature_headers
from bot.simulator.state import Workspace
from bot.simulator.validation import BlockKitValidator
from tests.bot.simulator_fixtures import (
    EMMA,
    REF,
    SCHEMA,
    SECRET,
    approval_blocks,
    load_reference,
    make_config,
    request_modal,
)

CONFIG = make_config("http://127.0.0.1:9/slack/events")
SERVER_VIEW_KEYS = {
    "id",
    "team_id",
    "state",
    "hash",
    "previous_view_id",
    "root_view_id",
    "app_id",
    "app_installed_team_id",
    "bot_id",
}

# Captured on Enterprise Grid installs; a plain workspace does not send them.
GRID_ONLY = {"enterprise_id", "enterprise_name"}
# Keys Slack sends today that the older or trimmed captures lack, by payload and path.
ADDED: dict[str, dict[str, set[str]]] = {
    "slash_command.json": {"": {"api_app_id", "is_enterprise_install"}},
    # the capture is a click in an *ephemeral* message, for which Slack leaves `message` out
    # (and the button we click is styled, which Slack echoes as `style`)
    "block_actions_message_button.json": {
        "": {"enterprise", "is_enterprise_install", "message", "state"},
        "/actions/0": {"style"},
    },
    "view_submission.json": {"": {"enterprise", "is_enterprise_install"}},
    "event_message_im.json": {"": {"is_ext_shared_channel", "event_context"}},
    "event_app_mention.json": {"": {"authorizations", "is_ext_shared_channel", "event_context"}},
    "event_app_home_opened.json": {"": {"is_ext_shared_channel", "event_context"}},
}
# Values the app defines (blocks, texts, options): their keys are the app's business.
APP_DEFINED = {"blocks", "values", "title", "close", "submit", "text", "selected_option"}


def key_differences(ours: Any, ref: Any, added: dict[str, set[str]], path: str = "") -> list[str]:
    if isinstance(ours, dict) and isinstance(ref, dict):
        missing = set(ref) - set(ours) - GRID_ONLY
        extra = set(ours) - set(ref) - added.get(path, set())
        diffs = [f"{path or '/'}: missing {sorted(missing)}" for _ in [1] if missing]
        diffs += [f"{path or '/'}: extra {sorted(extra)}" for _ in [1] if extra]
        for key in sorted((set(ours) & set(ref)) - APP_DEFINED):
            diffs += key_differences(ours[key], ref[key], added, f"{path}/{key}")
        return diffs
    if isinstance(ours, list) and isinstance(ref, list) and ours and ref:
        return key_differences(ours[0], ref[0], added, f"{path}/0")
    return []


def as_slack_view(view: dict[str, Any], **state: Any) -> dict[str, Any]:
    app_view = {k: v for k, v in view.items() if k not in SERVER_VIEW_KEYS}
    return payloads.slack_view(
        CONFIG,
        app_view,
        view_id="V0TESTVIEW1",
        view_hash="1700000000.abcdefgh",
        root_view_id="V0TESTVIEW1",
        previous_view_id=None,
        state_values=state,
    )


def built_like(name: str) -> dict[str, Any]:
    """Our builder's payload for the same situation as the reference capture `name`."""
    trigger, response_url = "1.1700000000.abc", "http://127.0.0.1:9/sim/response/T/x"
    if name == "slash_command.json":
        return payloads.slash_command(
            CONFIG,
            user=EMMA,
            command="/request",
            text="figma",
            channel_id="D0EMPLOYEE",
            channel_name="directmessage",
            response_url=response_url,
            trigger_id=trigger,
        )
    if name == "block_actions_message_button.json":
        workspace = Workspace(CONFIG)
        blocks = approval_blocks()
        message = {
            "bot_id": CONFIG.bot_id,
            "type": "message",
            "text": "x",
            "user": CONFIG.bot_user_id,
            "ts": "1700000000.000100",
            "team": CONFIG.team_id,
            "blocks": workspace.assign_ids(blocks),
        }
        action = payloads.block_action(
            blocks[1]["elements"][0], block_id="decision", action_ts="1700000001.000001", selection={}
        )
        return payloads.message_block_actions(
            CONFIG,
            user=EMMA,
            channel_id="D0EMPLOYEE",
            channel_name="directmessage",
            message_ts="1700000000.000100",
            message=message,
            action=action,
            state_values={},
            trigger_id=trigger,
            response_url=response_url,
        )
    ref = load_reference(name)
    if name == "block_actions_modal_static_select.json":
        element = ref["view"]["blocks"][0]["elements"][0]
        option = element["option_groups"][0]["options"][0]
        action = payloads.block_action(
            element,
            block_id="block",
            action_ts="1700000001.000001",
            selection={"selected_option": option, "value": "ignored"},
        )
        return payloads.view_block_actions(
            CONFIG, user=EMMA, view=as_slack_view(ref["view"]), action=action, trigger_id=trigger
        )
    if name == "view_submission.json":
        return payloads.view_submission(CONFIG, user=EMMA, view=as_slack_view(ref["view"]), trigger_id=trigger)
    if name == "view_closed.json":
        return payloads.view_closed(CONFIG, user=EMMA, view=as_slack_view(ref["view"]))
    if name == "event_message_im.json":
        event = payloads.message_im_event(user_id=EMMA.id, channel_id="D0EMPLOYEE", text="hi", ts="1700000000.000100")
    elif name == "event_app_mention.json":
        event = payloads.app_mention_event(
            CONFIG,
            user_id=EMMA.id,
            channel_id="C0ITAM0000",
            text="<@U0> hi",
            ts="1700000000.000100",
            client_msg_id="c0ffee",
        )
    else:
        event = payloads.app_home_opened_event(user_id=EMMA.id, channel_id="D0EMPLOYEE", event_ts="1700000000.1")
    return payloads.event_callback(CONFIG, event=event, event_id="Ev0TEST", event_time=1700000000)


@pytest.mark.parametrize(
    "name",
    [
        "slash_command.json",
        "block_actions_message_button.json",
        "block_actions_modal_static_select.json",
        "view_submission.json",
        "view_closed.json",
        "event_message_im.json",
        "event_app_mention.json",
        "event_app_home_opened.json",
    ],
)
def test_builders_have_the_reference_key_sets(name: str) -> None:
    assert key_differences(built_like(name), load_reference(name), ADDED.get(name, {})) == []


def test_the_comparison_notices_a_missing_key() -> None:
    broken = built_like("view_submission.json")
    del broken["view"]["private_metadata"]
    assert key_differences(broken, load_reference("view_submission.json"), ADDED["view_submission.json"]) == [
        "/view: missing ['private_metadata']"
    ]


def test_ephemeral_click_matches_the_reference_exactly() -> None:
    ours = built_like("block_actions_message_button.json")
    ours = payloads.message_block_actions(
        CONFIG,
        user=EMMA,
        channel_id="D0EMPLOYEE",
        channel_name="directmessage",
        message_ts="1.2",
        message=None,
        action=ours["actions"][0],
        state_values={},
        trigger_id="t",
        response_url="u",
    )
    assert ours["container"]["is_ephemeral"] is True and "message" not in ours
    ref = load_reference("block_actions_message_button.json")
    assert set(ours["actions"][0]) == set(ref["actions"][0]) | {"style"}


def test_wire_encodings_follow_how_sent() -> None:
    fields = built_like("slash_command.json")
    form = payloads.encode_form(fields)
    assert form.content_type == "application/x-www-form-urlencoded"
    assert dict(urllib.parse.parse_qsl(form.body, keep_blank_values=True)) == fields
    reference_form = (REF / "payloads/slash_command.form.txt").read_text(encoding="utf-8").rstrip("\n")
    assert dict(urllib.parse.parse_qsl(reference_form)) == load_reference("slash_command.json")

    interactive = payloads.encode_interactivity(built_like("view_submission.json"))
    decoded = dict(urllib.parse.parse_qsl(interactive.body))
    assert list(decoded) == ["payload"] and json.loads(decoded["payload"])["type"] == "view_submission"

    event = payloads.encode_event(built_like("event_message_im.json"))
    assert event.content_type == "application/json" and json.loads(event.body)["type"] == "event_callback"


def test_signature_matches_slacks_documented_example() -> None:
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert slack_signature(body, "8f742231b10e8888abcd99yyyzzz85a5", 1531420618) == expected


def test_signature_headers_verify_with_slack_sdk() -> None:
    wire = payloads.encode_interactivity(built_like("block_actions_message_button.json"))
    headers = slack_signature_headers(wire.body, SECRET)
    assert abs(int(headers["X-Slack-Request-Timestamp"]) - time.time()) < 5
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(wire.body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert verifier.is_valid(wire.body.encode(), headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert not SignatureVerifier("other").is_valid(
        wire.body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )
    assert not verifier.is_valid(wire.body + "x", headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])


# ---------------------------------------------------------------- validation


@pytest.fixture(scope="module")
def validator() -> BlockKitValidator:
    return BlockKitValidator(SCHEMA)


def test_reference_views_are_valid_once_server_fields_are_stripped(validator: BlockKitValidator) -> None:
    assert validator.schema_loaded
    for path in sorted((REF / "views").glob("*.json")):
        view = json.loads(path.read_text(encoding="utf-8"))
        keep = {"type", "blocks", "private_metadata", "callback_id", "external_id"} if view["type"] == "home" else None
        app_view = {k: v for k, v in view.items() if k not in SERVER_VIEW_KEYS and (keep is None or k in keep)}
        assert validator.view_problems(app_view) == [], path.name
    assert validator.view_problems(request_modal()) == []
    assert validator.message_problems(approval_blocks()) == []


def test_schema_errors_are_explained_along_the_matching_type(validator: BlockKitValidator) -> None:
    blocks = approval_blocks()
    blocks[1]["elements"][0]["text"]["text"] = "A" * 76
    assert validator.message_problems(blocks) == ["blocks/1/elements/0/text/text: longer than 75 chars (got 76)"]
    assert validator.message_problems([{"type": "sectoin"}]) == ["blocks/0: unknown or misplaced type 'sectoin'"]
    assert validator.message_problems([{"text": "x"}]) == ["blocks/0: object has no 'type'"]
    modal = request_modal()
    modal["title"]["text"] = "T" * 25
    assert validator.view_problems(modal) == ["title/text: longer than 24 chars (got 25)"]
    assert validator.view_problems({**request_modal(), "id": "V1"}) == [
        "view: Additional properties are not allowed ('id' was unexpected)"
    ]


@pytest.mark.parametrize("schema", [True, False], ids=["with-schema", "rules-only"])
def test_rules_the_schema_misses(schema: bool) -> None:
    validator = BlockKitValidator(SCHEMA if schema else None)
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    assert validator.message_problems([section] * 50) == []
    assert validator.message_problems([section] * 51) == ["blocks: more than 50 blocks in a message (got 51)"]

    same_block = copy.deepcopy(request_modal())
    same_block["blocks"][1]["block_id"] = "product"
    assert validator.view_problems(same_block) == ["blocks/1/block_id: duplicate block_id 'product' (also block 0)"]
    # the same action_id in different blocks is fine (Slack: unique within the containing block)
    assert validator.view_problems(request_modal()) == []

    numbers = request_modal()
    numbers["blocks"][1]["element"].update(min_value="10", max_value="20", initial_value="30")
    assert validator.view_problems(numbers) == ["blocks/1/element/initial_value: 30 is outside [10, 20]"]

    upload = [
        {
            "type": "input",
            "label": {"type": "plain_text", "text": "File"},
            "element": {"type": "file_input", "action_id": "f"},
        }
    ]
    assert "blocks/0/element: file_input is only allowed in modals" in validator.message_problems(upload)
    markdown_modal = {**request_modal(), "blocks": [{"type": "markdown", "text": "**hi**"}]}
    assert validator.view_problems(markdown_modal) == ["blocks/0: a markdown block is only allowed in messages"]


def test_without_the_schema_the_status_says_so() -> None:
    missing = BlockKitValidator(REF / "no-such-schema.json")
    assert not missing.schema_loaded
    assert "not loaded" in missing.status and "no-such-schema.json" in missing.status
    assert missing.message_problems([{"type": "section", "text": {"type": "mrkdwn", "text": "A" * 5000}}]) == []


# ------------------------------------------- the keyed-union fast path gives the same verdicts


def _our_messages() -> list[list[dict[str, Any]]]:
    from bot.blocks.request_messages import request_message
    from catalog.ports import MessageKind
    from tests.bot.test_blocks import chain, summary

    made = (chain("pending_approval"), summary("approved"), summary("denied"))
    return [approval_blocks()] + [request_message(kind, one)[1] for kind in MessageKind for one in made]


_MESSAGES = _our_messages()
# What a careless change to a block builder does: a misspelt or misplaced type, no type,
# a wrong value type, a text over its limit, an element where another kind belongs.
_BREAKS: list[tuple[str, Any]] = [
    ("type", "sectoin"),
    ("type", "button"),
    ("type", "actions"),
    ("type", 7),
    ("type", None),
    ("text", "plain string"),
    ("text", {"type": "mrkdwn", "text": ""}),
    ("text", {"type": "plain_text", "text": "x" * 3001}),
    ("elements", [{"type": "image", "image_url": "https://example.com/a.png"}]),
    ("elements", [{"type": "button", "text": {"type": "mrkdwn", "text": "Go"}, "action_id": "a"}]),
    ("accessory", {"type": "static_select", "action_id": "a"}),
    ("block_id", "b" * 256),
]


def _paths(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every object inside a message, as the path that reaches it."""
    found = [at] if isinstance(node, dict) else []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in items:
        found += _paths(child, (*at, key))
    return found


@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_the_fast_union_check_finds_exactly_what_the_plain_schema_finds(data: st.DataObject) -> None:
    """The simulator asks a compiled validator (jsonschema-rs) whether a message is valid and
    explains only what is not, checking `oneOf` unions keyed by `type` against the matching
    alternative first (nine tenths of its CPU went to trying all 21 block types). Any message,
    broken anywhere, must get the very same problems as from the plain JSON Schema validator."""
    blocks = copy.deepcopy(data.draw(st.sampled_from(_MESSAGES)))
    for _ in range(data.draw(st.integers(0, 3))):
        path = data.draw(st.sampled_from(_paths(blocks)))
        field, value = data.draw(st.sampled_from(_BREAKS))
        target: Any = blocks
        for key in path:
            target = target[key]
        if value is None:
            target.pop(field, None)
        else:
            target[field] = copy.deepcopy(value)
    assert _FAST.message_problems(blocks) == _PLAIN.message_problems(blocks)
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Check"}, "blocks": blocks}
    assert _FAST.view_problems(view) == _PLAIN.view_problems(view)


_FAST, _PLAIN = BlockKitValidator(SCHEMA), BlockKitValidator(SCHEMA, keyed_unions=False, fast=False)
