"""The log formatter redacts every token and secret, configured or simulated, and anything
shaped like a Slack token, in text and JSON lines and in tracebacks."""

from __future__ import annotations

import json
import logging

from catalog.settings import SIMULATOR_BOT_TOKEN, SIMULATOR_SIGNING_SECRET, Settings
from procure.observability import ContextFilter, JsonFormatter, RedactingFormatter, log_context, secrets_of

REAL_TOKEN = "xoxb-1234567890-abcdefghijkl"
REAL_SECRET = "8f14e45fceea167a5a36dedd4bea2543"


def _record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError(f"auth failed for {REAL_TOKEN}")
        except RuntimeError:
            import sys

            exc_info = sys.exc_info()
    record = logging.LogRecord("test", logging.INFO, __file__, 1, message, args, exc_info)
    ContextFilter().filter(record)
    return record


def test_configured_simulated_and_token_shaped_values_are_redacted() -> None:
    settings = Settings(slack_bot_token=REAL_TOKEN, slack_signing_secret=REAL_SECRET)
    secrets = secrets_of(settings)
    assert {REAL_TOKEN, REAL_SECRET, SIMULATOR_BOT_TOKEN, SIMULATOR_SIGNING_SECRET} <= set(secrets)
    message = "headers %s secret=%s sim=%s/%s other=xoxp-999999999-zzzz"
    args = (f"Bearer {REAL_TOKEN}", REAL_SECRET, SIMULATOR_BOT_TOKEN, SIMULATOR_SIGNING_SECRET)
    for formatter in (RedactingFormatter(secrets), JsonFormatter(secrets)):
        line = formatter.format(_record(message, *args, exc=True))
        for value in (REAL_TOKEN, REAL_SECRET, SIMULATOR_BOT_TOKEN, SIMULATOR_SIGNING_SECRET, "xoxp-999999999"):
            assert value not in line
        assert "[redacted]" in line and "RuntimeError" in line


def test_lines_carry_the_request_and_workflow_they_concern() -> None:
    formatter = JsonFormatter([])
    with log_context(request_id="REQ-ABCDEFGH"):
        entry = json.loads(formatter.format(_record("approve clicked")))
    assert entry["request_id"] == "REQ-ABCDEFGH" and entry["workflow_id"] == "request-REQ-ABCDEFGH"
    mentioned = json.loads(formatter.format(_record("request %s submitted", "REQ-ZZZZ2345")))
    assert mentioned["request_id"] == "REQ-ZZZZ2345"
    plain = RedactingFormatter([]).format(_record("approve %s", "REQ-ABCDEFGH"))
    assert plain.endswith("request_id=REQ-ABCDEFGH workflow_id=request-REQ-ABCDEFGH")
    assert "request_id" not in json.loads(formatter.format(_record("nothing to say")))
