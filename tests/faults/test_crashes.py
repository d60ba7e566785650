"""Break real processes in the middle of an approval: SIGKILL the worker (after the approver's
DM; between recording the asset and telling the requester) and stop the Temporal dev server,
(and right after Slack took the approver's DM, before its reference is stored), then start
them again. The request completes with exactly one asset, one approver DM and one outcome
notice: Temporal resumes the workflow, and the activities are idempotent."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import ids
from bot.simulator.serve import bind_socket, socket_url
from tests.faults.processes import TemporalServer, WorkerProcess
from tests.helpers import eventually
from tests.security.stack import EMPLOYEE, MANAGER, Stack, find_button, request_values, seeded_sqlite, serve_stack

FINANCE, VP = "U0FINANCE", "U0VP"


@dataclass
class Faulty:
    stack: Stack
    temporal: TemporalServer
    worker: WorkerProcess
    data_dir: Path

    def restart_worker(self, **env: str) -> None:
        self.worker.stop()
        self.worker.env.update(env)
        self.worker.start()


@pytest.fixture(scope="module")
async def faulty(tmp_path_factory: pytest.TempPathFactory, reference_dir: Path) -> AsyncIterator[Faulty]:
    data_dir = tmp_path_factory.mktemp("faults")
    database = data_dir / "procure.db"
    engine = seeded_sqlite(database)
    temporal = TemporalServer(data_dir / "temporal.db")
    temporal.start()
    client = await temporal.connect()
    queue = f"faults-{uuid.uuid4().hex}"
    bot_sock, sim_sock = bind_socket(), bind_socket()
    worker = WorkerProcess.configure(
        data_dir=data_dir,
        database_url=f"sqlite:///{database}",
        temporal=temporal.address,
        task_queue=queue,
        slack_api_url=socket_url(sim_sock) + "/api/",
    )
    worker.start()
    try:
        async with serve_stack(
            client, engine, reference_dir, with_worker=False, task_queue=queue, sockets=(bot_sock, sim_sock)
        ) as stack:
            yield Faulty(stack, temporal, worker, data_dir)
    finally:
        worker.stop()
        temporal.stop()
        engine.dispose()


async def _approve_and_wait(faulty: Faulty, request_id: str, message: dict[str, object]) -> None:
    stack = faulty.stack
    assert (await stack.click(MANAGER, message, ids.APPROVE, request_id)).status_code == 200

    async def requester_told() -> bool:
        return any(
            request_id in (m["text"] or "") and "was approved" in (m["text"] or "")
            for m in await stack.bot_messages(EMPLOYEE)
        )

    await eventually(requester_told, 90, f"the approval notice for {request_id}")


async def _exactly_once(faulty: Faulty, request_id: str) -> None:
    stack = faulty.stack
    assert stack.assets(request_id) == 1
    actions = stack.audit_actions(request_id)
    once = ("submitted", "step_opened", "step_approved", "approved", "asset_created")
    assert [actions.count(a) for a in once] == [1] * len(once), actions
    to_manager = [m for m in await stack.bot_messages(MANAGER) if request_id in json.dumps(m["blocks"])]
    assert len(to_manager) == 1 and to_manager[0]["edited"]  # one DM, updated in place
    notices = [
        m
        for m in await stack.bot_messages(EMPLOYEE)
        if request_id in (m["text"] or "") and "was approved" in (m["text"] or "")
    ]
    assert len(notices) == 1
    posts = [c for c in await stack.calls("chat.postMessage") if request_id in json.dumps(c["args"])]
    sent = [(c["args"].get("channel"), c["args"].get("text")) for c in posts]
    assert len(posts) == 3, sent  # approver DM, requester status, outcome notice: nothing sent twice


async def test_worker_killed_after_the_approver_dm_resumes_on_restart(faulty: Faulty) -> None:
    request_id, message = await faulty.stack.pending_approval("zoom")
    # Both messages of the step are out and their refs stored: the workflow now waits for the
    # decision. (A kill after Slack took the post and before the ref is stored: next test.)
    await eventually(
        lambda: faulty.stack.message_saved(f"{request_id}:requester"), 20, "the requester's status message"
    )
    faulty.worker.kill()
    faulty.worker.start()
    await _approve_and_wait(faulty, request_id, message)
    await _exactly_once(faulty, request_id)


async def test_worker_killed_between_recording_the_asset_and_notifying(faulty: Faulty) -> None:
    marker = faulty.data_dir / "fault-after-record.done"
    faulty.restart_worker(PROCURE_FAULT="after_record_outcome", PROCURE_FAULT_MARKER=str(marker))
    request_id, message = await faulty.stack.pending_approval("docusign")
    assert (await faulty.stack.click(MANAGER, message, ids.APPROVE, request_id)).status_code == 200
    await eventually(faulty.worker.exited, 60, "the worker's crash after recording the outcome")
    assert marker.exists() and faulty.worker.process is not None and faulty.worker.process.returncode == 137
    assert faulty.stack.assets(request_id) == 1  # recorded, but nobody told yet
    faulty.worker.start()  # the marker lets the restarted worker through
    # Temporal retries the activity once its start-to-close timeout passes (30 s).

    async def requester_told() -> bool:
        return any(
            request_id in (m["text"] or "") and "was approved" in (m["text"] or "")
            for m in await faulty.stack.bot_messages(EMPLOYEE)
        )

    await eventually(requester_told, 90, "the approval notice after the crash")
    await _exactly_once(faulty, request_id)
    faulty.restart_worker(PROCURE_FAULT="")


async def test_temporal_restarted_on_its_db_file_keeps_the_pending_request(faulty: Faulty) -> None:
    """Stopped (SIGTERM), then killed (SIGKILL: no shutdown, no checkpoint): the server's
    database is in WAL mode, synced at checkpoints (procure.dev.TEMPORAL_SQLITE_PRAGMAS), and
    every commit it made is there when it starts again."""
    request_id, message = await faulty.stack.pending_approval("notion")
    with closing(sqlite3.connect(faulty.temporal.db_file)) as db:  # `with` alone would leave it open
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    for how, down in (("stopped", faulty.temporal.stop), ("killed", faulty.temporal.kill)):
        down()
        faulty.temporal.start()
        await eventually(faulty.temporal.ready, 30, "the restarted Temporal dev server")
        state = None

        async def still_pending() -> bool:
            nonlocal state
            try:
                state = await faulty.stack.temporal.get_workflow_handle(f"request-{request_id}").describe()
            except Exception:
                return False
            return True

        await eventually(still_pending, 30, f"the request's workflow after the server was {how}")
        assert state is not None and state.status is not None and state.status.name == "RUNNING"
    await _approve_and_wait(faulty, request_id, message)
    await _exactly_once(faulty, request_id)


async def test_worker_killed_after_slack_took_the_dm_sends_it_once(faulty: Faulty) -> None:
    """The narrowest window: Slack has the approver's DM, the worker dies before storing its
    reference. The retried activity finds the DM by the key in its metadata instead of
    posting a second one. (Last in the module: Fiona's Zoom seat would change what reuse
    first offers to the requests above.)"""
    stack = faulty.stack
    marker = faulty.data_dir / "fault-after-dm.done"
    faulty.restart_worker(PROCURE_FAULT="after_dm_sent:approval_request", PROCURE_FAULT_MARKER=str(marker))
    seen = await stack.approval_buttons(VP)
    modal = await stack.open_modal(FINANCE, "zoom")
    await stack.do("/sim/submit", user=FINANCE, view_id=modal["id"], values=request_values("zoom"))
    found: dict[str, object] = {}

    async def dm_arrived() -> bool:
        for message in await stack.bot_messages(FINANCE):
            if find_button(message, ids.REUSE_BUY) and message["ts"] not in found:
                # Zoom is owned and full by now: reuse first offers it; Fiona buys more.
                found[message["ts"]] = True
                await stack.do("/sim/action", user=FINANCE, message_ts=message["ts"], action_id=ids.REUSE_BUY)
        return bool(await stack.approval_buttons(VP) - seen)

    await eventually(dm_arrived, 60, "the approval DM to Fiona's manager")
    request_id = next(iter(await stack.approval_buttons(VP) - seen))
    key = f"{request_id}:step1:approver:{VP}"
    await eventually(faulty.worker.exited, 60, "the worker's crash right after Slack took the DM")
    assert marker.exists() and faulty.worker.process is not None and faulty.worker.process.returncode == 137
    assert not stack.message_saved(key)
    faulty.worker.start()  # the marker lets the restarted worker through
    # Temporal retries the activity once its start-to-close timeout passes (30 s).
    await eventually(lambda: stack.message_saved(key), 90, "the DM's reference, found again by its key")
    message = next(m for m in await stack.bot_messages(VP) if request_id in json.dumps(m["blocks"]))
    assert (await stack.click(VP, message, ids.APPROVE, request_id)).status_code == 200
    # Zoom is owned and full by now: the bought seats join its contract (issue 18, 4).
    recorded = ("asset_created", "seats_added")
    await eventually(lambda: any(a in stack.audit_actions(request_id) for a in recorded), 90, "the approval")
    to_vp = [
        c
        for c in await stack.calls("chat.postMessage")
        if c["args"].get("channel") == VP and request_id in json.dumps(c["args"])
    ]
    assert len(to_vp) == 1, to_vp  # one approval DM, though its activity ran twice
    actions = stack.audit_actions(request_id)
    assert sum(actions.count(a) for a in recorded) == 1, actions  # the seats are recorded once
    faulty.restart_worker(PROCURE_FAULT="")
