"""The console under test: the real FastAPI app on a migrated, seeded database (SQLite and
PostgreSQL), driven through httpx's ASGI transport; signed in by minting the session cookie
the OIDC callback would set (tests/web/test_auth.py drives the real flow)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from catalog.db import make_engine, transaction, upgrade
from catalog.seed import seed_if_empty
from catalog.settings import Settings
from tests.conftest import migrated_engine
from web.app import create_app
from web.deps import SESSION_COOKIE

CONSOLE_URL = "http://127.0.0.1:3002"
ITAM = "itam@example.com"
FINANCE = "finance@example.com"
FINOPS = "finops@example.com"
SECURITY = "security@example.com"
MANAGER = "manager@example.com"
EMPLOYEE = "employee@example.com"
ENGINEER = "engineer@example.com"
VP = "vp@example.com"


def console_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "web_session_secret": "test-session-secret",
        "company_timezone": "Europe/Paris",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Console:
    app: FastAPI
    engine: Engine
    http: httpx.AsyncClient

    def sign_in(self, email: str) -> str:
        """Be `email` from now on (as after Sign in with Slack); returns the session's CSRF token."""
        csrf = secrets.token_urlsafe(16)
        cookie = self.app.state.console.serializer.dumps({"e": email, "c": csrf}, salt="session")
        self.http.cookies.set(SESSION_COOKIE, cookie)
        return csrf

    def sign_out(self) -> None:
        self.http.cookies.clear()


def seeded(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    for engine in migrated_engine(kind, tmp_path, request):
        with transaction(engine) as session:
            seed_if_empty(session)
        yield engine


async def open_console(engine: Engine, settings: Settings, temporal: Any = None) -> AsyncIterator[Console]:
    app = create_app(settings, engine=engine, temporal=temporal)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=CONSOLE_URL) as http:
        yield Console(app, engine, http)


@pytest.fixture(params=["sqlite", "postgres"])
async def console(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Console]:
    """The console on the seeded demo database: once on SQLite, once on PostgreSQL."""
    for engine in seeded(request.param, tmp_path, request):
        async for opened in open_console(engine, console_settings(tmp_path)):
            yield opened


@pytest.fixture
async def sqlite_console(tmp_path: Path) -> AsyncIterator[Console]:
    """The console on a seeded SQLite database only (for what does not depend on the database)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'procure.db'}")
    upgrade(engine)
    with transaction(engine) as session:
        seed_if_empty(session)
    async for opened in open_console(engine, console_settings(tmp_path)):
        yield opened
    engine.dispose()
