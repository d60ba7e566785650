"""Real processes the fault tests break on purpose: a Temporal dev server on a db file of its
own, and `procure worker` as a child that can be SIGKILLed and started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client

from procure.dev import port_open, temporal_dev_argv
from procure.testing import free_port
from tests.helpers import eventually

_ISOLATE = ("SLACK_", "TEMPORAL_", "DATABASE_", "BOT_", "SIMULATOR_", "PROCURE_FAULT", "LOG_")


@dataclass
class TemporalServer:
    db_file: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [*temporal_dev_argv(self.db_file, port=self.port, log_level="error"), "--headless"]
        log = self.db_file.with_suffix(".log").open("ab")
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)

    def ready(self) -> bool:
        return port_open(self.port)

    async def connect(self, within: float = 30) -> Client:
        """A client, once the server answers. Its port opens before its frontend is healthy
        ("Frontend is not healthy yet"), so an open port is not enough."""
        client: Client | None = None

        async def connected() -> bool:
            nonlocal client
            try:
                client = await Client.connect(self.address)
            except RuntimeError:  # refused, or the frontend is not healthy yet
                return False
            return True

        await eventually(connected, within, "the Temporal dev server's frontend")
        assert client is not None
        return client

    def kill(self) -> None:
        """SIGKILL: no shutdown, no checkpoint of its database."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class WorkerProcess:
    env: dict[str, str]
    log_file: Path
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def configure(
        cls, *, data_dir: Path, database_url: str, temporal: str, task_queue: str, slack_api_url: str, **extra: str
    ) -> WorkerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_ISOLATE)}
        env.update(
            DATA_DIR=str(data_dir),
            DATABASE_URL=database_url,
            TEMPORAL_ADDRESS=temporal,
            TEMPORAL_TASK_QUEUE=task_queue,
            SLACK_API_URL=slack_api_url,
            WORKER_METRICS_PORT="0",
            **extra,
        )
        return cls(env, data_dir / "worker.log")

    def start(self) -> None:
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "procure.cli", "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no completed activity reported, as a crashed host leaves it."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
