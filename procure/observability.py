"""Logs and metrics of the bot and the worker.

Logs: every line carries the request id and workflow id when one is known (an activity's
workflow, a Slack payload's request), as `key=value` text or, with LOG_FORMAT=json, one JSON
object per line; tokens and signing secrets are redacted from both.

Metrics (Prometheus, the default registry): Slack Web API failed attempts (each one a retry
or an error), and, read from the database at scrape time by whichever process registers
`DatabaseCollector` (the bot), requests by status, pending approvals by role and approval
latency. The worker also exports Temporal's own SDK metrics (see procure/runtime.py). Each
process serves them on a port of its own bound to METRICS_HOST, apart from the bot's public
port."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from catalog.models import ApprovalStep, PurchaseRequest, StepStatus
from catalog.settings import SIMULATOR_BOT_TOKEN, SIMULATOR_SIGNING_SECRET, Settings

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
workflow_id_var: ContextVar[str | None] = ContextVar("workflow_id", default=None)

_REQUEST_ID = re.compile(r"\bREQ-[A-Z2-7]{8}\b")
#: Anything shaped like a Slack token, whatever settings say.
_SLACK_TOKEN = re.compile(r"\bxox[abpres]-[A-Za-z0-9-]{8,}|\bxapp-[A-Za-z0-9-]{8,}")


# --- log context -----------------------------------------------------------------------


@contextlib.contextmanager
def log_context(*, request_id: str | None = None, workflow_id: str | None = None) -> Iterator[None]:
    """Tag every log line written inside the block (and in tasks started from it)."""
    if request_id and not workflow_id:
        workflow_id = f"request-{request_id}"
    tokens = [request_id_var.set(request_id), workflow_id_var.set(workflow_id)]
    try:
        yield
    finally:
        workflow_id_var.reset(tokens[1])
        request_id_var.reset(tokens[0])


def _temporal_ids() -> tuple[str | None, str | None]:
    from temporalio import activity, workflow

    if activity.in_activity():
        workflow_id = activity.info().workflow_id
    elif workflow.in_workflow():
        workflow_id = workflow.info().workflow_id
    else:
        return None, None
    found = _REQUEST_ID.search(workflow_id or "")
    return (found.group(0) if found else None), workflow_id


class ContextFilter(logging.Filter):
    """Adds `request_id` and `workflow_id` to every record: from the log context, else from
    the running Temporal activity or workflow, else from a request id in the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id, workflow_id = request_id_var.get(), workflow_id_var.get()
        if workflow_id is None:
            request_id, workflow_id = _temporal_ids()
        if request_id is None:
            found = _REQUEST_ID.search(record.getMessage())
            request_id = found.group(0) if found else None
            if request_id and workflow_id is None:
                workflow_id = f"request-{request_id}"
        record.request_id = request_id
        record.workflow_id = workflow_id
        return True


# --- formatting and redaction ----------------------------------------------------------


def secrets_of(settings: Settings) -> list[str]:
    """Every value that must never be logged: configured secrets and the simulator's. (Not the
    `bot_token` / `signing_secret` properties: they refuse half-set credentials, and logging
    is set up before the entry point says why.)"""
    values = [
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        SIMULATOR_BOT_TOKEN,
        SIMULATOR_SIGNING_SECRET,
    ]
    return sorted({v for v in values if v and len(v) >= 6}, key=len, reverse=True)


class RedactingFormatter(logging.Formatter):
    """`key=value` text with the log context appended; secrets replaced by `[redacted]`."""

    def __init__(self, secrets: Iterable[str], fmt: str | None = None) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._secrets = list(secrets)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return _SLACK_TOKEN.sub("[redacted]", text)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = [f"{key}={value}" for key in ("request_id", "workflow_id") if (value := getattr(record, key, None))]
        return self.redact(text + (" " + " ".join(extra) if extra else ""))


class JsonFormatter(RedactingFormatter):
    """One JSON object per line (LOG_FORMAT=json), for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "workflow_id"):
            if value := getattr(record, key, None):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(entry, ensure_ascii=False, default=str))


def configure_logging(settings: Settings, *, level: str = "INFO", log_format: str = "text") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    secrets = secrets_of(settings)
    handler.setFormatter(JsonFormatter(secrets) if log_format.lower() == "json" else RedactingFormatter(secrets))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


# --- Slack: context from payloads, failed Web API attempts ----------------------------


def request_id_in(body: dict[str, Any]) -> str | None:
    """The request a Slack payload is about: a button's value or a modal's metadata."""
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        found = _REQUEST_ID.search(str(actions[0].get("value") or ""))
        if found:
            return found.group(0)
    view = body.get("view")
    if isinstance(view, dict):
        found = _REQUEST_ID.search(str(view.get("private_metadata") or ""))
        if found:
            return found.group(0)
    return None


async def slack_log_context(body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:
    """Bolt global middleware: the listener (and the tasks it starts) log with the request id."""
    with log_context(request_id=request_id_in(body)):
        return await next()


SLACK_API_FAILED_ATTEMPTS = Counter(
    "procure_slack_api_failed_attempts",
    "Slack Web API attempts that failed (rate limited, server error, connection error); "
    "slack_sdk retries them up to its limit",
    ["method", "reason"],
)


class CountingRetryHandler(AsyncRetryHandler):
    """Put first among a client's retry handlers: it counts every failed attempt and leaves
    the decision to retry to the handlers after it."""

    def __init__(self) -> None:
        super().__init__(max_retry_count=0)

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = request.url.rstrip("/").rsplit("/", 1)[-1]
        if error is not None:
            reason = type(error).__name__
        elif response is not None and response.status_code == 429:
            reason = "rate_limited"
        elif response is not None and response.status_code >= 500:
            reason = f"http_{response.status_code}"
        else:
            return False
        SLACK_API_FAILED_ATTEMPTS.labels(method=method, reason=reason).inc()
        return False


# --- the database at scrape time -------------------------------------------------------

LATENCY_BUCKETS = (60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 86400.0, 3 * 86400.0, 7 * 86400.0, 14 * 86400.0)
LATENCY_WINDOW = timedelta(days=30)


class DatabaseCollector(Collector):
    """Gauges read from the database when Prometheus scrapes: the same figures whichever
    replica answers, and nothing lost on restart."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily | HistogramMetricFamily]:
        started = time.monotonic()
        requests = GaugeMetricFamily("procure_requests", "Purchase requests by status (outcome)", labels=["status"])
        pending = GaugeMetricFamily("procure_pending_approvals", "Open approval steps by role", labels=["role"])
        with Session(self._engine) as session:
            for status, count in session.exec(
                select(PurchaseRequest.status, func.count()).group_by(col(PurchaseRequest.status))
            ).all():
                requests.add_metric([str(status)], float(count))
            for role, count in session.exec(
                select(ApprovalStep.role, func.count())
                .where(ApprovalStep.status == StepStatus.PENDING)
                .group_by(col(ApprovalStep.role))
            ).all():
                pending.add_metric([str(role)], float(count))
            since = datetime.now(UTC) - LATENCY_WINDOW
            decided = session.exec(
                select(PurchaseRequest.created_at, PurchaseRequest.decided_at).where(
                    col(PurchaseRequest.decided_at).is_not(None), col(PurchaseRequest.decided_at) >= since
                )
            ).all()
        yield requests
        yield pending
        latencies = [(d - c).total_seconds() for c, d in decided if c is not None and d is not None]
        buckets = [(str(b), float(sum(1 for x in latencies if x <= b))) for b in LATENCY_BUCKETS]
        buckets.append(("+Inf", float(len(latencies))))
        yield HistogramMetricFamily(
            "procure_approval_latency_seconds",
            f"Submission to decision of requests decided in the last {LATENCY_WINDOW.days} days",
            buckets=buckets,
            sum_value=sum(latencies),
        )
        scrape = GaugeMetricFamily("procure_metrics_db_scrape_seconds", "Time spent reading these figures")
        scrape.add_metric([], time.monotonic() - started)
        yield scrape


# --- serving -----------------------------------------------------------------------------


def start_worker_metrics(settings: Settings) -> int | None:
    """Serve the worker's /metrics on WORKER_METRICS_PORT (0: off). A port already taken is
    logged, not fatal: a worker without metrics beats no worker."""
    server = _start_metrics("worker", settings.worker_metrics_port, settings.metrics_host)
    return settings.worker_metrics_port if server is not None else None


def start_bot_metrics(settings: Settings) -> WSGIServer | None:
    """Serve the bot's /metrics on BOT_METRICS_PORT (0: off), bound to METRICS_HOST: never on
    the public BOT_PORT, which faces Slack and so the internet. A thread serves it, so a
    scrape's database reads never hold up an ack; a port already taken is logged, not fatal."""
    return _start_metrics("bot", settings.bot_metrics_port, settings.metrics_host)


def _start_metrics(process: str, port: int, host: str) -> WSGIServer | None:
    from prometheus_client import start_http_server

    if not port:
        return None
    try:
        server, _ = start_http_server(port, addr=host)
    except OSError as exc:
        logging.getLogger("procure").warning("%s metrics not served: port %d unavailable (%s)", process, port, exc)
        return None
    return server


def temporal_runtime(settings: Settings) -> Any:
    """A temporalio Runtime exporting the SDK's own metrics (task latencies, poll failures,
    sticky cache) for Prometheus on TEMPORAL_METRICS_PORT; None (the default runtime) when 0
    or the port is taken."""
    from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

    if not settings.temporal_metrics_port:
        return None
    address = f"{settings.metrics_host}:{settings.temporal_metrics_port}"
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))
    except Exception as exc:  # the core runtime reports a taken port as a generic error
        logging.getLogger("procure").warning("Temporal SDK metrics not exported on %s (%s)", address, exc)
        return None


def register_database_metrics(engine: Engine) -> None:
    """Register the database gauges once per process (the bot's)."""
    from prometheus_client import REGISTRY

    global _database_collector
    if _database_collector is None:
        _database_collector = DatabaseCollector(engine)
        REGISTRY.register(_database_collector)


_database_collector: DatabaseCollector | None = None
