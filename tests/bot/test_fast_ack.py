"""Which Slack requests the bot answers before processing (`bot.server.acks_with_nothing`),
decided on Slack's own recorded payloads: everything whose ack carries nothing, and never a
view submission (its answer may carry field errors) or the URL verification challenge."""

from __future__ import annotations

import asyncio
import inspect
import json
import urllib.parse
from pathlib import Path

import pytest

from bot.server import AckFirst, acks_with_nothing

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


async def test_work_deferred_past_an_ack_waits_until_no_ack_is_being_given() -> None:
    gate = AckFirst()
    started: list[str] = []

    async def work() -> None:
        started.append("work")

    gate.begin_ack()
    gate.begin_ack()
    task = asyncio.create_task(gate.run(work()))
    for _ in range(20):
        await asyncio.sleep(0)
    assert started == []
    gate.end_ack()
    for _ in range(20):
        await asyncio.sleep(0)
    assert started == [], "one ack is still being given"
    gate.end_ack()
    await task
    assert started == ["work"]


async def test_a_steady_stream_of_acks_cannot_starve_the_work() -> None:
    gate = AckFirst(max_wait=0)
    done = asyncio.Event()

    async def work() -> None:
        done.set()

    gate.begin_ack()  # never ends
    await asyncio.wait_for(gate.run(work()), timeout=5)
    assert done.is_set()


async def test_only_so_many_pieces_of_deferred_work_run_at_once() -> None:
    gate = AckFirst(slots=2)
    release = asyncio.Event()
    running = 0
    most = 0

    async def work() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await release.wait()
        running -= 1

    tasks = [asyncio.create_task(gate.run(work())) for _ in range(5)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert running == 2
    release.set()
    await asyncio.gather(*tasks)
    assert most == 2 and running == 0


async def test_work_cancelled_before_it_began_is_closed_not_left_unawaited() -> None:
    gate = AckFirst()
    ran = False

    async def work() -> None:
        nonlocal ran
        ran = True

    gate.begin_ack()
    pending = work()
    task = asyncio.create_task(gate.run(pending))
    for _ in range(5):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert inspect.getcoroutinestate(pending) == inspect.CORO_CLOSED and not ran
