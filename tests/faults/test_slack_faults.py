"""What Slack does under load or trouble: redeliver an event or interaction it thinks timed out
(`X-Slack-Retry-Num`), let a hundred clicks land at once, answer the Web API with 429, refuse
for good to post in a channel that does not exist."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date

from prometheus_client import REGISTRY

from bot import ids
from bot.notifier import SlackNotifier, web_client
from catalog.rules.renewals import HolidayCalendar
from catalog.settings import SIMULATOR_BOT_TOKEN
from procure.observability import CountingRetryHandler
from tests.helpers import eventually
from tests.security.stack import EMPLOYEE, MANAGER, Stack, request_values
from tests.workflows.contracts import add_contract
from workflows.renewals.activities import RenewalActivities
from workflows.renewals.client import RenewalClient
from workflows.request.activities.procurement import ProcurementActivities
from workflows.worker import build_worker


async def test_a_submission_delivered_three_times_is_one_request(stack: Stack) -> None:
    requests_before, workflows_before = stack.requests(), len(await stack.workflow_ids())
    submission = stack.view_submission(EMPLOYEE, f"V{uuid.uuid4().hex[:10].upper()}", request_values("zoom"))
    body = stack.interaction_body(submission)
    for retry in (None, "1", "2"):
        headers = {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        assert (await stack.post_signed(body, headers=headers)).status_code == 200
    await eventually(lambda: stack.requests() == requests_before + 1, 30, "the request's row")
    assert len(await stack.workflow_ids()) == workflows_before + 1


async def test_an_event_delivered_three_times_is_answered_once(stack: Stack) -> None:
    event_id = f"Ev{uuid.uuid4().hex[:10].upper()}"
    text = "could we get docusign for the sales team"
    await stack.do("/sim/message", user=EMPLOYEE, text=text, event_id=event_id)
    for retry in (1, 2):
        await stack.do("/sim/message", user=EMPLOYEE, text=text, event_id=event_id, retry_num=retry)

    async def replies() -> int:
        return sum("DocuSign" in (m["text"] or "") for m in await stack.bot_messages(EMPLOYEE))

    await eventually(lambda: replies(), what="the intake reply")
    deliveries = [d for d in (await stack.state(EMPLOYEE))["deliveries"] if d["kind"].startswith("event")]
    assert len(deliveries) >= 3 and all(d["status"] == 200 for d in deliveries[-3:])
    assert await replies() == 1


async def test_a_hundred_concurrent_approve_clicks_decide_once(stack: Stack) -> None:
    request_id, message = await stack.pending_approval("zoom")
    responses = await asyncio.gather(*(stack.click(MANAGER, message, ids.APPROVE, request_id) for _ in range(100)))
    assert [r.status_code for r in responses] == [200] * 100
    await eventually(lambda: "asset_created" in stack.audit_actions(request_id), 60, "the approval")

    async def all_answered() -> bool:
        return len([t for t in await stack.ephemerals_to(MANAGER) if "already approved" in t]) >= 99

    await eventually(all_answered, 60, "an answer to every other click")
    actions = stack.audit_actions(request_id)
    assert actions.count("approved") == 1 and actions.count("asset_created") == 1
    assert actions.count("decision_refused") == 99
    assert stack.assets(request_id) == 1
    notices = [
        m
        for m in await stack.bot_messages(EMPLOYEE)
        if request_id in (m["text"] or "") and "was approved" in (m["text"] or "")
    ]
    assert len(notices) == 1


async def test_rate_limited_updates_and_notices_are_retried_and_arrive_once(stack: Stack) -> None:
    request_id, message = await stack.pending_approval("docusign")
    for method in ("chat.update", "chat.postMessage"):
        await stack.do("/sim/rate_limit", method=method, count=2, retry_after=1)
    assert (await stack.click(MANAGER, message, ids.APPROVE, request_id)).status_code == 200

    async def requester_told() -> bool:
        return any(
            request_id in (m["text"] or "") and "was approved" in (m["text"] or "")
            for m in await stack.bot_messages(EMPLOYEE)
        )

    await eventually(requester_told, 30, "the approval notice after the 429s")
    limited = [c for c in await stack.calls() if c["error"] == "ratelimited"]
    assert {c["method"] for c in limited} == {"chat.update", "chat.postMessage"} and len(limited) == 4
    posts = [c for c in await stack.calls("chat.postMessage") if c["ok"] and request_id in json.dumps(c["args"])]
    assert len(posts) == 3  # approver DM, requester status, outcome notice
    updated = next(m for m in await stack.bot_messages(MANAGER) if m["ts"] == message["ts"])
    assert updated["edited"] and "Approved" in json.dumps(updated["blocks"])


async def test_rate_limited_attempts_are_counted_for_the_metrics(stack: Stack) -> None:
    labels = {"method": "chat.postMessage", "reason": "rate_limited"}

    async def quiet() -> bool:
        """No workflow of the earlier tests still has an activity (a DM) on its way: the 429s
        go to this client's calls only."""
        for workflow_id in await stack.workflow_ids():
            description = await stack.temporal.get_workflow_handle(workflow_id).describe()
            if description.raw_description.pending_activities:
                return False
        return True

    await eventually(quiet, 60, "no message on its way")
    before = REGISTRY.get_sample_value("procure_slack_api_failed_attempts_total", labels) or 0.0
    client = web_client(SIMULATOR_BOT_TOKEN, f"{stack.sim.base_url}/api/")
    client.retry_handlers.insert(0, CountingRetryHandler())
    await stack.do("/sim/rate_limit", method="chat.postMessage", count=2, retry_after=0)
    response = await client.chat_postMessage(channel=EMPLOYEE, text="counted")
    assert response["ok"]
    assert REGISTRY.get_sample_value("procure_slack_api_failed_attempts_total", labels) == before + 2


async def test_a_renewal_scan_with_a_missing_itam_channel_finishes_and_the_dm_goes_out(stack: Stack) -> None:
    """The real notifier against the simulator, which answers as Slack does: the ITAM channel
    #nope does not exist (channel_not_found). The scan used to retry that without end."""
    contract_id = add_contract(stack.engine, start=date(2026, 1, 5))  # owned by Emma; reminder 2026-09-04
    queue = f"renewals-{uuid.uuid4().hex}"
    notifier = SlackNotifier(web_client(SIMULATOR_BOT_TOKEN, f"{stack.sim.base_url}/api/"))
    renewals = RenewalActivities(stack.engine, notifier, itam_channel="#nope", calendar=HolidayCalendar(country="US"))
    worker = build_worker(
        stack.temporal,
        task_queue=queue,
        activities=ProcurementActivities(stack.engine, notifier),
        renewal_activities=renewals,
    )
    async with worker:
        result = await asyncio.wait_for(RenewalClient(stack.temporal, task_queue=queue).scan("2026-09-04"), 60)
    failed = [f for f in result.failed if f.contract == contract_id]
    assert [(f.target, f.error) for f in failed] == [("#nope", "channel_not_found")]
    assert "invite the bot to #nope" in failed[0].hint and "ITAM_CHANNEL" in failed[0].hint
    refused = [c for c in await stack.calls("chat.postMessage") if c["args"].get("channel") == "#nope"]
    assert refused and all(c["error"] == "channel_not_found" for c in refused)
    assert len(refused) == 1, "asked once for the batch, not retried"
    dm = [m for m in await stack.bot_messages(EMPLOYEE) if "Renewal: Figma" in (m["text"] or "")]
    assert len(dm) == 1, "the owner's DM went out"
