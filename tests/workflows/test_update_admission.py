"""A click that finds the workflow's Updates full waits its turn instead of failing: Temporal
admits 10 Updates in flight per workflow and refuses the 11th with RESOURCE_EXHAUSTED, which a
crowd of clicks on a slow workflow reaches. Run on the dev server, which enforces the limit."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import Client, WorkflowUpdateStage
from temporalio.service import RetryConfig, RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from workflows.request.client import execute_update_when_admitted

LIMIT = 10  # the server's default history.maxInFlightUpdates


@workflow.defn(sandboxed=False)
class GateWorkflow:
    """Updates that stay in flight until the workflow is told to let them through."""

    def __init__(self) -> None:
        self._open = False
        self._done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._done)

    @workflow.update
    async def enter(self, n: int) -> int:
        await workflow.wait_condition(lambda: self._open)
        return n

    @workflow.signal
    def open(self) -> None:
        self._open = True

    @workflow.signal
    def finish(self) -> None:
        self._done = True


async def test_an_update_beyond_the_in_flight_limit_waits_and_then_runs(dev_server_env: WorkflowEnvironment) -> None:
    # The SDK's own client retries RESOURCE_EXHAUSTED for about 15 s before it gives up; with
    # those retries cut short the test shows the same thing in a moment.
    server = dev_server_env.client.service_client.config.target_host
    impatient = RetryConfig(max_retries=1, initial_interval_millis=10, max_elapsed_time_millis=100)
    client = await Client.connect(server, retry_config=impatient)
    queue = f"admission-{uuid.uuid4().hex}"
    async with Worker(client, task_queue=queue, workflows=[GateWorkflow]):
        handle = await client.start_workflow(GateWorkflow.run, id=f"gate-{queue}", task_queue=queue)
        held = [
            await handle.start_update(GateWorkflow.enter, n, wait_for_stage=WorkflowUpdateStage.ACCEPTED)
            for n in range(LIMIT)
        ]
        with pytest.raises(RPCError) as refused:
            await handle.execute_update(GateWorkflow.enter, -1)
        assert refused.value.status == RPCStatusCode.RESOURCE_EXHAUSTED

        turned_away = asyncio.Event()
        plain = handle.execute_update

        async def watched(*args: Any, **kwargs: Any) -> Any:
            try:
                return await plain(*args, **kwargs)
            except RPCError as err:
                if err.status == RPCStatusCode.RESOURCE_EXHAUSTED:
                    turned_away.set()
                raise

        handle.execute_update = watched  # type: ignore[method-assign]
        waiting = asyncio.create_task(execute_update_when_admitted(handle, GateWorkflow.enter, 99))
        await asyncio.wait_for(turned_away.wait(), 30)
        assert not waiting.done(), "turned away, it waits instead of failing"
        await handle.signal(GateWorkflow.open)
        assert await asyncio.wait_for(waiting, 30) == 99
        assert sorted([await h.result() for h in held]) == list(range(LIMIT))
        await handle.signal(GateWorkflow.finish)
        await handle.result()


async def test_other_errors_are_not_retried(dev_server_env: WorkflowEnvironment) -> None:
    handle = dev_server_env.client.get_workflow_handle(f"no-such-workflow-{uuid.uuid4().hex}")
    with pytest.raises(RPCError) as raised:
        await asyncio.wait_for(execute_update_when_admitted(handle, GateWorkflow.enter, 1), 10)
    assert raised.value.status == RPCStatusCode.NOT_FOUND
