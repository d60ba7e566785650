"""Only Slack may talk to the bot: anything not signed with the signing secret, signed too long
ago, or signed for another timestamp is refused with 401 before any listener runs, so no
workflow starts and no row is written."""

from __future__ import annotations

import time
import uuid

import httpx

from tests.helpers import eventually
from tests.security.stack import EMPLOYEE, FORM, Stack, request_values


def _submission(stack: Stack) -> str:
    view_id = f"V{uuid.uuid4().hex[:10].upper()}"
    return stack.interaction_body(stack.view_submission(EMPLOYEE, view_id, request_values("figma")))


async def _nothing_started(stack: Stack, workflows_before: list[str], requests_before: int) -> None:
    assert await stack.workflow_ids() == workflows_before
    assert stack.requests() == requests_before
    assert not await stack.calls("views.open")


async def test_unsigned_forged_stale_and_replayed_requests_get_401_and_start_nothing(stack: Stack) -> None:
    workflows_before, requests_before = await stack.workflow_ids(), stack.requests()
    body = _submission(stack)

    assert (await stack.post_signed(body, secret="not-the-signing-secret")).status_code == 401
    six_minutes_ago = int(time.time()) - 6 * 60
    assert (await stack.post_signed(body, timestamp=six_minutes_ago)).status_code == 401

    # A captured request replayed later: the attacker sets a fresh timestamp, but the
    # signature still covers the old one.
    fresh_headers = {"X-Slack-Request-Timestamp": str(int(time.time()))}
    replay = await stack.post_signed(body, timestamp=six_minutes_ago, headers=fresh_headers)
    assert replay.status_code == 401

    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        url = f"{stack.bot_url}/slack/events"
        unsigned = await client.post(url, content=body, headers={"Content-Type": FORM})
        assert unsigned.status_code == 401
        no_timestamp = await client.post(
            url, content=body, headers={"Content-Type": FORM, "X-Slack-Signature": "v0=" + "0" * 64}
        )
        assert no_timestamp.status_code == 401
        garbage_timestamp = await client.post(
            url,
            content=body,
            headers={"Content-Type": FORM, "X-Slack-Signature": "v0=00", "X-Slack-Request-Timestamp": "yesterday"},
        )
        assert garbage_timestamp.status_code == 401
        # Digits to str.isdigit(), not to int(): once a 500 with a stack trace.
        superscript_timestamp = await client.post(
            url,
            content=body,
            headers={
                "Content-Type": FORM,
                "X-Slack-Signature": "v0=00",
                "X-Slack-Request-Timestamp": "¹²³".encode("latin-1"),
            },
        )
        assert superscript_timestamp.status_code == 401
    await _nothing_started(stack, workflows_before, requests_before)

    # The same body correctly signed is accepted and starts exactly one request: the refusals
    # above were about the signature, not the payload.
    assert (await stack.post_signed(body)).status_code == 200
    await eventually(lambda: stack.requests() == requests_before + 1, 30, "the signed request's row")
    assert len(await stack.workflow_ids()) == len(workflows_before) + 1
