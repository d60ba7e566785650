"""Replay the recorded histories of every workflow type against the current workflow code.

A change that makes a workflow take different steps for the same history (a new activity,
a reordered timer, a removed branch) is non-deterministic: workflows already running would
fail on the next worker deploy. This test catches it in CI. When the change is intended,
guard it with `workflow.patched(...)`, then record new histories
(`python -m tests.workflows.record_histories`) and keep the old ones.

It covers every workflow type the worker can run (`workflows.worker.ALL_WORKFLOWS`: the
request workflow and the renewal workflows)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.worker import ALL_WORKFLOWS

HISTORIES = Path(__file__).resolve().parent / "histories"
RECORD = "python -m tests.workflows.record_histories"


def _type_name(cls: type) -> str:
    definition = workflow._Definition.must_from_class(cls)
    return str(definition.name)


def _histories(type_name: str) -> list[Path]:
    return sorted(HISTORIES.glob(f"{type_name}-*.json"))


@pytest.mark.parametrize("workflow_class", ALL_WORKFLOWS, ids=lambda cls: cls.__name__)
async def test_every_workflow_type_has_a_recorded_history(workflow_class: type) -> None:
    name = _type_name(workflow_class)
    assert _histories(name), (
        f"no recorded history for workflow type {name}: add its scenarios to SCENARIOS in "
        f"tests/workflows/record_histories.py and run `{RECORD}`"
    )


async def test_recorded_histories_replay_against_the_current_code() -> None:
    known = {_type_name(cls) for cls in ALL_WORKFLOWS}
    files = sorted(HISTORIES.glob("*.json"))
    assert files, f"no histories in {HISTORIES}; run `{RECORD}`"
    histories = []
    for path in files:
        type_name = path.stem.split("-", 1)[0]
        assert type_name in known, f"{path.name} is a history of {type_name}, which the worker no longer runs"
        histories.append(WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8")))
    replayer = Replayer(workflows=ALL_WORKFLOWS)
    failures = {}
    for history in histories:
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is not None:
            failures[history.workflow_id] = repr(result.replay_failure)
    assert not failures, (
        "recorded histories no longer replay (a non-deterministic workflow change): "
        f"{failures}. Guard the change with workflow.patched(...), see README"
    )
