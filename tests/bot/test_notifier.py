"""The Slack notifier's answer to Slack's errors, against the simulator and Slack's OpenAPI
description: what will never pass is `Undeliverable` (with how to fix it), what may pass is
left to be retried; and the start-up check of the ITAM channel."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.channel_check import itam_channel_problem
from bot.notifier import SlackNotifier, undeliverable, web_client
from catalog.ports import RenewalCard, Undeliverable
from catalog.settings import Settings
from procure.runtime import itam_channel_warning, warn_about_itam_channel
from tests.bot.simulator_fixtures import EMMA, REF, TOKEN, Sim, receiver, sim, simulator_servers

__all__ = ["receiver", "sim", "simulator_servers"]  # fixtures used by name

SPEC = json.loads((REF / "openapi/slack_web_openapi_v2.json").read_text(encoding="utf-8"))
#: The methods the notifier calls, and the answers among their documented errors that may
#: pass if the same call is made again; Slack's docs describe every other one as a fault of
#: the call (channel, token, scopes, arguments, message).
NOTIFIER_METHODS = ("chat.postMessage", "chat.update", "conversations.open", "conversations.history")
TRANSIENT = {"rate_limited", "request_timeout", "fatal_error", "team_added_to_org"}


def documented_errors(method: str) -> list[str]:
    path = SPEC["paths"][f"/{method}"]
    operation = path.get("post") or path.get("get")
    return list(operation["responses"]["default"]["schema"]["properties"]["error"]["enum"])


def slack_error(error: str | None, status: int = 200) -> SlackApiError:
    data: dict[str, Any] = {"ok": False, "error": error} if error else {}
    response = AsyncSlackResponse(
        client=None, http_verb="POST", api_url="", req_args={}, data=data, headers={}, status_code=status
    )
    return SlackApiError(f"The request failed: {error}", response)


def card() -> RenewalCard:
    return RenewalCard(
        contract_id=7,
        asset_id=3,
        product_name="Figma",
        vendor="Figma, Inc.",
        owner_email=EMMA.email,
        owner_slack_id=EMMA.id,
        annual_cost_cents=720_000,
        unit_price_cents=18_000,
        currency="USD",
        seats_bought=40,
        seats_assigned=40,
        seats_active_30d=31,
        renewal_date=date(2027, 2, 1),
        deadline=date(2027, 1, 2),
        cancel_by=date(2027, 1, 2),
        auto_renew=True,
        days_left=30,
        status="open",
    )


@pytest.mark.parametrize("method", NOTIFIER_METHODS)
def test_slacks_documented_errors_are_permanent_unless_they_may_pass(method: str) -> None:
    for error in documented_errors(method):
        refused = undeliverable(slack_error(error), "#itam")
        if error in TRANSIENT:
            assert refused is None, f"{error} may pass: it must be retried"
        else:
            assert refused is not None and refused.error == error, f"{error} will not pass: it must not be retried"
            assert refused.target == "#itam" and refused.hint


def test_rate_limits_server_errors_and_unreadable_answers_are_retried() -> None:
    assert undeliverable(slack_error("ratelimited", 429), "#itam") is None
    assert undeliverable(slack_error("ratelimited", 200), "#itam") is None
    assert undeliverable(slack_error("invalid_auth", 503), "#itam") is None  # a 5xx whatever it says
    assert undeliverable(slack_error(None, 502), "#itam") is None


@pytest.mark.parametrize(
    ("error", "target", "fix"),
    [
        ("channel_not_found", "#itam", "invite the bot to #itam"),
        ("not_in_channel", "#itam", "invite the bot to #itam"),
        ("is_archived", "#itam", "#itam is archived"),
        ("channel_not_found", "U0GONE1234", "correct their Slack id in the directory"),
        ("token_revoked", "#itam", "SLACK_BOT_TOKEN"),
        ("invalid_blocks", "#itam", "a bug in Procure"),
        ("message_not_found", "C0ITAM1234", "nothing to fix"),
    ],
)
def test_each_refusal_says_how_to_fix_it(error: str, target: str, fix: str) -> None:
    refused = undeliverable(slack_error(error), target)
    assert refused is not None and fix in refused.hint
    channel_error = error in ("channel_not_found", "not_in_channel", "is_archived") and target.startswith("#")
    assert ("ITAM_CHANNEL" in refused.hint) is channel_error
    missing = undeliverable(slack_error("missing_scope"), "#itam")
    assert missing is not None and "slack-manifest.yaml" in missing.hint


async def test_posts_slack_refuses_for_good_are_undeliverable_against_the_simulator(sim: Sim) -> None:
    notifier = SlackNotifier(web_client(TOKEN, str(sim.client.base_url)))
    assert (await notifier.post_renewal_reminder(channel="#itam", card=card())).channel.startswith("C")
    with pytest.raises(Undeliverable) as missing:
        await notifier.post_renewal_reminder(channel="#nope", card=card())
    assert (missing.value.target, missing.value.error) == ("#nope", "channel_not_found")
    assert "invite the bot to #nope" in missing.value.hint and "ITAM_CHANNEL" in missing.value.hint

    await sim.control("/sim/channel", name="it-assets", bot_member=False)
    with pytest.raises(Undeliverable) as outside:
        await notifier.post_renewal_reminder(channel="#it-assets", card=card())
    assert outside.value.error == "not_in_channel"

    with pytest.raises(Undeliverable) as nobody:
        await notifier.post_renewal_reminder(channel="U0NOBODY00", card=card())
    assert nobody.value.error == "channel_not_found" and "directory" in nobody.value.hint
    assert await notifier.lookup_user_id("nobody@example.com") is None  # users_not_found: not on Slack


async def test_a_rate_limit_that_outlasts_the_client_retries_is_left_to_retry(sim: Sim) -> None:
    notifier = SlackNotifier(web_client(TOKEN, str(sim.client.base_url)))
    await sim.control("/sim/rate_limit", method="chat.postMessage", count=10, retry_after=0)
    with pytest.raises(SlackApiError) as limited:
        await notifier.post_renewal_reminder(channel="#itam", card=card())
    assert not isinstance(limited.value, Undeliverable)
    assert limited.value.response.status_code == 429


async def test_the_itam_channel_check_names_what_is_wrong(sim: Sim) -> None:
    client = sim.client
    assert await itam_channel_problem(client, "#itam") is None
    assert await itam_channel_problem(client, "itam") is None
    itam = sim.workspace.channel_named("itam")
    assert itam is not None and await itam_channel_problem(client, itam.id) is None

    missing = await itam_channel_problem(client, "#nope")
    assert missing is not None and "ITAM_CHANNEL #nope was not found" in missing
    assert "invite the bot to #nope" in missing
    assert "not found" in str(await itam_channel_problem(client, "C0DOESNOTEXIST"))

    await sim.control("/sim/channel", name="it-assets", bot_member=False)
    outside = await itam_channel_problem(client, "#it-assets")
    assert outside is not None and "the bot is not in ITAM_CHANNEL #it-assets" in outside
    await sim.control("/sim/channel", name="it-assets", bot_member=True, archived=True)
    assert "is archived" in str(await itam_channel_problem(client, "#it-assets"))

    # A private channel the bot was not invited to cannot be seen at all, as in Slack.
    await sim.control("/sim/channel", name="itam-private", private=True, bot_member=False)
    assert "was not found" in str(await itam_channel_problem(client, "#itam-private"))


async def test_the_bot_warns_at_start_up_when_it_cannot_post_in_the_itam_channel(
    sim: Sim, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="procure"):
        assert await warn_about_itam_channel(sim.client, "#itam") is None
        problem = await warn_about_itam_channel(sim.client, "#nope")
    assert problem is not None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [problem]
    assert "renewal reminders cannot be posted" in problem and "ITAM_CHANNEL" in problem
    assert any("#itam: the bot can post there" in r.getMessage() for r in caplog.records)


async def test_procure_dev_prints_what_is_wrong_with_the_itam_channel(sim: Sim) -> None:
    settings = Settings(slack_api_url=str(sim.client.base_url), slack_bot_token=TOKEN, itam_channel="#nope")
    problem = await asyncio.to_thread(itam_channel_warning, settings)
    assert problem is not None and problem.startswith("ITAM_CHANNEL #nope was not found")
    fine = Settings(slack_api_url=str(sim.client.base_url), slack_bot_token=TOKEN, itam_channel="#itam")
    assert await asyncio.to_thread(itam_channel_warning, fine) is None
