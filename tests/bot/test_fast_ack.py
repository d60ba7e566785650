"""Which Slack requests the bot answers before processing (`bot.server.acks_with_nothing`),
decided on Slack's own recorded payloads: everything whose ack carries nothing, and never a
view submission (its answer may carry field errors) or the URL verification challenge."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest

from bot.server import acks_with_nothing

FORM = "application/x-www-form-urlencoded"


def _interaction(reference_dir: Path, name: str) -> bytes:
    payload = json.loads((reference_dir / "payloads" / name).read_text())
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


def _event(reference_dir: Path, name: str) -> bytes:
    return (reference_dir / "payloads" / name).read_text().encode()


@pytest.mark.parametrize(
    "name", ["block_actions_message_button.json", "block_actions_modal_static_select.json", "shortcut_global.json"]
)
def test_clicks_and_shortcuts_are_answered_at_once(reference_dir: Path, name: str) -> None:
    assert acks_with_nothing(_interaction(reference_dir, name), FORM)


@pytest.mark.parametrize("name", ["view_submission.json", "view_closed.json"])
def test_view_payloads_go_through_bolt_before_the_answer(reference_dir: Path, name: str) -> None:
    assert not acks_with_nothing(_interaction(reference_dir, name), FORM)


def test_slash_commands_are_answered_at_once(reference_dir: Path) -> None:
    body = (reference_dir / "payloads" / "slash_command.form.txt").read_text().strip().encode()
    assert acks_with_nothing(body, FORM)


@pytest.mark.parametrize("name", ["event_app_mention.json", "event_message_im.json", "event_app_home_opened.json"])
def test_events_are_answered_at_once(reference_dir: Path, name: str) -> None:
    assert acks_with_nothing(_event(reference_dir, name), "application/json")


def test_the_url_verification_challenge_is_answered_by_bolt(reference_dir: Path) -> None:
    assert not acks_with_nothing(_event(reference_dir, "url_verification.json"), "application/json")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"payload=not-json", FORM), (b"payload=%5B1%5D", FORM), (b"hello", "text/plain"), (b"", FORM)],
)
def test_anything_odd_goes_through_bolt(body: bytes, content_type: str) -> None:
    assert not acks_with_nothing(body, content_type)
