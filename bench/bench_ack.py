"""How fast the bot acknowledges Slack: signed /request slash commands, 50 at a time, straight
to the bot of a real `procure dev` stack. Slack gives an app 3 s; the target is p99 < 50 ms.

Only the HTTP answer is timed: the modal the bot then opens (with a trigger id the simulator
never issued, so Slack's answer is an error) happens after the ack, as in production."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import urllib.parse
from pathlib import Path

import httpx

from bot.simulator.signing import slack_signature_headers
from catalog.settings import SIMULATOR_SIGNING_SECRET
from procure.testing import dev_stack

CONCURRENCY = 50
ROUNDS = 12
WARMUP = 20
QUIET = {"WORKER_METRICS_PORT": "0", "TEMPORAL_METRICS_PORT": "0"}


def _command(n: int) -> str:
    return urllib.parse.urlencode(
        {
            "token": "verification_token",
            "team_id": "T0LOCAL",
            "team_domain": "local",
            "channel_id": "D0BENCH",
            "channel_name": "directmessage",
            "user_id": "U0EMPLOYEE",
            "user_name": "employee",
            "command": "/request",
            "text": f"zoom {n % 9 + 1} seats",
            "response_url": "http://127.0.0.1:9/none",
            "trigger_id": f"{n}.{n}.bench",
        }
    )


async def _measure(bot_url: str, *, floor: bool = False) -> list[float]:
    """Timings of signed /request commands; with `floor`, of the same number of GETs of
    /healthz at the same concurrency from the same client: what answering any request costs
    here (client, HTTP server, two shared cores), which no ack can beat."""
    timings: list[float] = []
    async with httpx.AsyncClient(base_url=bot_url, timeout=10, trust_env=False) as client:

        async def one(n: int, record: bool) -> None:
            body = _command(n)
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                **slack_signature_headers(body, SIMULATOR_SIGNING_SECRET),
            }
            started = time.perf_counter()
            if floor:
                response = await client.get("/healthz")
            else:
                response = await client.post("/slack/events", content=body, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.text
            if record:
                timings.append(elapsed)

        await asyncio.gather(*(one(n, False) for n in range(WARMUP)))
        for round_ in range(ROUNDS):
            await asyncio.gather(*(one(round_ * CONCURRENCY + n, True) for n in range(CONCURRENCY)))
    return timings


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, dev_stack(Path(tmp), extra_env=QUIET) as stack:
        floor = asyncio.run(_measure(stack.bot_url, floor=True))
        timings = asyncio.run(_measure(stack.bot_url))
    cuts = statistics.quantiles(timings, n=100, method="inclusive")
    floor_cuts = statistics.quantiles(floor, n=100, method="inclusive")
    return {
        "ack_p50_ms": round(cuts[49], 1),
        "ack_p99_ms": round(cuts[98], 1),
        "ack_max_ms": round(max(timings), 1),
        "ack_floor_p50_ms": round(floor_cuts[49], 1),
        "ack_floor_p99_ms": round(floor_cuts[98], 1),
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:36} {value}")
