"""Temporal Schedules the worker keeps up to date at every start (renewals, discovery)."""

from __future__ import annotations

from temporalio.client import Client, Schedule, ScheduleAlreadyRunningError, ScheduleUpdate, ScheduleUpdateInput


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
