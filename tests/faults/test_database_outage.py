"""PostgreSQL goes away under a running worker (connections refused, open ones cut) and comes
back: the activities fail, Temporal retries them with backoff, and the request completes with
nothing lost or doubled. The machine's PostgreSQL is never touched: the worker reaches it
through a TCP proxy the test stops and starts."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from temporalio.testing import WorkflowEnvironment

from bot import ids
from bot.simulator.serve import bind_socket, socket_url
from catalog.db import make_engine, transaction, upgrade
from catalog.seed import seed_if_empty
from tests.conftest import _drop_postgres_database, _fresh_postgres_database
from tests.faults.processes import WorkerProcess
from tests.faults.tcp_proxy import TcpProxy
from tests.helpers import eventually
from tests.security.stack import EMPLOYEE, MANAGER, Stack, request_values, serve_stack

pytestmark = pytest.mark.postgres


@pytest.fixture
async def outage(
    postgres_server: str, dev_server_env: WorkflowEnvironment, tmp_path: Path, reference_dir: Path
) -> AsyncIterator[tuple[Stack, TcpProxy, WorkerProcess]]:
    name, url = _fresh_postgres_database(postgres_server)
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as session:
        seed_if_empty(session)
    parsed = make_url(url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    await proxy.start()
    proxied = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    queue = f"outage-{uuid.uuid4().hex}"
    bot_sock, sim_sock = bind_socket(), bind_socket()
    worker = WorkerProcess.configure(
        data_dir=tmp_path,
        database_url=proxied,
        temporal=dev_server_env.client.service_client.config.target_host,
        task_queue=queue,
        slack_api_url=socket_url(sim_sock) + "/api/",
    )
    worker.start()
    # The bot reaches the database through the proxy too: it must tell the person their
    # request is queued while the database is away.
    bot_engine = make_engine(proxied)
    try:
        async with serve_stack(
            dev_server_env.client,
            engine,
            reference_dir,
            with_worker=False,
            task_queue=queue,
            sockets=(bot_sock, sim_sock),
            bot_engine=bot_engine,
        ) as stack:
            yield stack, proxy, worker
    finally:
        worker.stop()
        await proxy.stop()
        bot_engine.dispose()
        engine.dispose()
        _drop_postgres_database(postgres_server, name)


async def test_activities_retry_through_a_database_outage_and_the_request_completes(
    outage: tuple[Stack, TcpProxy, WorkerProcess],
) -> None:
    stack, proxy, worker = outage
    seen = await stack.approval_buttons()
    modal = await stack.open_modal(EMPLOYEE, "zoom")
    await proxy.stop()  # the database goes away while Emma fills in the form
    await stack.do("/sim/submit", user=EMPLOYEE, view_id=modal["id"], values=request_values("zoom"))

    async def told_queued() -> bool:
        said = [m["text"] or "" for m in await stack.bot_messages(EMPLOYEE)] + await stack.ephemerals_to(EMPLOYEE)
        return any("queued" in text and "Nothing is lost" in text for text in said)

    await eventually(told_queued, 30, "the requester hearing their request is queued")

    workflow_id = ""

    async def started() -> bool:
        nonlocal workflow_id
        ids_ = await stack.workflow_ids()
        workflow_id = ids_[0] if ids_ else ""
        return bool(ids_)

    await eventually(started, 20, "the request's workflow")

    async def retried_twice() -> bool:
        # The first activity (planning the route) runs as a local activity, inside the worker:
        # its failed attempts are in the worker's log, not among the server's pending activities.
        attempts = [
            int(n)
            for n in re.findall(
                rf"Completing activity as failed \(\{{'activity_id': '\d+', 'activity_type': 'plan_route', "
                rf"'attempt': (\d+),[^}}]*'workflow_id': '{workflow_id}'",
                worker.log_file.read_text(errors="replace"),
            )
        ]
        return len(attempts) >= 2 and attempts[:2] == [1, 2]

    await eventually(retried_twice, 30, "two failed attempts of the first activity")
    assert not worker.exited(), "the worker must ride out the outage"
    assert stack.requests() == 0  # nothing half-written while the database was away
    await proxy.start()  # the database is back

    async def dm_arrived() -> bool:
        return bool(await stack.approval_buttons() - seen)

    await eventually(dm_arrived, 60, "the approval DM after the outage")
    request_id = next(iter(await stack.approval_buttons() - seen))
    message = next(m for m in await stack.bot_messages(MANAGER) if request_id in str(m["blocks"]))
    assert (await stack.click(MANAGER, message, ids.APPROVE, request_id)).status_code == 200
    await eventually(lambda: "asset_created" in stack.audit_actions(request_id), 60, "the approval")
    assert stack.requests() == 1 and stack.assets(request_id) == 1
    actions = stack.audit_actions(request_id)
    assert actions.count("submitted") == 1 and actions.count("approved") == 1
