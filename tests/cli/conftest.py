"""What the CLI tests share: a seeded database the CLI reaches through DATABASE_URL, a runner
whose tables are as wide as they need, and small file and row helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select
from typer.testing import CliRunner

from catalog.db import transaction
from catalog.settings import get_settings

runner = CliRunner(env={"COLUMNS": None})  # tables as wide as they need, whatever the shell exports


@pytest.fixture
def db(seeded_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("DATABASE_URL", seeded_engine.url.render_as_string(hide_password=False))
    monkeypatch.delenv("POLICY_FILE", raising=False)
    get_settings.cache_clear()
    yield seeded_engine
    get_settings.cache_clear()


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def count(engine: Engine, model: type) -> int:
    with transaction(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())
