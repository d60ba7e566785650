"""`procure clock …`: the test clock of `procure dev --test-clock`.

Temporal's time-skipping test server keeps its own clock, which stands still between
commands: `procure clock advance 2d` moves it, and every workflow timer that falls due on the
way fires (SLA reminders, escalations, expiries). Against a real Temporal server these
commands refuse: its clock is the wall clock."""

from __future__ import annotations

import asyncio
import os
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, NoReturn

import typer

from catalog.settings import get_settings

clock_app = typer.Typer(help="The test clock of `procure dev --test-clock`.", no_args_is_help=True)

_DURATION = re.compile(r"(\d+)\s*([wdhm])", re.IGNORECASE)
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}
MAX_ADVANCE = timedelta(days=3660)


def parse_duration(text: str) -> timedelta:
    """`2d`, `36h`, `1w 2d`, `90m` → a positive timedelta (at most ten years)."""
    compact = text.replace(" ", "").lower()
    parts = _DURATION.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"{text!r} is not a duration: use e.g. 2d, 36h, 1w2d or 90m")
    total = timedelta()
    for number, unit in parts:
        total += timedelta(**{_UNITS[unit.lower()]: int(number)})
    if total <= timedelta() or total > MAX_ADVANCE:
        raise ValueError(f"{text!r}: advance by more than nothing and at most ten years")
    return total


def _exit(code: int) -> NoReturn:
    # The Temporal client's runtime may abort at interpreter exit (temporalio/sdk-python#300).
    os._exit(code)


async def _now_and_advance(by: timedelta | None) -> tuple[datetime, datetime]:
    from google.protobuf.duration_pb2 import Duration
    from google.protobuf.empty_pb2 import Empty
    from temporalio.api.testservice.v1 import SleepRequest
    from temporalio.service import RPCError, RPCStatusCode

    from procure.runtime import connect_temporal

    client = await connect_temporal(get_settings(), attempts=3)
    try:
        before = (await client.test_service.get_current_time(Empty())).time.ToDatetime(tzinfo=UTC)
        if by is not None:
            duration = Duration()
            duration.FromTimedelta(by)
            await client.test_service.unlock_time_skipping_with_sleep(SleepRequest(duration=duration))
        after = (await client.test_service.get_current_time(Empty())).time.ToDatetime(tzinfo=UTC)
    except RPCError as err:
        if err.status == RPCStatusCode.UNIMPLEMENTED:
            raise typer.BadParameter(
                "this Temporal server runs on the wall clock; start `procure dev --test-clock` for a test clock"
            ) from None
        raise
    return before, after


@clock_app.command("show")
def clock_show() -> None:
    """Print the test clock's time."""
    try:
        _, now = asyncio.run(_now_and_advance(None))
    except typer.BadParameter as exc:
        typer.echo(str(exc), err=True)
        _exit(1)
    typer.echo(now.isoformat(timespec="seconds"))
    _exit(0)


@clock_app.command("advance")
def clock_advance(
    duration: Annotated[str, typer.Argument(help="How far: 2d, 36h, 1w2d, 90m.")],
) -> None:
    """Move the test clock forward; every workflow timer due on the way fires."""
    try:
        by = parse_duration(duration)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    try:
        before, after = asyncio.run(_now_and_advance(by))
    except typer.BadParameter as exc:
        typer.echo(str(exc), err=True)
        _exit(1)
    typer.echo(f"{before.isoformat(timespec='seconds')} → {after.isoformat(timespec='seconds')}")
    _exit(0)
