"""`procure web token …`: a token is printed once, stored hashed, works as Bearer until revoked;
`procure web` refuses the bot's port."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from catalog.db import transaction
from catalog.models import ApiToken, AuditEvent
from catalog.repository import api_tokens
from catalog.seed import seed_if_empty
from catalog.settings import get_settings
from procure.web_cli import web_app

runner = CliRunner()


@pytest.fixture
def db(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    with transaction(engine) as session:
        seed_if_empty(session)
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield engine
    get_settings.cache_clear()


def test_create_prints_the_token_once_and_stores_its_hash(db: Engine) -> None:
    created = runner.invoke(web_app, ["token", "create", "--email", "itam@example.com", "--expires", "30d"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("pcw_")
    with transaction(db) as session:
        [row] = session.exec(select(ApiToken)).all()
        assert row.token_hash == api_tokens.token_hash(token) and token not in row.token_hash
        assert row.expires_at is not None
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)  # SQLite: naive UTC
        assert 29 <= (expires - datetime.now(UTC)).days <= 30
        assert api_tokens.find_live(session, token=token, now=datetime.now(UTC)) is not None

    revoked = runner.invoke(web_app, ["token", "revoke", str(row.id), "--actor", "ops@example.com"])
    assert revoked.exit_code == 0 and f"token {row.id} revoked" in revoked.output
    again = runner.invoke(web_app, ["token", "revoke", str(row.id)])
    assert again.exit_code == 0 and "already revoked" in again.output
    with transaction(db) as session:
        assert api_tokens.find_live(session, token=token, now=datetime.now(UTC)) is None
        actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.entity == "web_token")).all()]
    assert actions == ["token_created", "token_revoked"]
    listed = runner.invoke(web_app, ["token", "list"])
    assert "itam@example.com" in listed.output and "revoked" in listed.output and token not in listed.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["token", "create", "--email", "nobody@example.com"], "not in the directory"),
        (["token", "create", "--email", "itam@example.com", "--expires", "soon"], "not a duration"),
        (["token", "create", "--email", "itam@example.com", "--purpose", "admin"], "purpose 'admin'"),
        (["token", "revoke", "42"], "no token with id 42"),
    ],
)
def test_bad_requests_change_nothing(db: Engine, args: list[str], message: str) -> None:
    result = runner.invoke(web_app, args)
    assert result.exit_code == 1 and message in result.output
    with transaction(db) as session:
        assert session.exec(select(ApiToken)).all() == []


def test_the_console_never_takes_the_bots_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_PORT", "3000")
    monkeypatch.setenv("BOT_PORT", "3000")
    get_settings.cache_clear()
    try:
        result = runner.invoke(web_app, ["serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1 and "never listens on Slack's port" in result.output
