"""The two sandboxes `WORKFLOW_SANDBOX` chooses between (workflows/worker.py): what each
keeps and what `shared` gives up, on the time-skipping server.

`isolated` (Temporal's default, and what every other workflow test runs) imports a workflow's
module afresh per run and refuses non-deterministic calls; `shared` reuses the worker's
modules, so a run sees what an earlier run left in module state and a call made through an
imported module is no longer checked. Our workflow modules keep no state and make no such
call, which the rest of the suite checks under `isolated`."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import RestrictedWorkflowAccessError

with workflow.unsafe.imports_passed_through():
    import temporalio.bridge.worker as bridge_worker
    from temporalio.worker.workflow_sandbox._runner import _Instance

    from catalog.settings import Settings
    from workflows import converter
    from workflows.sandbox import InPlaceContextRunner, SandboxMode, _InPlaceContextInstance, workflow_runner

_RUNS: list[str] = []  # module state a workflow should never keep: here to show who sees it


@workflow.defn
class CountingWorkflow:
    @workflow.run
    async def run(self) -> int:
        _RUNS.append(workflow.info().workflow_id)
        return len(_RUNS)


@workflow.defn(failure_exception_types=[RestrictedWorkflowAccessError])
class WallClockWorkflow:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()


@activity.defn
async def shout(text: str) -> str:
    return text.upper()


@workflow.defn
class ActivitiesWorkflow:
    @workflow.run
    async def run(self, text: str) -> str:
        queued = await workflow.execute_activity(shout, text, start_to_close_timeout=timedelta(seconds=30))
        local = await workflow.execute_local_activity(shout, text + "!", start_to_close_timeout=timedelta(seconds=30))
        return f"{queued} {local}"


class _ComparingInstance(_InPlaceContextInstance):
    """Answers as the worker does, and records beside it what the SDK's own path answers."""

    answers: list[tuple[object, object]] = []

    def get_serialization_context(self, command_info: Any) -> Any:
        ours = super().get_serialization_context(command_info)
        self.answers.append((ours, _Instance.get_serialization_context(self, command_info)))
        return ours


class _ComparingRunner(InPlaceContextRunner):
    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _ComparingInstance(det, self.runner_class, self.restrictions)


@pytest.mark.parametrize("mode", ["isolated", "shared"])
async def test_payload_contexts_read_in_place_are_the_ones_the_sdk_gives(
    time_skipping_env: WorkflowEnvironment, mode: SandboxMode, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK's own payload passes, which ask for a context per payload (a worker built by
    # build_worker skips those that change nothing: workflows/converter.py).
    monkeypatch.setattr(bridge_worker, "decode_activation", converter._SDK_DECODE)
    monkeypatch.setattr(bridge_worker, "encode_completion", converter._SDK_ENCODE)
    _ComparingInstance.answers = []
    queue = f"contexts-{uuid.uuid4().hex}"
    runner = _ComparingRunner(restrictions=workflow_runner(mode).restrictions)
    async with Worker(
        time_skipping_env.client,
        task_queue=queue,
        workflows=[ActivitiesWorkflow],
        activities=[shout],
        workflow_runner=runner,
    ):
        result = await time_skipping_env.client.execute_workflow(
            ActivitiesWorkflow.run, "hi", id=queue, task_queue=queue
        )
    assert result == "HI HI!"
    answers = _ComparingInstance.answers
    assert answers and all(ours == sdks for ours, sdks in answers)
    kinds = {
        (type(ours).__name__, getattr(ours, "activity_type", None), getattr(ours, "is_local", None))
        for ours, _ in answers
    }
    assert {
        ("WorkflowSerializationContext", None, None),
        ("ActivitySerializationContext", "shout", False),
        ("ActivitySerializationContext", "shout", True),
    } <= kinds


async def _run(env: WorkflowEnvironment, mode: SandboxMode, workflow_class: type, runs: int) -> list[object]:
    queue = f"sandbox-{uuid.uuid4().hex}"
    results = []
    async with Worker(env.client, task_queue=queue, workflows=[workflow_class], workflow_runner=workflow_runner(mode)):
        for n in range(runs):
            results.append(
                await env.client.execute_workflow(
                    workflow_class.run,  # type: ignore[attr-defined]
                    id=f"{queue}-{n}",
                    task_queue=queue,
                )
            )
    return results


async def test_isolated_runs_each_import_the_module_afresh_and_shared_runs_share_it(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    assert await _run(time_skipping_env, "isolated", CountingWorkflow, 3) == [1, 1, 1]
    shared = await _run(time_skipping_env, "shared", CountingWorkflow, 3)
    assert shared[1:] == [shared[0] + 1, shared[0] + 2]


async def test_isolated_refuses_a_non_deterministic_call_that_shared_lets_through(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    with pytest.raises(WorkflowFailureError) as refused:
        await _run(time_skipping_env, "isolated", WallClockWorkflow, 1)
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "RestrictedWorkflowAccessError"
    assert "datetime.datetime.now" in cause.message
    [when] = await _run(time_skipping_env, "shared", WallClockWorkflow, 1)
    assert isinstance(when, str) and datetime.fromisoformat(when)


def test_the_deployed_worker_shares_modules_unless_told_and_refuses_an_unknown_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WORKFLOW_SANDBOX", raising=False)
    assert Settings(_env_file=None).workflow_sandbox == "shared"  # type: ignore[call-arg]
    monkeypatch.setenv("WORKFLOW_SANDBOX", "isolated")
    assert Settings(_env_file=None).workflow_sandbox == "isolated"  # type: ignore[call-arg]
    monkeypatch.setenv("WORKFLOW_SANDBOX", "none")
    with pytest.raises(ValidationError, match="workflow_sandbox"):
        Settings(_env_file=None)  # type: ignore[call-arg]
