"""Static checks of the production packaging: Dockerfile, .dockerignore, docker-compose.yml and
slack-manifest.yaml, cross-checked against the code they deploy (the `procure` CLI, the Settings
fields, the bot's HTTP routes and Slack listeners) and against Slack's OpenAPI description.

No Docker engine is needed: files are parsed, and the two health-check commands are run against a
throw-away local HTTP server, as the container would run them.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator, Mapping
from fnmatch import fnmatch
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from sqlalchemy.engine import make_url

from catalog.db import normalise_url
from catalog.settings import SIMULATOR_BOT_TOKEN, SIMULATOR_SIGNING_SECRET, Settings

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = Path(os.environ.get("SLACK_REFERENCE_DIR", ROOT.parent / "shared/reference/slack"))
OPENAPI = REFERENCE_DIR / "openapi/slack_web_openapi_v2.json"

SERVICES = {"postgres", "temporal", "temporal-ui", "migrate", "worker", "bot", "web"}
APP_SERVICES = ("migrate", "worker", "bot", "web")
APP_IMAGE = "procure-bot:latest"
#: Set on the app services although not a Settings field: procure/cli.py reads it from os.environ.
NOT_SETTINGS = {"LOG_LEVEL"}
PRODUCTION_SETTINGS = ("DATABASE_URL", "TEMPORAL_ADDRESS", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
SLACK_SECRETS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")
#: What an operator exports before `docker compose up` (test values, not secrets).
OPERATOR_ENV = {"SLACK_BOT_TOKEN": "xoxb-operator-token", "SLACK_SIGNING_SECRET": "operator-signing-secret"}

#: Every Slack Web API method the bot and the worker call (or are about to), as Slack spells it.
METHODS = (
    "auth.test",
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "views.open",
    "views.update",
    "views.publish",
    "conversations.open",
    "conversations.history",
    "conversations.info",
    "conversations.list",
    "users.info",
    "users.lookupByEmail",
)
#: The granular bot scopes each method needs today (api.slack.com/methods); all of them must be granted.
METHOD_SCOPES = {
    "chat.postMessage": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "conversations.open": {"im:write"},
    "conversations.history": {"im:history"},
    # The start-up check of ITAM_CHANNEL (bot/channel_check.py); groups:read for a private one.
    "conversations.info": {"channels:read", "groups:read"},
    "conversations.list": {"channels:read", "groups:read"},
    "users.info": {"users:read"},
    "users.lookupByEmail": {"users:read", "users:read.email"},
}
#: The OpenAPI description (2021) still names the classic-app scopes; a manifest can only grant granular ones.
LEGACY_SCOPES = {"chat:write:bot": "chat:write", "chat:write:user": "chat:write"}
#: Scopes behind what the bot receives rather than calls.
EVENT_SCOPES = {"app_mention": "app_mentions:read", "message.im": "im:history"}
REQUIRED_EVENTS = {"app_home_opened", "message.im", "app_mention"}
#: The metrics ports of each app service (Settings fields): on the compose network, never published.
METRICS_PORTS = {"bot": ("BOT_METRICS_PORT",), "worker": ("WORKER_METRICS_PORT", "TEMPORAL_METRICS_PORT")}
REAL_TOKEN = re.compile(r"\bx(?:ox[abpre]|app)-[0-9A-Za-z]+-[0-9A-Za-z-]{6,}")


# ---------------------------------------------------------------------------- helpers


class InterpolationError(ValueError):
    pass


_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_]\w*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_]\w*)")


def interpolate(value: Any, env: Mapping[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `$$`."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2), match.group(3)
        current = env.get(name)
        unset = not current if operator in (":-", ":?") else current is None
        if operator and operator.endswith("?") and unset:
            raise InterpolationError(f"{name}: {argument}")
        if operator and operator.endswith("-") and unset:
            return argument
        return current or ""

    return _VARIABLE.sub(substitute, str(value))


def load_yaml(name: str) -> Any:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml("docker-compose.yml")


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return load_yaml("slack-manifest.yaml")


def service_env(service: Mapping[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {str(key): "" if value is None else str(value) for key, value in raw.items()}


def resolved_env(service: Mapping[str, Any], env: Mapping[str, str] = OPERATOR_ENV) -> dict[str, str]:
    return {key: interpolate(value, env) for key, value in service_env(service).items()}


def command_words(command: Any) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(word) for word in command]


def published_ports(service: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(host address, container port) of each `ports:` entry; the address is "" when all interfaces."""
    published = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            published.append((str(port.get("host_ip", "")), str(port["target"])))
            continue
        parts = interpolate(port, {}).split("/")[0].rsplit(":", 2)
        published.append((parts[0] if len(parts) == 3 else "", parts[-1]))
    return published


def settings_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def healthcheck_test(service: Mapping[str, Any]) -> list[str]:
    test = (service.get("healthcheck") or {}).get("test")
    if test is None:
        return []
    return ["CMD-SHELL", test] if isinstance(test, str) else [str(part) for part in test]


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per logical line: continuations joined, comments dropped."""
    instructions, pending = [], ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def dockerfile_env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in instructions:
        if keyword != "ENV":
            continue
        words = shlex.split(arguments)
        if "=" not in words[0]:
            env[words[0]] = " ".join(words[1:])
        else:
            env.update(word.split("=", 1) for word in words)
    return env


def server_routes() -> set[str]:
    """Paths of `Route("...")` in bot/server.py, read from the source (importing it needs the whole bot)."""
    tree = ast.parse((ROOT / "bot/server.py").read_text(encoding="utf-8"))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "Route"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


# ---------------------------------------------------------------------------- the procure CLI


@pytest.fixture(scope="module")
def cli() -> tuple[Any, BaseException | None]:
    """The click tree `procure` runs, and the error main() would hit registering its subcommands."""
    from procure.cli import _register_subcommands, app

    error: BaseException | None = None
    if not any(group.name == "catalog" for group in app.registered_groups):
        try:
            _register_subcommands()
        except Exception as exc:
            error = exc
    return typer.main.get_command(app), error


def resolve(root: Any, words: list[str]) -> Any:
    command = root
    for word in words:
        commands = getattr(command, "commands", None)
        if commands is None or word not in commands:
            return None
        command = commands[word]
    return command


def test_the_entrypoint_registers_every_subcommand(cli: tuple[Any, BaseException | None]) -> None:
    # main() (the image's ENTRYPOINT) calls _register_subcommands() before any command runs.
    _, error = cli
    assert error is None, f"`procure` fails before running any command: {error!r}"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_service_runs_a_real_cli_command(compose: dict[str, Any], cli: tuple[Any, Any], service: str) -> None:
    words = command_words(compose["services"][service]["command"])
    command = resolve(cli[0], words)
    assert command is not None, f"{service}: `procure {' '.join(words)}` is not a command of the CLI"
    assert not hasattr(command, "commands"), f"{service}: `procure {' '.join(words)}` is a group, not a command"


def test_app_services_run_the_expected_commands(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert [command_words(services[name]["command"]) for name in APP_SERVICES] == [
        ["db", "upgrade"],
        ["worker"],
        ["bot"],
        ["web", "serve"],
    ]


def test_dockerfile_default_command_is_a_real_cli_command(cli: tuple[Any, Any]) -> None:
    cmd = json.loads(dict(final_stage(dockerfile()))["CMD"])
    assert cmd == ["bot"]
    assert resolve(cli[0], cmd) is not None


# ---------------------------------------------------------------------------- docker-compose.yml


def test_services_exist_and_the_file_is_compose_spec(compose: dict[str, Any]) -> None:
    assert "version" not in compose, "the Compose spec has no `version:` key"
    assert set(compose["services"]) == SERVICES


def test_app_services_share_the_locally_built_image(compose: dict[str, Any]) -> None:
    assert "x-app" in compose, "the shared app config is the x-app anchor"
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["image"] == APP_IMAGE
        build = service["build"]
        assert (build if isinstance(build, str) else build.get("context")) in (".", "./")


def test_app_env_names_are_settings_fields(compose: dict[str, Any]) -> None:
    fields = settings_names()
    for name in APP_SERVICES:
        unknown = set(service_env(compose["services"][name])) - fields - NOT_SETTINGS
        assert not unknown, f"{name} sets variables the app never reads: {sorted(unknown)}"
    cli_source = (ROOT / "procure/cli.py").read_text(encoding="utf-8")
    for name in NOT_SETTINGS:
        assert f'os.environ.get("{name}"' in cli_source, f"{name} is no longer read by procure/cli.py"


@pytest.mark.parametrize("service", ["bot", "worker"])
def test_production_settings_are_set(compose: dict[str, Any], service: str) -> None:
    env = resolved_env(compose["services"][service])
    missing = [name for name in PRODUCTION_SETTINGS if not env.get(name)]
    assert not missing, f"{service} lacks {missing}"


@pytest.mark.parametrize("service", ["bot", "worker"])
def test_settings_as_the_container_sees_them(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    """Build Settings from exactly the container's environment: real Slack, PostgreSQL, the compose Temporal."""
    services = compose["services"]
    for name in settings_names() | NOT_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in resolved_env(services[service]).items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.uses_real_slack and settings.api_url() is None, "would talk to the simulator, not Slack"
    assert settings.bot_token == OPERATOR_ENV["SLACK_BOT_TOKEN"]
    assert settings.signing_secret == OPERATOR_ENV["SLACK_SIGNING_SECRET"]
    assert not settings.slack_app_token, "Socket Mode must stay off unless the operator sets SLACK_APP_TOKEN"

    url = make_url(normalise_url(settings.effective_database_url))
    postgres = resolved_env(services["postgres"])
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port or 5432) == ("postgres", 5432) and url.host in services
    assert (url.username, url.password, url.database) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DB"],
    )

    assert settings.temporal_address == "temporal:7233"
    temporal = resolved_env(services["temporal"])
    assert settings.temporal_namespace == temporal.get("DEFAULT_NAMESPACE", "default"), (
        "auto-setup must create the namespace the app uses"
    )
    assert settings.bot_host == "0.0.0.0"


def test_migrate_uses_the_same_database(compose: dict[str, Any]) -> None:
    services = compose["services"]
    urls = {name: resolved_env(services[name]).get("DATABASE_URL") for name in APP_SERVICES}
    assert len(set(urls.values())) == 1 and None not in urls.values(), urls
    assert not set(service_env(services["migrate"])) & set(SLACK_SECRETS), "migrate needs no Slack secret"


def test_temporal_stores_its_state_in_the_postgres_service(compose: dict[str, Any]) -> None:
    services = compose["services"]
    temporal, postgres = resolved_env(services["temporal"]), resolved_env(services["postgres"])
    assert temporal["DB"] == "postgres12"
    assert temporal["POSTGRES_SEEDS"] == "postgres" and temporal["DB_PORT"] == "5432"
    assert (temporal["POSTGRES_USER"], temporal["POSTGRES_PWD"]) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
    )
    assert resolved_env(services["temporal-ui"])["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert any(str(port).endswith(":8080") for port in services["temporal-ui"]["ports"])


def test_third_party_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        if "build" in service:
            assert image == APP_IMAGE
            continue
        reference, _, digest = image.partition("@")
        last = reference.rsplit("/", 1)[-1]
        tag = last.partition(":")[2]
        assert digest or tag not in ("", "latest"), f"{name}: {image} is not pinned to a tag"
    assert compose["services"]["postgres"]["image"] == "postgres:16"
    assert compose["services"]["temporal"]["image"].startswith("temporalio/auto-setup:")
    assert compose["services"]["temporal-ui"]["image"].startswith("temporalio/ui:")


def test_depends_on_waits_for_health_or_completion(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on must name a condition for each dependency"
        for target, spec in depends_on.items():
            condition = spec.get("condition")
            assert condition in ("service_healthy", "service_completed_successfully"), f"{name} -> {target}"
            if condition == "service_healthy":
                check = services[target].get("healthcheck") or {}
                assert check.get("test") and not check.get("disable"), f"{target} has no health check to wait for"
            else:
                assert services[target].get("restart", "no") == "no", f"{target} is not a one-shot job"

    def conditions(name: str) -> dict[str, str]:
        return {target: spec["condition"] for target, spec in services[name]["depends_on"].items()}

    assert conditions("temporal")["postgres"] == "service_healthy"
    assert conditions("migrate")["postgres"] == "service_healthy"
    for name in ("worker", "bot", "web"):
        assert conditions(name)["temporal"] == "service_healthy"
        assert conditions(name)["migrate"] == "service_completed_successfully"


def test_health_checks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "pg_isready" in " ".join(healthcheck_test(services["postgres"]))
    temporal_check = " ".join(healthcheck_test(services["temporal"]))
    assert re.search(r"temporal operator cluster health|tctl .*cluster health", temporal_check)
    assert "temporal:7233" in temporal_check, "auto-setup binds the container's address, not 127.0.0.1"
    bot_check = " ".join(healthcheck_test(services["bot"]))
    assert re.search(r"/(healthz|readyz)\b", bot_check) and "urllib" in bot_check
    assert {"/healthz", "/readyz"} <= server_routes()
    for name in ("migrate", "worker"):
        # The image's HEALTHCHECK probes the bot's HTTP port; these serve none.
        assert services[name].get("healthcheck", {}).get("disable") is True, name


def test_bot_port_mapping_matches_bot_port(compose: dict[str, Any]) -> None:
    bot = compose["services"]["bot"]
    env = resolved_env(bot)
    assert env["BOT_HOST"] == "0.0.0.0"
    targets = set()
    for port in bot["ports"]:
        if isinstance(port, dict):
            targets.add(str(port["target"]))
        else:
            targets.add(interpolate(port, {}).split("/")[0].rsplit(":", 1)[-1])
    assert targets == {env["BOT_PORT"]}
    assert env["BOT_PORT"] in " ".join(healthcheck_test(bot)) or "BOT_PORT" in " ".join(healthcheck_test(bot))
    instructions = dockerfile()
    assert env["BOT_PORT"] in " ".join(arguments for keyword, arguments in instructions if keyword == "EXPOSE").split()


def test_metrics_are_off_the_public_port_and_published_nowhere(compose: dict[str, Any]) -> None:
    """The bot's port faces Slack, and so the internet: /metrics (request counts, pending
    approvals by role) lives on ports of its own that only the compose network reaches."""
    assert "/metrics" not in server_routes(), "the port that faces Slack serves /metrics"
    exposed_by_image = " ".join(arguments for keyword, arguments in dockerfile() if keyword == "EXPOSE").split()
    for name, keys in METRICS_PORTS.items():
        service = compose["services"][name]
        env = resolved_env(service)
        ports = {env.get(key) or str(Settings.model_fields[key.lower()].default) for key in keys}
        assert "0" not in ports, f"{name}: metrics are switched off"
        assert env.get("BOT_PORT") not in ports, f"{name}: metrics on the bot's public port"
        assert env.get("METRICS_HOST") == "0.0.0.0", f"{name}: Prometheus on the network cannot reach the metrics"
        for host, target in published_ports(service):
            assert target not in ports or host in ("127.0.0.1", "[::1]"), f"{name} publishes its metrics port {target}"
        assert ports <= {str(port) for port in service.get("expose", [])}, f"{name}: say which metrics ports it serves"
        assert not ports & set(exposed_by_image), f"the image EXPOSEs {name}'s metrics; `docker run -P` publishes it"


def test_slack_secrets_are_interpolated_never_written(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in service_env(service).items():
            if key in SLACK_SECRETS:
                assert re.fullmatch(r"\$\{" + key + r"(:\?[^}]*|:-)?\}", value), f"{name}: {key}={value!r}"
    for service in ("bot", "worker"):
        for key in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
            with pytest.raises(InterpolationError):  # compose refuses to start without them
                interpolate(service_env(compose["services"][service])[key], {})
    for file in ("docker-compose.yml", "Dockerfile", "slack-manifest.yaml", ".dockerignore"):
        text = (ROOT / file).read_text(encoding="utf-8")
        assert not REAL_TOKEN.search(text), f"{file} holds something that looks like a Slack token"
        assert SIMULATOR_BOT_TOKEN not in text and SIMULATOR_SIGNING_SECRET not in text, file
    assert not {key for key in dockerfile_env(dockerfile()) if key.startswith("SLACK_")}


# ---------------------------------------------------------------------------- Dockerfile


def test_dockerfile_builds_on_python_311_slim_and_installs_the_project() -> None:
    instructions = dockerfile()
    bases = [arguments.split()[0] for keyword, arguments in instructions if keyword == "FROM"]
    assert bases and all(base == "python:3.11-slim" for base in bases), bases
    installs = [arguments for keyword, arguments in instructions if keyword == "RUN" and "pip install" in arguments]
    assert any(re.search(r"pip install (--?\S+ )*\.(\s|$)", run) for run in installs), "no `pip install .`"
    assert not any(re.search(r"pip install .*(-e|--editable)\b", run) for run in installs), "editable install"


def test_dockerfile_copies_what_the_wheel_is_built_from() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {pattern.rstrip("*") for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    copied = set()
    for keyword, arguments in dockerfile():
        if keyword == "COPY" and "--from=" not in arguments:
            copied.update(word.rstrip("/") for word in arguments.split()[:-1] if not word.startswith("--"))
    assert {"pyproject.toml", pyproject["project"]["readme"], *packages} <= copied

    ignored = [
        line.strip().rstrip("/").removeprefix("**/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for source in copied:
        assert not any(fnmatch(source, pattern) for pattern in ignored), f".dockerignore drops {source}"
    for private in (".env", ".git", ".venv", ".data"):
        assert any(fnmatch(private, pattern) for pattern in ignored), f"{private} would reach the build context"


def test_dockerfile_runtime_contract() -> None:
    stage = final_stage(dockerfile())
    keywords = dict(stage)
    assert json.loads(keywords["ENTRYPOINT"]) == ["procure"]
    users = [arguments.split(":")[0] for keyword, arguments in stage if keyword == "USER"]
    assert users and users[-1] not in ("root", "0"), "the container must not run as root"
    env = dockerfile_env(stage)
    assert env.get("PYTHONUNBUFFERED") == "1"
    assert env.get("BOT_HOST") == "0.0.0.0"
    assert "3000" in keywords["EXPOSE"].split()
    healthcheck = keywords.get("HEALTHCHECK", "")
    assert " CMD " in f" {healthcheck} " and "/healthz" in healthcheck and "urllib" in healthcheck
    assert not re.search(r"\b(curl|wget)\b", healthcheck), "python:3.11-slim has neither curl nor wget"


# ---------------------------------------------------------------------------- the health checks, run


class _Health(BaseHTTPRequestHandler):
    ready = True

    def do_GET(self) -> None:
        ok = self.path == "/healthz" or (self.path == "/readyz" and self.ready)
        body = json.dumps({"ok": ok}).encode()
        self.send_response(200 if ok else 503 if self.path == "/readyz" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def fake_bot() -> Iterator[tuple[int, type[_Health]]]:
    handler = type("Health", (_Health,), {"ready": True})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], handler
    finally:
        server.shutdown()
        server.server_close()


def _run_check(argv: list[str], port: int) -> int:
    env = {
        **os.environ,
        "BOT_PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    return subprocess.run(argv, env=env, capture_output=True, timeout=30).returncode


def _free_port() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    port = server.server_address[1]
    server.server_close()
    return port


def test_dockerfile_healthcheck_command_works(fake_bot: tuple[int, type[_Health]]) -> None:
    healthcheck = dict(final_stage(dockerfile()))["HEALTHCHECK"]
    shell = healthcheck[healthcheck.index(" CMD ") + len(" CMD ") :]
    port, _ = fake_bot
    assert _run_check(["sh", "-c", shell], port) == 0
    assert _run_check(["sh", "-c", shell], _free_port()) != 0


def test_compose_bot_healthcheck_command_works(compose: dict[str, Any], fake_bot: tuple[int, type[_Health]]) -> None:
    test = healthcheck_test(compose["services"]["bot"])
    bot_port = resolved_env(compose["services"]["bot"])["BOT_PORT"]
    port, handler = fake_bot

    def argv(target_port: int) -> list[str]:
        words = [word.replace(f":{bot_port}/", f":{target_port}/") for word in test[1:]]
        return ["sh", "-c", words[0]] if test[0] == "CMD-SHELL" else words

    assert _run_check(argv(port), port) == 0
    handler.ready = False  # /readyz answers 503 while the database or Temporal is down
    expected_failure = "/readyz" in " ".join(test)
    assert (_run_check(argv(port), port) != 0) is expected_failure
    assert _run_check(argv(_free_port()), _free_port()) != 0


# ---------------------------------------------------------------------------- slack-manifest.yaml


def manifest_urls(manifest: dict[str, Any]) -> list[str]:
    settings = manifest["settings"]
    return [
        *(command["url"] for command in manifest["features"].get("slash_commands", [])),
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ]


def bot_scopes(manifest: dict[str, Any]) -> set[str]:
    return set(manifest["oauth_config"]["scopes"]["bot"])


def test_manifest_slash_command(manifest: dict[str, Any]) -> None:
    from bot import ids

    commands = {command["command"]: command for command in manifest["features"]["slash_commands"]}
    assert ids.REQUEST_COMMAND == "/request" and "/request" in commands
    assert commands["/request"]["usage_hint"] == "[product] [seats]"
    assert commands["/request"]["description"]


def test_manifest_urls_are_the_bots_endpoint(manifest: dict[str, Any]) -> None:
    assert "/slack/events" in server_routes()
    for url in manifest_urls(manifest):
        assert url.startswith("https://") and url.endswith("/slack/events"), url


def test_manifest_features_and_settings(manifest: dict[str, Any]) -> None:
    assert manifest["display_information"]["name"] == "Procure"
    features = manifest["features"]
    assert "bot_user" in features
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["app_home"]["messages_tab_enabled"] is True
    assert features["app_home"].get("messages_tab_read_only_enabled", False) is False, "DM intake needs to write"
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["org_deploy_enabled"] is False
    assert settings["socket_mode_enabled"] is False
    assert settings["token_rotation_enabled"] is False


def test_manifest_events_cover_the_listeners(manifest: dict[str, Any]) -> None:
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert REQUIRED_EVENTS <= events
    listened = set()
    for path in (ROOT / "bot/listeners").glob("*.py"):
        listened.update(re.findall(r"app\.event\(\s*[\"']([\w.]+)[\"']", path.read_text(encoding="utf-8")))
    assert listened, "no @app.event listeners found"
    for event in listened:
        assert event in events or any(name.startswith(f"{event}.") for name in events), event
    scopes = bot_scopes(manifest)
    for event, scope in EVENT_SCOPES.items():
        assert event not in events or scope in scopes, f"{event} needs {scope}"
    assert "commands" in scopes


def test_manifest_scopes_cover_the_methods(manifest: dict[str, Any]) -> None:
    scopes = bot_scopes(manifest)
    for method, needed in METHOD_SCOPES.items():
        assert needed <= scopes, f"{method} needs {sorted(needed - scopes)}"


def test_methods_list_covers_the_code() -> None:
    """Every Web API call in the bot and the worker is one of METHODS (the simulator serves, never calls)."""
    sources = [p for p in (ROOT / "bot").rglob("*.py") if "simulator" not in p.parts]
    sources += list((ROOT / "workflows").rglob("*.py"))
    called = set()
    for path in sources:
        for name in re.findall(r"\b_?client\.((?:auth|chat|views|conversations|users)_\w+)\(", path.read_text()):
            called.add(name.replace("_", ".", 1))
    assert called, "no Slack Web API call found"
    assert called <= set(METHODS), sorted(called - set(METHODS))


def test_manifest_scopes_against_slacks_openapi(manifest: dict[str, Any]) -> None:
    if not OPENAPI.is_file():
        pytest.fail(f"Slack's OpenAPI description not found at {OPENAPI}; set SLACK_REFERENCE_DIR")
    spec = json.loads(OPENAPI.read_text(encoding="utf-8"))
    granted = bot_scopes(manifest)
    for method in METHODS:
        path = spec["paths"].get(f"/{method}")
        assert path, f"{method} is not in Slack's OpenAPI description"
        required = set()
        for verb in ("post", "get"):
            for requirement in path.get(verb, {}).get("security", []):
                for scopes in requirement.values():
                    required.update(LEGACY_SCOPES.get(scope, scope) for scope in scopes if scope != "none")
        if required:
            assert required & granted, f"{method} needs one of {sorted(required)}; the manifest grants none"


def test_the_console_has_its_own_port_never_the_bots(compose: dict[str, Any]) -> None:
    """The console (issue 21) listens on WEB_PORT, published on loopback only (a TLS proxy goes in
    front), and is healthy when its /healthz answers."""
    web = compose["services"]["web"]
    env = resolved_env(web)
    assert env["WEB_HOST"] == "0.0.0.0"
    assert env["WEB_PORT"] != resolved_env(compose["services"]["bot"])["BOT_PORT"]
    [port] = web["ports"]
    published = interpolate(port, {})
    assert published.startswith("127.0.0.1:") and published.rsplit(":", 1)[-1] == env["WEB_PORT"]
    check = " ".join(healthcheck_test(web))
    assert f"127.0.0.1:{env['WEB_PORT']}/healthz" in check and "urllib" in check
