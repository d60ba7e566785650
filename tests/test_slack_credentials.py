"""Real Slack or the simulator is decided by the Slack credentials alone, and the two never mix:
SLACK_API_URL (an egress proxy in front of slack.com, say) does not start the simulator; a
real bot token is never paired with the simulator's public signing secret; the simulator never
runs with real credentials. Half-set credentials stop the bot, the worker and `procure dev`
with a message that says what is missing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import procure.runtime
from catalog.settings import SIMULATOR_BOT_TOKEN, SIMULATOR_SIGNING_SECRET, Settings, SlackConfigError
from procure.dev import Child, Supervisor

REAL = {"SLACK_BOT_TOKEN": "xoxb-1111-2222-realtoken", "SLACK_SIGNING_SECRET": "0123456789abcdef-real-secret"}
PROXY = "https://slack-egress.internal/api"
SLACK_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_OIDC_URL",
)


@pytest.fixture
def slack_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No Slack variable from the developer's shell or .env."""
    for name in SLACK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


# ------------------------------------------------------------------ what the settings decide


def test_slack_api_url_does_not_turn_real_slack_into_the_simulator() -> None:
    proxied = settings(
        slack_bot_token=REAL["SLACK_BOT_TOKEN"], slack_signing_secret=REAL["SLACK_SIGNING_SECRET"], slack_api_url=PROXY
    )
    assert proxied.uses_real_slack
    assert proxied.api_url() == PROXY + "/"
    assert (proxied.bot_token, proxied.signing_secret) == (REAL["SLACK_BOT_TOKEN"], REAL["SLACK_SIGNING_SECRET"])
    assert not settings(slack_api_url=PROXY).uses_real_slack


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"slack_bot_token": REAL["SLACK_BOT_TOKEN"]}, "SLACK_SIGNING_SECRET"),
        ({"slack_bot_token": REAL["SLACK_BOT_TOKEN"], "slack_app_token": "xapp-1-A1-123-abc"}, "SLACK_SIGNING_SECRET"),
        ({"slack_signing_secret": REAL["SLACK_SIGNING_SECRET"]}, "SLACK_BOT_TOKEN"),
    ],
)
def test_half_set_credentials_are_never_completed_with_the_simulators(given: dict[str, str], missing: str) -> None:
    half = settings(**given)
    problem = half.slack_config_error()
    assert problem is not None and missing in problem
    with pytest.raises(SlackConfigError, match=missing):
        half.signing_secret if missing == "SLACK_SIGNING_SECRET" else half.bot_token  # noqa: B018


def test_no_credentials_at_all_is_the_simulator() -> None:
    local = settings()
    assert local.slack_config_error() is None and not local.uses_real_slack
    assert (local.bot_token, local.signing_secret) == (SIMULATOR_BOT_TOKEN, SIMULATOR_SIGNING_SECRET)


# ------------------------------------------------------------------ the entry points


@pytest.fixture
def no_temporal(monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("connected to Temporal: the process should have refused to start")

    monkeypatch.setattr(procure.runtime, "connect_temporal", refuse)


@pytest.mark.usefixtures("no_temporal")
@pytest.mark.parametrize("entry", [procure.runtime.run_bot, procure.runtime.run_worker])
def test_the_bot_and_the_worker_refuse_a_token_without_its_signing_secret(entry: Any) -> None:
    with pytest.raises(SystemExit) as refused:
        asyncio.run(entry(settings(slack_bot_token=REAL["SLACK_BOT_TOKEN"])))
    assert "SLACK_SIGNING_SECRET" in str(refused.value.code)


def test_procure_bot_says_what_is_missing(slack_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TEMPORAL_"))}
    env.update(SLACK_BOT_TOKEN=REAL["SLACK_BOT_TOKEN"], TEMPORAL_ADDRESS="127.0.0.1:9", DATA_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "procure.cli", "bot"], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode != 0
    assert "SLACK_BOT_TOKEN set without SLACK_SIGNING_SECRET" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert REAL["SLACK_BOT_TOKEN"] not in done.stdout + done.stderr


def test_the_simulator_never_runs_with_real_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[Any] = []
    monkeypatch.setattr("bot.simulator.app.run_simulator", lambda config, *_: served.append(config))
    monkeypatch.setattr(procure.runtime, "simulator_users", lambda _: [])
    for given in (
        {"slack_bot_token": REAL["SLACK_BOT_TOKEN"], "slack_signing_secret": REAL["SLACK_SIGNING_SECRET"]},
        {"slack_signing_secret": REAL["SLACK_SIGNING_SECRET"]},
    ):
        with pytest.raises(SystemExit, match="never runs with real Slack credentials"):
            procure.runtime.run_simulator(settings(**given))
    assert served == []
    procure.runtime.run_simulator(settings())
    assert [(c.bot_token, c.signing_secret) for c in served] == [(SIMULATOR_BOT_TOKEN, SIMULATOR_SIGNING_SECRET)]


# ------------------------------------------------------------------ procure dev


class _Exited:
    returncode = 0

    def poll(self) -> int:
        return 0


class RecordingSupervisor(Supervisor):
    """`procure dev` up to the point it would run its children: what it starts, with what env."""

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        self.started[name] = dict(env)
        child = Child(name, _Exited())  # type: ignore[arg-type]
        self.children.append(child)
        return child

    def wait_until(self, *_: Any) -> None:
        pass

    def stop(self) -> None:
        pass


def run_dev(tmp_path: Path, *, simulator: bool = False) -> tuple[dict[str, dict[str, str]], list[str]]:
    printed: list[str] = []
    supervisor = RecordingSupervisor(
        Settings(
            data_dir=tmp_path / "data",
            database_url=f"sqlite:///{tmp_path / 'procure.db'}",
            temporal_address="127.0.0.1:7233",
            simulator_port=3999,
        ),
        simulator=simulator,
        out=printed.append,
    )
    supervisor.started = {}  # type: ignore[attr-defined]
    supervisor.run()
    return supervisor.started, printed  # type: ignore[attr-defined]


def test_procure_dev_behind_an_egress_proxy_talks_to_slack(slack_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {**REAL, "SLACK_API_URL": PROXY}.items():
        slack_env.setenv(name, value)
    started, printed = run_dev(tmp_path)
    assert "simulator" not in started, "SLACK_API_URL started the simulator although real credentials are set"
    assert started["bot"]["SLACK_API_URL"] == PROXY
    assert started["bot"]["SLACK_BOT_TOKEN"] == REAL["SLACK_BOT_TOKEN"]
    assert not any("Slack simulator" in line for line in printed)


def test_procure_dev_without_credentials_runs_the_simulator(slack_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    slack_env.setenv("SLACK_API_URL", PROXY)
    started, _ = run_dev(tmp_path)
    assert set(started) == {"worker", "simulator", "bot", "web"}
    assert started["bot"]["SLACK_API_URL"] == "http://127.0.0.1:3999/api/"


def test_procure_dev_simulator_flag_keeps_real_credentials_from_every_child(
    slack_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in {**REAL, "SLACK_APP_TOKEN": "xapp-1-A1-123-abc", "SLACK_CLIENT_SECRET": "real-secret"}.items():
        slack_env.setenv(name, value)
    started, printed = run_dev(tmp_path, simulator=True)
    assert set(started) == {"worker", "simulator", "bot", "web"}
    for name, env in started.items():
        credentials = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_CLIENT_SECRET")
        assert all(not env[key] for key in credentials), name
        assert env["SLACK_API_URL"] == "http://127.0.0.1:3999/api/", name
    assert any("--simulator" in line for line in printed)


def test_procure_dev_refuses_half_set_credentials(slack_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    slack_env.setenv("SLACK_BOT_TOKEN", REAL["SLACK_BOT_TOKEN"])
    with pytest.raises(SystemExit, match="SLACK_SIGNING_SECRET"):
        run_dev(tmp_path)
    assert not (tmp_path / "data").exists(), "started before refusing"
