"""Signed HTTP requests from the simulated Slack to the app's Request URL."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from bot.simulator.config import SimulatorConfig
from bot.simulator.payloads import WireBody
from bot.simulator.signing import slack_signature_headers

USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


@dataclass(frozen=True)
class Delivery:
    """What the app answered. `status` is None when it did not answer within the ack timeout
    (`error = "operation_timeout"`) or could not be reached (`error = "dispatch_failed"`)."""

    status: int | None
    body: str
    content_type: str
    elapsed: float
    error: str | None = None

    @property
    def acked(self) -> bool:
        return self.status == 200


class BotDelivery:
    def __init__(self, config: SimulatorConfig) -> None:
        self._config = config
        self._client: httpx.AsyncClient | None = None

    async def send(
        self, wire: WireBody, *, retry_num: int | None = None, retry_reason: str = "http_timeout"
    ) -> Delivery:
        headers = {"Content-Type": wire.content_type, "User-Agent": USER_AGENT}
        headers.update(slack_signature_headers(wire.body, self._config.signing_secret))
        if retry_num:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        if self._client is None:
            # trust_env=False: a proxy configured in the environment must not swallow 127.0.0.1.
            self._client = httpx.AsyncClient(timeout=self._config.ack_timeout, trust_env=False)
        started = time.monotonic()
        try:
            response = await self._client.post(self._config.bot_events_url, content=wire.body.encode(), headers=headers)
        except httpx.TimeoutException:
            return Delivery(None, "", "", time.monotonic() - started, "operation_timeout")
        except httpx.HTTPError as exc:
            return Delivery(None, "", "", time.monotonic() - started, f"dispatch_failed: {exc!r}")
        return Delivery(
            response.status_code,
            response.text,
            response.headers.get("content-type", ""),
            time.monotonic() - started,
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
