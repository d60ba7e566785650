"""What Slack sends to an app's Request URL, built as pure functions.

Every builder takes the values it needs (ids, timestamps, trigger ids) explicitly and returns
the decoded payload; `encode_*` turn it into the body that goes on the wire. The shapes follow
the captured payloads in `shared/reference/slack/payloads/` key for key; the only differences
are the ones a plain (non Enterprise Grid) workspace shows today, listed in the tests.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Mapping
from typing import Any, NamedTuple

from bot.simulator.config import SimulatorConfig, SimUser

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# The legacy verification token Slack still puts in payloads; apps must check signatures instead.
VERIFICATION_TOKEN = "simulator-verification-token"  # noqa: S105 - not a secret, a placeholder

# Keys of the `state.values` entry each element type produces, as Slack sends them.
SELECTION_KEYS: dict[str, tuple[str, ...]] = {
    "static_select": ("selected_option",),
    "external_select": ("selected_option",),
    "radio_buttons": ("selected_option",),
    "overflow": ("selected_option",),
    "multi_static_select": ("selected_options",),
    "multi_external_select": ("selected_options",),
    "checkboxes": ("selected_options",),
    "datepicker": ("selected_date",),
    "timepicker": ("selected_time",),
    "datetimepicker": ("selected_date_time",),
    "users_select": ("selected_user",),
    "multi_users_select": ("selected_users",),
    "conversations_select": ("selected_conversation",),
    "channels_select": ("selected_channel",),
    "plain_text_input": ("value",),
    "number_input": ("value",),
    "email_text_input": ("value",),
    "url_text_input": ("value",),
}


class WireBody(NamedTuple):
    body: str
    content_type: str


def encode_form(fields: Mapping[str, str]) -> WireBody:
    """Slash commands: each field as a form field."""
    return WireBody(urllib.parse.urlencode(dict(fields)), FORM)


def encode_interactivity(payload: Mapping[str, Any]) -> WireBody:
    """block_actions, view_submission, view_closed, shortcuts: one form field `payload=<json>`."""
    return WireBody(urllib.parse.urlencode({"payload": json.dumps(payload)}), FORM)


def encode_event(envelope: Mapping[str, Any]) -> WireBody:
    """Events API: the JSON envelope itself."""
    return WireBody(json.dumps(envelope), JSON)


# ---------------------------------------------------------------- slash commands


def slash_command(
    config: SimulatorConfig,
    *,
    user: SimUser,
    command: str,
    text: str,
    channel_id: str,
    channel_name: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, str]:
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": config.team_id,
        "team_domain": config.team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user.id,
        "user_name": user.handle,
        "command": command,
        "text": text,
        "api_app_id": config.api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


# ---------------------------------------------------------------- interactivity


def _team(config: SimulatorConfig) -> dict[str, Any]:
    return {"id": config.team_id, "domain": config.team_domain}


def _user(config: SimulatorConfig, user: SimUser) -> dict[str, Any]:
    return {"id": user.id, "username": user.handle, "name": user.handle, "team_id": config.team_id}


def block_action(
    element: Mapping[str, Any], *, block_id: str, action_ts: str, selection: Mapping[str, Any]
) -> dict[str, Any]:
    """One entry of `actions[]` for the element the user touched.

    `selection` holds what the user picked (`selected_option`, `selected_date`, `value`, ...);
    only the keys Slack sends for this element type are kept.
    """
    kind = element["type"]
    if kind == "button":
        action: dict[str, Any] = {
            "action_id": element.get("action_id", ""),
            "block_id": block_id,
            "text": element.get("text"),
        }
        if "value" in element:
            action["value"] = element["value"]
        if "style" in element:
            action["style"] = element["style"]
        action["type"] = "button"
        action["action_ts"] = action_ts
        return action
    action = {"type": kind, "action_id": element.get("action_id", ""), "block_id": block_id}
    for key in SELECTION_KEYS.get(kind, ()):
        if key in selection:
            action[key] = selection[key]
    action["action_ts"] = action_ts
    return action


def message_block_actions(
    config: SimulatorConfig,
    *,
    user: SimUser,
    channel_id: str,
    channel_name: str,
    message_ts: str,
    message: Mapping[str, Any] | None,
    action: Mapping[str, Any],
    state_values: Mapping[str, Any],
    trigger_id: str,
    response_url: str,
) -> dict[str, Any]:
    """A click in a message. Slack leaves `message` out for ephemeral messages (pass None)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(config, user),
        "api_app_id": config.api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": message is None,
        },
        "trigger_id": trigger_id,
        "team": _team(config),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
    }
    if message is not None:
        payload["message"] = dict(message)
    payload["state"] = {"values": dict(state_values)}
    payload["response_url"] = response_url
    payload["actions"] = [dict(action)]
    return payload


def view_block_actions(
    config: SimulatorConfig,
    *,
    user: SimUser,
    view: Mapping[str, Any],
    action: Mapping[str, Any],
    trigger_id: str,
) -> dict[str, Any]:
    """A click or selection inside a modal or the Home tab (`container.type = view`)."""
    return {
        "type": "block_actions",
        "user": _user(config, user),
        "api_app_id": config.api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": trigger_id,
        "team": _team(config),
        "enterprise": None,
        "is_enterprise_install": False,
        "view": dict(view),
        "actions": [dict(action)],
    }


def view_submission(
    config: SimulatorConfig,
    *,
    user: SimUser,
    view: Mapping[str, Any],
    trigger_id: str,
    response_urls: tuple[Mapping[str, Any], ...] = (),
) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": _team(config),
        "user": _user(config, user),
        "api_app_id": config.api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": dict(view),
        "response_urls": [dict(r) for r in response_urls],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_closed(config: SimulatorConfig, *, user: SimUser, view: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "view_closed",
        "team": _team(config),
        "user": _user(config, user),
        "api_app_id": config.api_app_id,
        "token": VERIFICATION_TOKEN,
        "view": dict(view),
        "response_urls": [],
    }


def slack_view(
    config: SimulatorConfig,
    view: Mapping[str, Any],
    *,
    view_id: str,
    view_hash: str,
    root_view_id: str,
    previous_view_id: str | None,
    state_values: Mapping[str, Any],
) -> dict[str, Any]:
    """A view as Slack returns it: the app's view plus the server fields."""
    return {
        "id": view_id,
        "team_id": config.team_id,
        "type": view.get("type", "modal"),
        "blocks": list(view.get("blocks", [])),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": dict(state_values)},
        "hash": view_hash,
        "title": view.get("title"),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": previous_view_id,
        "root_view_id": root_view_id,
        "app_id": config.api_app_id,
        "external_id": view.get("external_id", ""),
        "app_installed_team_id": config.team_id,
        "bot_id": config.bot_id,
    }


# ---------------------------------------------------------------- Events API


def _event_context(config: SimulatorConfig, event: Mapping[str, Any]) -> str:
    # Opaque to apps; Slack sends a versioned base64 blob, so do we.
    raw = json.dumps(
        {
            "et": event.get("type"),
            "tid": config.team_id,
            "aid": config.api_app_id,
            "cid": event.get("channel"),
        },
        separators=(",", ":"),
    )
    return "4-" + base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def event_callback(
    config: SimulatorConfig, *, event: Mapping[str, Any], event_id: str, event_time: int
) -> dict[str, Any]:
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": config.team_id,
        "api_app_id": config.api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": config.team_id,
                "user_id": config.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": _event_context(config, event),
    }


def message_im_event(*, user_id: str, channel_id: str, text: str, ts: str) -> dict[str, Any]:
    """A user's top-level message in their DM with the app (`message.im`)."""
    return {
        "user": user_id,
        "type": "message",
        "ts": ts,
        "text": text,
        "channel": channel_id,
        "event_ts": ts,
        "channel_type": "im",
    }


def app_mention_event(
    config: SimulatorConfig, *, user_id: str, channel_id: str, text: str, ts: str, client_msg_id: str
) -> dict[str, Any]:
    return {
        "client_msg_id": client_msg_id,
        "type": "app_mention",
        "text": text,
        "user": user_id,
        "ts": ts,
        "team": config.team_id,
        "channel": channel_id,
        "event_ts": ts,
    }


def app_home_opened_event(
    *, user_id: str, channel_id: str, event_ts: str, view: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Slack adds the published Home view, if there is one."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel_id,
        "tab": "home",
        "event_ts": event_ts,
    }
    if view is not None:
        event["view"] = dict(view)
    return event
