"""Long-running entry points: the worker, the bot and the simulator. Only this package wires
catalog, workflows and bot together."""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import logging
import py_compile
import signal
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temporalio.client import Client

from catalog.db import make_engine
from catalog.settings import SIMULATOR_BOT_TOKEN, SIMULATOR_SIGNING_SECRET, Settings
from workflows.converter import DATA_CONVERTER

if TYPE_CHECKING:
    import aiohttp
    from slack_sdk.web.async_client import AsyncWebClient
    from sqlalchemy import Engine

    from bot.simulator.config import SimulatorConfig

log = logging.getLogger("procure")

REPO_ROOT = Path(__file__).resolve().parents[1]


def temporal_address(settings: Settings) -> str:
    return settings.temporal_address or f"127.0.0.1:{settings.temporal_port}"


async def connect_temporal(settings: Settings, *, attempts: int = 60, runtime: Any = None) -> Client:
    """Connect, waiting for a server that is still starting (compose, `procure dev`)."""
    address = temporal_address(settings)
    for attempt in range(1, attempts + 1):
        try:
            return await Client.connect(
                address, namespace=settings.temporal_namespace, runtime=runtime, data_converter=DATA_CONVERTER
            )
        except RuntimeError as exc:
            if attempt == attempts:
                raise
            log.info("Temporal at %s not reachable yet (%s); retrying", address, exc)
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


def freeze_startup_objects() -> None:
    """Take everything alive once a process has started (modules, the app and its listeners,
    the SDKs' tables: some 160,000 objects in the bot) out of the garbage collector's sight.

    They live as long as the process, yet every full collection walks them all: in the bot,
    during a burst of slash commands, that was a 110–130 ms pause in which no ack was sent.
    Frozen, the same collection took about 30 ms."""
    gc.collect()
    gc.freeze()


def write_workflow_bytecode(workflows: Iterable[type]) -> list[Path]:
    """Write the bytecode of the modules that define `workflows`, if it is missing or stale.

    The workflow sandbox imports those modules afresh for every workflow it starts, and an
    import without a `.pyc` compiles the source: in a checkout run with
    PYTHONDONTWRITEBYTECODE=1 (as here; the production image has its `.pyc` from pip) that
    was 16 % of the worker's CPU under load. Where the directory is read-only, nothing is
    written and the worker runs as before. Returns the files written."""
    written = []
    for source in sorted({str(sys.modules[w.__module__].__file__) for w in workflows}):
        cached = Path(importlib.util.cache_from_source(source))
        if _bytecode_is_current(cached, Path(source)):
            continue
        try:
            py_compile.compile(source, cfile=str(cached), doraise=True)
        except (OSError, py_compile.PyCompileError) as err:
            log.info("no bytecode written for %s (%s): the sandbox compiles it per workflow", source, err)
            continue
        written.append(cached)
    return written


def _bytecode_is_current(cached: Path, source: Path) -> bool:
    """Whether the import system would take `cached` for `source`: its header (magic number,
    flags, source mtime and size) as importlib checks it."""
    try:
        header = cached.read_bytes()[:16]
    except OSError:
        return False
    stat = source.stat()
    expected = (
        importlib.util.MAGIC_NUMBER
        + (0).to_bytes(4, "little")
        + (int(stat.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
        + (stat.st_size & 0xFFFFFFFF).to_bytes(4, "little")
    )
    return header == expected


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def require_slack_settings(settings: Settings) -> None:
    """Refuse to start on half-set Slack credentials (say, a real bot token and no signing
    secret), saying what is missing, rather than fill the gap with the simulator's."""
    if problem := settings.slack_config_error():
        raise SystemExit(problem)


async def run_worker(settings: Settings) -> None:
    import aiohttp

    from bot.notifier import web_client
    from procure.observability import temporal_runtime

    require_slack_settings(settings)
    engine = make_engine(settings.effective_database_url)
    client = await connect_temporal(settings, runtime=temporal_runtime(settings))
    async with aiohttp.ClientSession() as session:
        slack = web_client(settings.bot_token, settings.api_url(), session=session)
        await _serve_worker(settings, engine, client, slack)


async def _serve_worker(settings: Settings, engine: Engine, client: Client, slack: AsyncWebClient) -> None:
    from temporalio.service import RPCError, RPCStatusCode

    from bot.notifier import SlackNotifier
    from procure.observability import CountingRetryHandler, start_worker_metrics
    from workflows.discovery import DiscoveryActivities, ensure_discovery_schedule
    from workflows.renewals.activities import RenewalActivities
    from workflows.renewals.client import ensure_renewal_schedules
    from workflows.request.activities.procurement import ProcurementActivities
    from workflows.worker import ALL_WORKFLOWS, build_worker

    slack.retry_handlers.insert(0, CountingRetryHandler())
    notifier = SlackNotifier(slack)
    if (port := start_worker_metrics(settings)) is not None:
        log.info("worker metrics on http://%s:%d/metrics", settings.metrics_host, port)
    renewals = RenewalActivities(
        engine,
        notifier,
        itam_channel=settings.itam_channel,
        calendar=settings.holiday_calendar(),
        timezone=settings.company_timezone,
    )
    write_workflow_bytecode(ALL_WORKFLOWS)
    worker = build_worker(
        client,
        task_queue=settings.temporal_task_queue,
        activities=ProcurementActivities(engine, notifier),
        renewal_activities=renewals,
        sandbox=settings.workflow_sandbox,
        discovery_activities=DiscoveryActivities(
            engine,
            notifier,
            itam_channel=settings.itam_channel,
            inactive_days=settings.reclaim_inactive_days,
        ),
    )
    try:
        schedules = await ensure_renewal_schedules(
            client, task_queue=settings.temporal_task_queue, timezone=settings.company_timezone
        )
        schedules.append(
            await ensure_discovery_schedule(
                client, task_queue=settings.temporal_task_queue, timezone=settings.company_timezone
            )
        )
        log.info("renewal schedules ready: %s", ", ".join(schedules))
    except RPCError as err:
        if err.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        # Temporal's time-skipping test server (`procure dev --test-clock`) has no schedules.
        log.warning("this Temporal server has no schedules: run `procure renewals scan --as-of DAY` by hand")
    stop = asyncio.Event()
    _stop_on_signals(stop)
    freeze_startup_objects()
    log.info(
        "worker polling task queue %r on %s (workflow sandbox: %s)",
        settings.temporal_task_queue,
        temporal_address(settings),
        settings.workflow_sandbox,
    )
    async with worker:
        await stop.wait()
    log.info("worker stopped")


async def run_bot(settings: Settings) -> None:
    import aiohttp

    require_slack_settings(settings)
    async with aiohttp.ClientSession() as session:
        await _serve_bot(settings, session)


async def _serve_bot(settings: Settings, session: aiohttp.ClientSession) -> None:
    import uvicorn

    from bot.app import build_app
    from bot.deps import BotDeps
    from bot.server import build_http_app, serve_socket_mode
    from procure.observability import (
        CountingRetryHandler,
        register_database_metrics,
        slack_log_context,
        start_bot_metrics,
    )
    from workflows.request.client import ProcurementClient

    engine = make_engine(settings.effective_database_url)
    client = await connect_temporal(settings)
    deps = BotDeps(
        settings=settings, engine=engine, procurement=ProcurementClient(client, task_queue=settings.temporal_task_queue)
    )
    app = build_app(deps, session=session)
    app.client.retry_handlers.insert(0, CountingRetryHandler())
    app.use(slack_log_context)
    register_database_metrics(engine)
    if start_bot_metrics(settings) is not None:
        log.info("bot metrics on http://%s:%d/metrics", settings.metrics_host, settings.bot_metrics_port)
    server = uvicorn.Server(
        uvicorn.Config(
            build_http_app(app, deps),
            host=settings.bot_host,
            port=settings.bot_port,
            log_level="warning",
            access_log=False,
        )
    )
    await deps.warm()
    freeze_startup_objects()
    # In the background: a slow Slack must not hold up the bot's start.
    checking = asyncio.create_task(warn_about_itam_channel(app.client, settings.itam_channel))
    tasks = [asyncio.create_task(server.serve())]
    if settings.slack_app_token:
        tasks.append(asyncio.create_task(serve_socket_mode(app, settings.slack_app_token)))
        log.info("bot connected to Slack over Socket Mode")
    log.info("bot listening on http://%s:%d/slack/events", settings.bot_host, settings.bot_port)
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    checking.cancel()
    for task in pending:
        task.cancel()
    for task in done:
        task.result()


async def warn_about_itam_channel(client: AsyncWebClient, channel: str) -> str | None:
    """Log (and return) a warning when the bot cannot post in the ITAM channel, where renewal
    reminders and the weekly digest go (bot/channel_check.py)."""
    from bot.channel_check import itam_channel_problem

    try:
        problem = await itam_channel_problem(client, channel)
    except Exception:
        log.exception("could not check ITAM_CHANNEL %s", channel)
        return None
    if problem:
        log.warning("%s", problem)
    else:
        log.info("ITAM_CHANNEL %s: the bot can post there", channel)
    return problem


def itam_channel_warning(settings: Settings) -> str | None:
    """What is wrong with the ITAM channel, from synchronous code (`procure dev` prints it; the
    bot's own start-up logs it)."""
    import aiohttp

    from bot.channel_check import itam_channel_problem
    from bot.notifier import web_client

    async def check() -> str | None:
        async with aiohttp.ClientSession() as session:
            client = web_client(settings.bot_token, settings.api_url(), session=session)
            return await itam_channel_problem(client, settings.itam_channel)

    try:
        return asyncio.run(check())
    except Exception as exc:  # a check that cannot run must not stop `procure dev`
        return f"ITAM_CHANNEL {settings.itam_channel} could not be checked ({type(exc).__name__})"


def simulator_users(settings: Settings) -> list[tuple[str, str, str]]:
    """(slack id, name, email) of everyone in the directory who has a Slack id."""
    from sqlmodel import col, select

    from catalog.db import transaction
    from catalog.models import Person

    engine = make_engine(settings.effective_database_url)
    with transaction(engine) as session:
        people = session.exec(select(Person).where(col(Person.slack_id).is_not(None)).order_by(col(Person.name))).all()
        return [(str(p.slack_id), p.name, p.email) for p in people]


def simulator_config(settings: Settings) -> SimulatorConfig:
    """The local Slack workspace of `procure dev`: everyone in the directory with a Slack id,
    and the page opening as the demo's first requester."""
    import os

    from bot.simulator.config import SimulatorConfig, SimUser
    from catalog.seed import demo_requester_email

    schema = Path(os.environ.get("SLACK_REFERENCE_DIR", REPO_ROOT.parent / "shared/reference/slack"))
    users = tuple(SimUser(id=sid, name=name, email=email) for sid, name, email in simulator_users(settings))
    requester = demo_requester_email()
    return SimulatorConfig(
        users=users,
        default_user_id=next((u.id for u in users if u.email.lower() == requester), None),
        bot_events_url=f"http://127.0.0.1:{settings.bot_port}/slack/events",
        signing_secret=SIMULATOR_SIGNING_SECRET,
        bot_token=SIMULATOR_BOT_TOKEN,
        schema_path=schema / "blockkit.schema.json",
    )


def run_simulator(settings: Settings) -> None:
    """The local Slack simulator, which signs with and accepts only its own public credentials:
    it refuses to run while real ones are set, so they can never reach it."""
    from bot.simulator.app import run_simulator as serve

    if settings.slack_bot_token or settings.slack_signing_secret or settings.slack_app_token:
        raise SystemExit(
            "The Slack simulator never runs with real Slack credentials: unset SLACK_BOT_TOKEN, "
            "SLACK_SIGNING_SECRET and SLACK_APP_TOKEN for it (`procure dev --simulator` does that for its children)."
        )

    serve(simulator_config(settings), "127.0.0.1", settings.simulator_port)
