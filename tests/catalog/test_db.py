"""SQLite transaction modes: writers lock up front, readers never wait for a writer."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import event

from catalog.db import make_engine, transaction, upgrade
from catalog.models import Product


def test_readers_run_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(engine)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_: statements.append(sql))
    read: list[object] = []

    def reader() -> None:
        with transaction(engine, read_only=True) as session:
            read.append(session.get(Product, "figma"))

    with transaction(engine) as writer:
        writer.add(Product(id="figma", name="Figma", vendor="Figma, Inc.", category="design"))
        writer.flush()
        thread = threading.Thread(target=reader)
        thread.start()
        thread.join(timeout=10)  # a reader blocked by the write lock would wait out busy_timeout (30 s)
        assert not thread.is_alive() and read == [None]  # it saw the last committed state
    assert [s for s in statements if s.startswith("BEGIN")] == ["BEGIN IMMEDIATE", "BEGIN"]
    with transaction(engine, read_only=True) as session:
        assert session.get(Product, "figma") is not None
