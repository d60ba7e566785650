"""Fixtures of the workflow tests: a harness (worker on a task queue of its own, recording
notifier, seeded SQLite) on the module's time-skipping server, or on a server of its own for a
test that moves the clock by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from tests.workflows.test_request_workflow import Harness, running_harness


@pytest.fixture
async def harness(time_skipping_env: WorkflowEnvironment, sqlite_seeded: Engine) -> AsyncIterator[Harness]:
    async with running_harness(time_skipping_env, sqlite_seeded) as harness:
        yield harness


@pytest.fixture
async def clock_harness(own_clock_env: WorkflowEnvironment, sqlite_seeded: Engine) -> AsyncIterator[Harness]:
    """A harness on a test server of its own, for tests that move the clock by hand."""
    async with running_harness(own_clock_env, sqlite_seeded) as harness:
        yield harness
