"""Our throughput next to the floor, on the same Temporal dev server in the same run.

The floor is a bare no-op workflow (no activities) run by a worker in this process: its
round trip (start → result) and how many it completes per second with 50 in flight. Then the
real thing on the same stack: requests submitted to the bot as signed modal submissions, each
approved by the manager through the simulator, until every one is recorded as approved
(`requests_per_s`, sustained end to end). And the resident memory of the bot and the worker
that `procure dev` started.

The floor's worker is warmed up before it is timed; so is the stack. A fresh process pays
once for what it then keeps (templates compiled, SQL statements cached, the workflow
module's first import in the sandbox, connections opened): on 40 requests that first-round
cost moved the figure by a fifth. So a first round of `WARM_UP_REQUESTS` (another requester
asking for another product, so that nothing bought in it changes the measured round's reuse
check or budget) runs first; its rate is reported as `requests_per_s_cold`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import tempfile
import time
import urllib.parse
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from bot import ids
from bot.payloads import parse_step_value
from bot.simulator.signing import slack_signature_headers
from catalog.settings import SIMULATOR_SIGNING_SECRET
from procure.testing import DevStack, dev_stack

ROUNDTRIPS = 50
FLOOR_WORKFLOWS = 300
IN_FLIGHT = 50
WARM_UP = 10
REQUESTS = 40
WARM_UP_REQUESTS = 20
EMPLOYEE, ENGINEER, MANAGER = "U0EMPLOYEE", "U0ENGINEER", "U0MANAGER"  # the manager approves for both
# Both approved products without seats of their own, under every threshold: the manager's step alone.
MEASURED_PRODUCT, WARM_UP_PRODUCT = ("zoom", "Zoom"), ("docusign", "DocuSign")
QUIET = {"WORKER_METRICS_PORT": "0", "TEMPORAL_METRICS_PORT": "0"}


@workflow.defn(sandboxed=False)
class NoOpWorkflow:
    @workflow.run
    async def run(self, value: int) -> int:
        return value


async def _floor(stack: DevStack) -> dict[str, float]:
    client = await Client.connect(f"127.0.0.1:{stack.temporal_port}")
    queue = f"floor-{uuid.uuid4().hex}"
    async with Worker(client, task_queue=queue, workflows=[NoOpWorkflow], max_concurrent_workflow_tasks=100):

        async def one(n: int) -> None:
            await client.execute_workflow(
                NoOpWorkflow.run, n, id=f"noop-{queue}-{n}", task_queue=queue, run_timeout=timedelta(minutes=1)
            )

        for n in range(WARM_UP):
            await one(-1 - n)
        roundtrips = []
        for n in range(ROUNDTRIPS):
            started = time.perf_counter()
            await one(n)
            roundtrips.append((time.perf_counter() - started) * 1000)
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def gated(n: int) -> None:
            async with gate:
                await one(n)

        started = time.perf_counter()
        await asyncio.gather(*(gated(ROUNDTRIPS + n) for n in range(FLOOR_WORKFLOWS)))
        elapsed = time.perf_counter() - started
    return {
        "temporal_roundtrip_p50_ms": round(statistics.median(roundtrips), 1),
        "temporal_starts_per_s": round(FLOOR_WORKFLOWS / elapsed, 1),
    }


def _submission(view_id: str, requester: str, product: tuple[str, str]) -> str:
    product_option = {"text": {"type": "plain_text", "text": product[1]}, "value": product[0]}
    direct = {"text": {"type": "plain_text", "text": "Direct"}, "value": "direct"}
    payload = {
        "type": "view_submission",
        "team": {"id": "T0LOCAL", "domain": "local"},
        "user": {"id": requester, "username": requester.lower(), "name": requester.lower(), "team_id": "T0LOCAL"},
        "api_app_id": "A0LOCAL",
        "token": "verification_token",
        "trigger_id": f"{view_id}.trigger",
        "view": {
            "id": view_id,
            "team_id": "T0LOCAL",
            "type": "modal",
            "callback_id": ids.REQUEST_MODAL,
            "private_metadata": "{}",
            "hash": "1",
            "blocks": [],
            "state": {
                "values": {
                    ids.B_PRODUCT: {ids.A_PRODUCT: {"type": "static_select", "selected_option": product_option}},
                    ids.B_SEATS: {ids.A_SEATS: {"type": "number_input", "value": "1"}},
                    ids.B_CHANNEL: {ids.A_CHANNEL: {"type": "static_select", "selected_option": direct}},
                    ids.B_JUSTIFICATION: {ids.A_JUSTIFICATION: {"type": "plain_text_input", "value": "bench"}},
                }
            },
        },
        "response_urls": [],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


async def end_to_end(
    stack: DevStack,
    *,
    requester: str = EMPLOYEE,
    product: tuple[str, str] = MEASURED_PRODUCT,
    requests: int = REQUESTS,
) -> float:
    """Requests per second, from the first submission to the last approval recorded. Every
    request is one `requester` asking for `product`; each is approved by the manager."""
    engine = create_engine(stack.database_url)

    def count(sql: str, **params: str) -> int:
        with engine.connect() as connection:
            return int(connection.execute(text(sql), params).scalar_one())

    def approved() -> int:
        return count("SELECT count(*) FROM purchase_request WHERE status='approved'")

    def dms_posted() -> int:
        # A DM's reference is stored once Slack has taken it: a cheap thing to wait on. The
        # simulator's whole state (every message with its buttons and edit history) is read
        # only once they are all out, so the bench does not load what it measures.
        return count("SELECT count(*) FROM slack_message WHERE key LIKE :key AND ts <> ''", key=f"%:approver:{MANAGER}")

    baseline, dms_before = approved(), dms_posted()
    async with (
        httpx.AsyncClient(base_url=stack.bot_url, timeout=30, trust_env=False) as bot,
        httpx.AsyncClient(base_url=stack.simulator_url, timeout=30, trust_env=False) as sim,
    ):

        async def submit(n: int) -> None:
            body = _submission(f"VBENCH{n:04d}{uuid.uuid4().hex[:6].upper()}", requester, product)
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                **slack_signature_headers(body, SIMULATOR_SIGNING_SECRET),
            }
            response = await bot.post("/slack/events", content=body, headers=headers)
            assert response.status_code == 200, response.text

        async def buttons() -> dict[str, str]:
            state: dict[str, Any] = (await sim.get("/sim/state", params={"user": MANAGER})).json()
            found = {}
            for message in (state["dm"] or {"messages": []})["messages"]:
                for block in message.get("blocks") or []:
                    for element in block.get("elements", []):
                        if element.get("action_id") == ids.APPROVE:
                            found[parse_step_value(element["value"])[0]] = message["ts"]
            return found

        before = set(await buttons())
        started = time.perf_counter()
        await asyncio.gather(*(submit(n) for n in range(requests)))
        # Every request is checked before any is approved, so none finds a seat bought by another.
        deadline = time.monotonic() + 120
        while dms_posted() - dms_before < requests:
            if time.monotonic() > deadline:
                break  # the simulator's own view, below, says which DMs are missing
            await asyncio.sleep(0.05)  # polling the database, not timing anything
        while len(waiting := {k: v for k, v in (await buttons()).items() if k not in before}) < requests:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(waiting)} of {requests} approval DMs arrived")
            await asyncio.sleep(0.05)  # polling the simulator, not timing anything
        await asyncio.gather(
            *(
                sim.post("/sim/action", json={"user": MANAGER, "message_ts": ts, "action_id": ids.APPROVE})
                for ts in waiting.values()
            )
        )
        while approved() - baseline < requests:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {approved() - baseline} of {requests} requests were approved")
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
    engine.dispose()
    return round(requests / elapsed, 2)


def warm_up(stack: DevStack) -> float:
    """The first round on a fresh stack (see the module's docstring); returns its rate."""
    return asyncio.run(end_to_end(stack, requester=ENGINEER, product=WARM_UP_PRODUCT, requests=WARM_UP_REQUESTS))


ROLES = ("worker", "bot", "simulator", "temporal")


def children(stack: DevStack) -> dict[str, int]:
    """The pids of what `procure dev` started: its worker, bot and simulator, and the Temporal
    dev server."""
    found: dict[str, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() != str(stack.process.pid):
            continue
        if argv and Path(argv[0].decode()).name == "temporal":
            found["temporal"] = int(proc.name)
        for role in ROLES[:3]:
            if len(argv) > 1 and argv[-2] == role.encode():
                found[role] = int(proc.name)
    return found


def _rss_mb(pids: dict[str, int]) -> dict[str, float]:
    """VmRSS of the worker and the bot."""
    found: dict[str, float] = {}
    for role in ("worker", "bot"):
        with contextlib.suppress(OSError, KeyError):
            status = Path(f"/proc/{pids[role]}/status").read_text()
            kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
            found[f"rss_mb_{role}"] = round(int(kb) / 1024, 1)
    return found


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU time each process has used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for role, pid in pids.items():
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[role] = (int(fields[11]) + int(fields[12])) / ticks
    return used


# The worker's threads, by what runs on them: its event loop (activities, Slack calls, the
# SDK's payload handling), the thread pool its activities hand database work to, the thread
# that runs workflow code, and the SDK's Rust core. Python does not name its threads for the
# kernel; the pool's are the unnamed ones.
WORKER_THREADS = {"workflow-proces": "workflows", "tokio-rt-worker": "core"}


def worker_threads(pid: int) -> dict[str, float]:
    """CPU seconds so far of the worker's threads, summed by kind (see WORKER_THREADS)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            comm = (task / "comm").read_text().strip()
            kind = "loop" if task.name == str(pid) else WORKER_THREADS.get(comm, "db_threads")
            used[kind] = used.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return used


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, dev_stack(Path(tmp), extra_env=QUIET) as stack:
        pids = children(stack)
        before = cpu_seconds(pids)
        results = asyncio.run(_floor(stack))
        floor_cpu = cpu_seconds(pids)
        results["requests_per_s_cold"] = warm_up(stack)
        warm, threads_warm = cpu_seconds(pids), worker_threads(pids["worker"])
        results["requests_per_s"] = asyncio.run(end_to_end(stack))
        after, threads_after = cpu_seconds(pids), worker_threads(pids["worker"])
        results.update(_rss_mb(pids))
    results["requests_vs_floor_pct"] = round(100 * results["requests_per_s"] / results["temporal_starts_per_s"], 1)
    # Where the machine's time goes: CPU per request of each process (the floor's workflows
    # run in this process; only the server's share of them is comparable).
    if "temporal" in before:
        per_floor = (floor_cpu["temporal"] - before["temporal"]) / (WARM_UP + ROUNDTRIPS + FLOOR_WORKFLOWS)
        results["cpu_ms_temporal_per_floor_workflow"] = round(1000 * per_floor, 1)
    for role in ROLES:
        if role in after and role in warm:
            results[f"cpu_ms_{role}_per_request"] = round(1000 * (after[role] - warm[role]) / REQUESTS, 1)
    for kind in ("loop", "db_threads", "workflows", "core"):
        spent = threads_after.get(kind, 0.0) - threads_warm.get(kind, 0.0)
        results[f"cpu_ms_worker_{kind}_per_request"] = round(1000 * spent / REQUESTS, 1)
    return results


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:36} {value}")
