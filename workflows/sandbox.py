"""The workflow sandbox the worker runs: Temporal's, in one of two modes, with the
serialization context of each payload read without re-entering the sandbox.

Why the last part: for every payload of every activation and completion (four passes each:
codec and external-storage references, both ways) the SDK asks the workflow instance which
serialization context applies. The sandboxed instance answers by `exec`-compiling a code string
and entering the sandbox's import hooks, once per payload, even with no codec and no external
storage configured: 145 µs a call, some 40 calls per request (5–6 % of the worker's CPU; a
py-spy profile put it at a fifth, which direct timing did not bear out). The answer itself is a plain
read of the instance's state (its workflow id, the activity a command schedules), made by the
SDK's own `InSandbox` object, so `InPlaceContextRunner` calls that object directly. Nothing
the workflow's code does runs outside the sandbox because of it.

It relies on the sandbox's private `_Instance` (temporalio 1.35);
`tests/workflows/test_sandbox_modes.py` checks that it answers exactly as the SDK's path does,
so an SDK change that breaks the shortcut fails CI."""

from __future__ import annotations

from typing import Any, Literal

from temporalio.converter import SerializationContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.worker.workflow_sandbox._runner import _Instance

SandboxMode = Literal["shared", "isolated"]

_IN_SANDBOX = "__temporal_in_sandbox"  # the name `_Instance` gives its InSandbox object


class _InPlaceContextInstance(_Instance):
    def _in_sandbox(self) -> Any:
        return self.globals_and_locals.get(_IN_SANDBOX)

    def get_serialization_context(self, command_info: Any) -> SerializationContext | None:
        in_sandbox = self._in_sandbox()
        if in_sandbox is None:  # not created (yet): the SDK's own way
            return super().get_serialization_context(command_info)
        context: SerializationContext | None = in_sandbox.get_serialization_context(command_info)
        return context

    def get_external_store_context(self, command_info: Any) -> Any:
        in_sandbox = self._in_sandbox()
        if in_sandbox is None:
            return super().get_external_store_context(command_info)
        return in_sandbox.get_external_store_context(command_info)


class InPlaceContextRunner(SandboxedWorkflowRunner):
    """Temporal's sandboxed runner; only the per-payload context look-up is direct."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _InPlaceContextInstance(det, self.runner_class, self.restrictions)


def workflow_runner(mode: SandboxMode) -> SandboxedWorkflowRunner:
    """The sandbox the workflows run in.

    `isolated` is Temporal's default: every workflow run imports the workflow modules afresh,
    and every module it imports is checked against the restrictions (no `datetime.now`,
    `random`, I/O …). `shared` passes every module through: a run reuses the worker's
    already-imported modules (the re-import of `request_workflow` alone was ~4 ms a run). What
    it gives up is checking the calls a workflow makes through modules it imported, and a
    fresh module state per run (our workflow modules keep none). Every workflow test, and the
    replay of every recorded history, runs `isolated`, so a forbidden call still fails CI
    (docs/decisions.md §19)."""
    restrictions = SandboxRestrictions.default
    if mode == "shared":
        restrictions = restrictions.with_passthrough_all_modules()
    return InPlaceContextRunner(restrictions=restrictions)
