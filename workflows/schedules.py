"""Temporal Schedules the worker keeps up to date at every start (renewals, discovery)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)


@dataclass
class ScheduledRun:
    """What a scheduled workflow (discovery, the renewal scan, the digest) is started with, by
    its schedule or by hand: the day it runs for."""

    as_of: str | None = None  # ISO date; None: today in `timezone` by the workflow clock
    timezone: str = "UTC"


async def upsert_schedules(client: Client, schedules: dict[str, Schedule]) -> list[str]:
    """Create each schedule, or bring an existing one up to date (task queue, time zone, …).
    Safe to call at every worker start, from any number of workers."""
    ensured = []
    for schedule_id, schedule in schedules.items():
        try:
            await client.create_schedule(schedule_id, schedule)
        except ScheduleAlreadyRunningError:

            def replace(_: ScheduleUpdateInput, schedule: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=schedule)

            await client.get_schedule_handle(schedule_id).update(replace)
        ensured.append(schedule_id)
    return ensured


def cron_schedule(
    run: Any, arg: Any, *, workflow_id: str, task_queue: str, cron: str, timezone: str, policy: SchedulePolicy
) -> Schedule:
    """A schedule that starts `run(arg)` as `workflow_id` on `task_queue` at `cron` in `timezone`."""
    return Schedule(
        action=ScheduleActionStartWorkflow(run, arg, id=workflow_id, task_queue=task_queue),
        spec=ScheduleSpec(cron_expressions=[cron], time_zone_name=timezone),
        policy=policy,
    )
