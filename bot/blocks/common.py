"""Block Kit primitives, pure functions that return dicts, each cut to Block Kit's limits:
text objects, section / context / header blocks, buttons, options, input blocks, modals.
What a surface shows is built from these in the other modules of bot/blocks/."""

from __future__ import annotations

from typing import Any

from catalog.text import truncate

Block = dict[str, Any]

MAX_OPTIONS = 100
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
OPTION_TEXT_LIMIT = 75
CONTEXT_LIMIT = 2000


def plain(text: str, limit: int = SECTION_LIMIT) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text or " ", limit), "emoji": True}


def mrkdwn(text: str, limit: int = SECTION_LIMIT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text or " ", limit)}


def section(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if block_id:
        block["block_id"] = block_id
    return block


def context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text, CONTEXT_LIMIT)]}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_LIMIT)}


def button(
    text: str, action_id: str, value: str, style: str | None = None, *, confirm: dict[str, Any] | None = None
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text, 75), "action_id": action_id, "value": value[:2000]}
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def actions(block_id: str, elements: list[dict[str, Any]]) -> Block:
    """An actions block: a row of buttons (or other interactive elements)."""
    return {"type": "actions", "block_id": block_id, "elements": elements}


def confirm_dialog(title: str, text: str, yes: str, no: str = "Cancel", *, danger: bool = False) -> dict[str, Any]:
    """Block Kit's own "Are you sure?" on a button: Slack asks before it sends the click."""
    dialog: dict[str, Any] = {
        "title": plain(title, 100),
        "text": plain(text, 300),
        "confirm": plain(yes, 30),
        "deny": plain(no, 30),
    }
    if danger:
        dialog["style"] = "danger"
    return dialog


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, OPTION_TEXT_LIMIT), "value": value[:150]}


def input_block(block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str = "") -> Block:
    block: Block = {"type": "input", "block_id": block_id, "label": plain(label, 2000), "element": element}
    if optional:
        block["optional"] = True
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def text_input(
    action_id: str,
    *,
    max_length: int,
    multiline: bool = False,
    min_length: int = 0,
    placeholder: str = "",
    initial: str | None = None,
) -> dict[str, Any]:
    """A `plain_text_input` element; `initial` is cut to `max_length`."""
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": action_id}
    if multiline:
        element["multiline"] = True
    if min_length:
        element["min_length"] = min_length
    element["max_length"] = max_length
    if placeholder:
        element["placeholder"] = plain(placeholder)
    if initial:
        element["initial_value"] = initial[:max_length]
    return element


def reason_input(block_id: str, action_id: str, label: str, *, placeholder: str = "") -> Block:
    """A written reason the person must give (why deny, what should change, why not the
    alternative): several lines, 3 to 1000 characters."""
    element = text_input(action_id, multiline=True, min_length=3, max_length=1000, placeholder=placeholder)
    return input_block(block_id, label, element)


def modal(
    callback_id: str, title: str, submit: str, blocks: list[Block], *, private_metadata: str, close: str = "Back"
) -> dict[str, Any]:
    """A modal view; `private_metadata` comes back with its submission (bot/payloads.py reads it)."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "submit": plain(submit, 24),
        "close": plain(close, 24),
        "private_metadata": private_metadata[:3000],
        "blocks": blocks,
    }
