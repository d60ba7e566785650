"""SQLite transaction modes: writers lock up front (and take turns within a process), readers
never wait for a writer."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import event
from sqlmodel import col, select

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


def test_writers_of_one_process_take_turns_without_meeting_sqlites_busy_lock(tmp_path: Path) -> None:
    """With SQLite's busy wait switched off, a writer that found the file locked would fail at
    once ("database is locked"): the process's own lock must hand the database from one
    writer thread to the next before SQLite is asked."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    upgrade(engine)
    engine.dispose()

    @event.listens_for(engine, "connect")
    def _no_busy_wait(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=0")  # type: ignore[attr-defined]

    errors: list[Exception] = []
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        start.wait()
        for i in range(25):
            try:
                with transaction(engine) as session:
                    session.add(Product(id=f"p{n}-{i}", name=f"P {n} {i}", vendor="V", category="c"))
            except Exception as exc:  # collected and asserted on below
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with transaction(engine, read_only=True) as session:
        assert len(session.exec(select(Product).where(col(Product.vendor) == "V")).all()) == 200
