"""`procure clock`: durations people type, and a clear refusal on a wall-clock server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from procure.clock_cli import parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2d", timedelta(days=2)),
        ("36h", timedelta(hours=36)),
        ("1w2d", timedelta(days=9)),
        ("1w 2d 3h", timedelta(days=9, hours=3)),
        ("90m", timedelta(minutes=90)),
        ("2D", timedelta(days=2)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2", "d", "2x", "-2d", "0d", "2d tomorrow", "99999w"])
def test_bad_durations_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|at most|more than nothing"):
        parse_duration(text)


async def test_a_wall_clock_server_is_refused_with_a_hint(dev_server_env: WorkflowEnvironment) -> None:
    env = dict(os.environ, TEMPORAL_ADDRESS=dev_server_env.client.service_client.config.target_host)
    shown = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "procure.cli", "clock", "advance", "2d"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 1
    assert "--test-clock" in shown.stderr and "Traceback" not in shown.stderr
