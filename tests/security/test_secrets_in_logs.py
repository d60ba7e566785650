"""Operating the stack: tokens and signing secrets never reach a log line (the whole stack runs
with DEBUG logging, where slack_sdk logs every request it makes, and every log is searched for
the bot token and the signing secret); log lines are JSON with the request and workflow they
concern; the worker serves its own and Temporal's metrics, the bot its /metrics on a port of its
own, never on the public one Slack reaches."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot import ids
from bot.payloads import parse_step_value
from catalog.settings import SIMULATOR_BOT_TOKEN, SIMULATOR_SIGNING_SECRET
from procure.testing import DevStack, dev_stack, free_port
from tests.helpers import eventually
from tests.security.stack import EMPLOYEE, MANAGER, find_button, request_values

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def metrics_ports() -> dict[str, str]:
    return {"WORKER_METRICS_PORT": str(free_port()), "TEMPORAL_METRICS_PORT": str(free_port())}


@pytest.fixture(scope="module")
def debug_stack(
    tmp_path_factory: pytest.TempPathFactory, reference_dir: Path, metrics_ports: dict[str, str]
) -> Iterator[DevStack]:
    env = {"SLACK_REFERENCE_DIR": str(reference_dir), "LOG_LEVEL": "DEBUG", "LOG_FORMAT": "json", **metrics_ports}
    with dev_stack(tmp_path_factory.mktemp("debug-logs"), extra_env=env) as dev:
        yield dev


@pytest.fixture(scope="module")
async def approved_request(debug_stack: DevStack) -> str:
    """One request from /request to the requester's approval notice; its id."""
    async with httpx.AsyncClient(base_url=debug_stack.simulator_url, timeout=30, trust_env=False) as sim:

        async def state(user: str) -> dict[str, Any]:
            return dict((await sim.get("/sim/state", params={"user": user})).json())

        async def messages(user: str) -> list[dict[str, Any]]:
            return list(((await state(user))["dm"] or {"messages": []})["messages"])

        await sim.post("/sim/command", json={"user": EMPLOYEE, "text": "/request zoom"})

        async def modal_open() -> bool:
            return bool((await state(EMPLOYEE))["modals"])

        await eventually(modal_open, 30, "the request modal")
        modal = (await state(EMPLOYEE))["modals"][-1]
        await sim.post("/sim/submit", json={"user": EMPLOYEE, "view_id": modal["id"], "values": request_values("zoom")})

        async def approval_dm() -> bool:
            return any(find_button(m, ids.APPROVE) for m in await messages(MANAGER))

        await eventually(approval_dm, 30, "the approval DM")
        message = next(m for m in await messages(MANAGER) if find_button(m, ids.APPROVE))
        await sim.post("/sim/action", json={"user": MANAGER, "message_ts": message["ts"], "action_id": ids.APPROVE})

        async def requester_told() -> bool:
            return any("was approved" in (m["text"] or "") for m in await messages(EMPLOYEE))

        await eventually(requester_told, 30, "the approval notice")
        button = find_button(message, ids.APPROVE)
        assert button is not None
        return parse_step_value(button["value"])[0]


def test_no_token_or_signing_secret_in_any_log(debug_stack: DevStack, approved_request: str) -> None:
    logs = {path.name: path.read_text(errors="replace") for path in (debug_stack.data_dir / "logs").glob("*.log")}
    logs["procure dev output"] = "".join(debug_stack.output)
    assert {"worker.log", "bot.log", "simulator.log"} <= set(logs)
    assert "DEBUG" in logs["worker.log"] and "chat.postMessage" in logs["worker.log"], "debug logging was not on"
    for name, text in logs.items():
        assert SIMULATOR_BOT_TOKEN not in text, f"the bot token is in {name}"
        assert SIMULATOR_SIGNING_SECRET not in text, f"the signing secret is in {name}"


def test_log_lines_are_json_and_name_their_request(debug_stack: DevStack, approved_request: str) -> None:
    text = (debug_stack.data_dir / "logs" / "worker.log").read_text()
    # The worker is still running: its last line may be half written as we read.
    lines = text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    assert entries and all({"ts", "level", "logger", "message"} <= set(e) for e in entries)
    about = [e for e in entries if approved_request in e["message"] or e.get("request_id") == approved_request]
    assert about, "no log line about the request"
    # Every Web API call the worker made for this request is tagged with it (activity context).
    sends = [e for e in entries if e["logger"].startswith("slack_sdk") and approved_request in e["message"]]
    assert sends and all(e.get("workflow_id") == f"request-{approved_request}" for e in sends)
    assert all(e.get("request_id") == approved_request for e in sends)


def test_metrics_of_the_bot_and_the_worker(
    debug_stack: DevStack, approved_request: str, metrics_ports: dict[str, str]
) -> None:
    bot = httpx.get(debug_stack.bot_metrics_url, timeout=10)
    assert bot.status_code == 200 and bot.headers["content-type"].startswith("text/plain")
    assert 'procure_requests{status="approved"} 1.0' in bot.text
    assert "procure_approval_latency_seconds_count 1.0" in bot.text
    assert "procure_pending_approvals" in bot.text and "procure_slack_api_failed_attempts" in bot.text
    worker = httpx.get(f"http://127.0.0.1:{metrics_ports['WORKER_METRICS_PORT']}/metrics", timeout=10)
    assert worker.status_code == 200 and "procure_slack_api_failed_attempts" in worker.text
    sdk = httpx.get(f"http://127.0.0.1:{metrics_ports['TEMPORAL_METRICS_PORT']}/metrics", timeout=10)
    assert sdk.status_code == 200 and "temporal_" in sdk.text
    for path in ("/healthz", "/readyz"):
        assert httpx.get(f"{debug_stack.bot_url}{path}", timeout=10).json() == {"ok": True}
    public = httpx.get(f"{debug_stack.bot_url}/metrics", timeout=10)
    assert public.status_code == 404 and "procure_" not in public.text, "metrics on the port that faces Slack"
