"""`procure.testing.dev_stack` starts again on fresh ports when Temporal lost a port to another
process between the pick and the bind, and only then (the start itself is replaced here: the
real stack is what tests/e2e/test_full_stack.py starts)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from procure import testing
from procure.testing import DevStack, StackFailed


def _fake_starts(monkeypatch: pytest.MonkeyPatch, failures: list[str]) -> list[int]:
    """Each start fails with the next Temporal log line of `failures`, then succeeds with a
    process that has already exited 0; returns the list of attempts made."""
    attempts: list[int] = []

    def start(data_dir: Path, extra_env: dict[str, str], timeout: float, args: Sequence[str]) -> DevStack:
        attempts.append(len(attempts) + 1)
        if len(attempts) <= len(failures):
            logs = data_dir / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            (logs / "temporal.log").write_text(failures[len(attempts) - 1])
            raise StackFailed("procure dev exited:\ntemporal exited with 1 while waiting for Temporal")
        done = subprocess.Popen([sys.executable, "-c", "pass"], text=True)
        done.wait()
        ports = [testing.free_port() for _ in range(5)]
        return DevStack(done, data_dir, ports[0], ports[1], ports[2], 0.1, [], ports[3], ports[4])

    monkeypatch.setattr(testing, "_start", start)
    return attempts


CLASH = 'error="listen tcp 127.0.0.1:46157: bind: address already in use"\n'


def test_a_port_lost_to_another_process_starts_the_stack_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    attempts = _fake_starts(monkeypatch, [CLASH])
    with testing.dev_stack(tmp_path) as stack:
        assert stack.process.returncode == 0
    assert attempts == [1, 2]
    # the failed start's log is kept beside the new one
    assert (tmp_path / "logs" / "temporal.1.log").read_text() == CLASH


def test_any_other_failure_is_raised_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    attempts = _fake_starts(monkeypatch, ['level=ERROR msg="database is locked"\n'])
    with pytest.raises(StackFailed, match="temporal exited"), testing.dev_stack(tmp_path):
        pass
    assert attempts == [1]


def test_the_start_is_tried_a_bounded_number_of_times(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    attempts = _fake_starts(monkeypatch, [CLASH] * 10)
    with pytest.raises(StackFailed), testing.dev_stack(tmp_path):
        pass
    assert attempts == list(range(1, testing.START_ATTEMPTS + 1))
