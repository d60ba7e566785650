from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.security.stack import Stack, seeded_sqlite, serve_stack


@pytest.fixture(scope="module")
async def stack(
    dev_server_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory, reference_dir: Path
) -> AsyncIterator[Stack]:
    engine = seeded_sqlite(tmp_path_factory.mktemp("security") / "procure.db")
    async with serve_stack(dev_server_env.client, engine, reference_dir) as served:
        yield served
    engine.dispose()
