"""Run `procure dev` as a subprocess on free ports: the end-to-end tests and the benchmarks
drive the real process tree through it."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

#: Where every process of the stack listens: this machine only.
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((LOOPBACK, port)) != 0


def local_url(port: int, path: str = "") -> str:
    return f"http://{LOOPBACK}:{port}{path}"


class StackFailed(RuntimeError):
    pass


@dataclass
class DevStack:
    process: subprocess.Popen[str]
    data_dir: Path
    bot_port: int
    simulator_port: int
    temporal_port: int
    ready_seconds: float
    output: list[str] = field(default_factory=list)
    bot_metrics_port: int = 0
    web_port: int = 0

    @property
    def console_url(self) -> str:
        return local_url(self.web_port)

    @property
    def bot_url(self) -> str:
        return local_url(self.bot_port)

    @property
    def bot_metrics_url(self) -> str:
        return local_url(self.bot_metrics_port, "/metrics")

    @property
    def simulator_url(self) -> str:
        return local_url(self.simulator_port)

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'procure.db'}"


# Settings a developer's shell may carry that must not leak into an isolated stack.
_ISOLATE = (
    "SLACK_BOT",
    "SLACK_SIGNING",
    "SLACK_APP",
    "SLACK_API",
    "SLACK_CLIENT",
    "SLACK_OIDC",
    "TEMPORAL_",
    "DATABASE_",
    "BOT_",
    "SIMULATOR_",
    "WEB_",
)


#: How many times the stack is started on fresh ports when Temporal lost a port to another
#: process between our pick and its bind (the dev server picks its internal ports itself).
START_ATTEMPTS = 3


@contextmanager
def dev_stack(
    data_dir: Path,
    *,
    extra_env: dict[str, str] | None = None,
    timeout: float = 90,
    args: Sequence[str] = (),
) -> Iterator[DevStack]:
    """Start `procure dev --no-ui [args]` with its own data dir and free ports; stop it with
    SIGINT (as Ctrl-C does) when the block ends, and check that every port was released.

    A port is free when picked but may be taken before the process binds it (other test runs on
    the machine pick too): when Temporal exits on "address already in use", the stack is started
    again on fresh ports, up to START_ATTEMPTS times. Any other failure is raised at once."""
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            stack = _start(data_dir, extra_env or {}, timeout, args)
            break
        except StackFailed:
            log = _temporal_log(data_dir)
            if attempt == START_ATTEMPTS or not _lost_a_port(log):
                raise
            # keep the failed start's log for whoever reads it, out of the next start's way
            log.rename(log.with_name(f"temporal.{attempt}.log"))
    try:
        yield stack
    finally:
        _stop(stack.process)
    if stack.process.returncode != 0:
        raise StackFailed(f"procure dev stopped with exit code {stack.process.returncode}")
    ports = (stack.bot_port, stack.bot_metrics_port, stack.simulator_port, stack.temporal_port, stack.web_port)
    still_open = [p for p in ports if not port_closed(p)]
    if still_open:
        raise StackFailed(f"ports {still_open} still open after procure dev stopped")


def _start(data_dir: Path, extra_env: dict[str, str], timeout: float, args: Sequence[str]) -> DevStack:
    """One start of the stack, up to the line it prints once ready; whatever ends the wait
    early (StackFailed, an interrupt) stops the process first."""
    ports = {
        "BOT_PORT": free_port(),
        "BOT_METRICS_PORT": free_port(),
        "SIMULATOR_PORT": free_port(),
        "TEMPORAL_PORT": free_port(),
        "WEB_PORT": free_port(),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(_ISOLATE)}
    env.update({k: str(v) for k, v in ports.items()}, DATA_DIR=str(data_dir), **extra_env)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "procure.cli", "dev", "--no-ui", *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []  # everything procure dev prints, kept up to date while it runs

    def pump() -> None:
        for line in process.stdout or []:
            output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = started + timeout
    try:
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise StackFailed("procure dev was not ready in time:\n" + "".join(output)) from None
            if line is None:
                raise StackFailed("procure dev exited:\n" + "".join(output))
            if line.startswith("Press Ctrl-C"):  # the last line procure dev prints once it is ready
                break
    except BaseException:
        _stop(process)
        raise
    return DevStack(
        process,
        data_dir,
        ports["BOT_PORT"],
        ports["SIMULATOR_PORT"],
        ports["TEMPORAL_PORT"],
        time.monotonic() - started,
        output,
        bot_metrics_port=ports["BOT_METRICS_PORT"],
        web_port=ports["WEB_PORT"],
    )


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _temporal_log(data_dir: Path) -> Path:
    return data_dir / "logs" / "temporal.log"


def _lost_a_port(log: Path) -> bool:
    return log.exists() and "address already in use" in log.read_text(errors="replace")
