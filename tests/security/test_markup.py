"""User text never becomes a mention, a link or broken Block Kit: whatever people type into
the request modal, a DM or the slash command is escaped for mrkdwn and cut to Slack's limits
in every Web API call the bot makes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from bot import ids
from tests.helpers import eventually
from tests.security.stack import EMPLOYEE, MANAGER, Stack, find_button, request_values

NASTY = "<!channel> <!here|here> <!everyone> <@U0INJECTED> <#C0SECRET> <http://evil.example|click> *bold* & ~x~ `c`"
RTL_EMOJI = "‮שלום عليكم 👩🏽‍💻🎉 "
#: A raw control sequence Slack would turn into a notification or a link.
ACTIVE = re.compile(r"<(!channel|!here|!everyone|@U0INJECTED|#C0SECRET|http://evil)")
LIMITS = {"section": 3000, "context": 3000, "header": 150}


def _texts(value: Any, block_type: str | None = None) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """Every text object in a Block Kit structure, with the type of the block it sits in."""
    if isinstance(value, dict):
        if value.get("type") in ("mrkdwn", "plain_text") and isinstance(value.get("text"), str):
            yield block_type, value
        inner_type = value.get("type") if "block_id" in value or value.get("type") in LIMITS else block_type
        for child in value.values():
            yield from _texts(child, inner_type if isinstance(inner_type, str) else block_type)
    elif isinstance(value, list):
        for child in value:
            yield from _texts(child, block_type)


async def test_markup_mentions_and_huge_text_are_escaped_and_cut_everywhere(stack: Stack) -> None:
    long_text = (NASTY + RTL_EMOJI) * 90  # ~10,000 characters
    assert len(long_text) >= 10_000
    # Through the simulator, as a person fills the modal (Slack caps the input at 3,000).
    modal = await stack.open_modal(EMPLOYEE, NASTY)
    values = request_values(ids.OTHER_PRODUCT_VALUE, justification=long_text[:3000], other=NASTY + RTL_EMOJI)
    values[ids.B_ESTIMATE] = {ids.A_ESTIMATE: {"type": "plain_text_input", "value": "1,200"}}
    answer = await stack.do("/sim/submit", user=EMPLOYEE, view_id=modal["id"], values=values)
    assert not answer.get("errors"), answer
    # Straight to the bot, signed, with the whole 10,000 characters.
    values[ids.B_JUSTIFICATION][ids.A_JUSTIFICATION]["value"] = long_text
    submission = stack.view_submission(EMPLOYEE, "V0LONGTEXT", values)
    assert (await stack.post_signed(stack.interaction_body(submission))).status_code == 200

    async def approval_dm() -> bool:
        dms = [m for m in await stack.bot_messages(MANAGER) if find_button(m, ids.APPROVE) and "INJECTED" in str(m)]
        return len(dms) >= 2

    await eventually(approval_dm, 30, "the approval DMs of both nasty requests")
    before = len(await stack.calls())
    await stack.do("/sim/message", user=EMPLOYEE, text=long_text + " zoom please")
    await stack.do("/sim/command", user=EMPLOYEE, text="/request " + long_text)

    async def both_answered() -> bool:
        methods = [c["method"] for c in (await stack.calls())[before:]]
        return "chat.postMessage" in methods and ("views.open" in methods or "chat.postEphemeral" in methods)

    await eventually(both_answered, 20, "the answers to the DM and the slash command")

    calls = [c for c in await stack.calls() if c["method"].startswith(("chat.", "views."))]
    assert calls and all(c["ok"] for c in calls), [c for c in calls if not c["ok"]]
    checked = 0
    for call in calls:
        args = call["args"]
        top = args.get("text")
        if isinstance(top, str):
            assert not ACTIVE.search(top), (call["method"], top[:200])
            assert len(top) <= 40_000
            checked += 1
        for source in (args.get("blocks"), args.get("view")):
            for block_type, text in _texts(source):
                if text["type"] == "mrkdwn":
                    assert not ACTIVE.search(text["text"]), (call["method"], text["text"][:200])
                limit = LIMITS.get(block_type or "", 3000)
                assert len(text["text"]) <= limit, (call["method"], block_type, len(text["text"]))
                checked += 1
    assert checked > 10
    # The text is still there, escaped rather than dropped.
    dm = next(m for m in await stack.bot_messages(MANAGER) if "INJECTED" in str(m["blocks"]))
    assert "&lt;!channel&gt;" in str(dm["blocks"]) and "&lt;@U0INJECTED&gt;" in str(dm["blocks"])
