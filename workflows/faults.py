"""Test-only fault injection: crash the worker at a named point, once.

`PROCURE_FAULT=<point>` makes the worker process die with `os._exit(137)` (as SIGKILL would
leave it) the first time it reaches `crash_point("<point>")`. A marker file
(`PROCURE_FAULT_MARKER`, default `<DATA_DIR>/fault-<point>.done`) is written first, so the
restarted worker carries on. Unset in production, where `crash_point` does nothing."""

from __future__ import annotations

import os
from pathlib import Path


def crash_point(name: str) -> None:
    if os.environ.get("PROCURE_FAULT") != name:
        return
    marker = Path(
        os.environ.get("PROCURE_FAULT_MARKER") or Path(os.environ.get("DATA_DIR", ".data")) / f"fault-{name}.done"
    )
    if marker.exists():
        return
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(name)
    os._exit(137)
