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


def _signed_post(host: str, body: str) -> bytes:
    """The bytes of one signed POST to /slack/events, as Slack sends it."""
    payload = body.encode()
    headers = {
        "Host": host,
        "Content-Type": "application/x-www-form-urlencoded",
        "Content-Length": str(len(payload)),
        **slack_signature_headers(body, SIMULATOR_SIGNING_SECRET),
    }
    head = "POST /slack/events HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + b"\r\n" + payload


async def _exchange(connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], request: bytes) -> float:
    """Send one request on a kept-alive connection; milliseconds until its whole answer is in."""
    reader, writer = connection
    started = time.perf_counter()
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    elapsed = (time.perf_counter() - started) * 1000
    if not head.startswith(b"HTTP/1.1 200"):
        raise AssertionError(head.decode(errors="replace"))
    return elapsed


async def _measure(bot_url: str, *, floor: bool = False) -> list[float]:
    """Timings of signed /request commands, `CONCURRENCY` at once, round after round with no
    pause (so the work each ack deferred is still running when the next round arrives); with
    `floor`, of GETs of /healthz the same way: what answering any request costs here (client,
    HTTP server, two shared cores), which no ack can beat.

    The client is a plain socket per concurrent request with every request built (and signed)
    before the clock starts: an HTTP client library in the same loop adds its own queueing to
    every figure (httpx put /healthz at a p99 of 120–180 ms; this client, at about 10 ms)."""
    url = urllib.parse.urlsplit(bot_url)
    host = url.netloc

    def request(n: int) -> bytes:
        return f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode() if floor else _signed_post(host, _command(n))

    connections = [await asyncio.open_connection(url.hostname, url.port) for _ in range(CONCURRENCY)]
    timings: list[float] = []
    try:
        await asyncio.gather(*(_exchange(connections[n], request(n)) for n in range(WARMUP)))
        for round_ in range(ROUNDS):
            requests = [request(round_ * CONCURRENCY + n) for n in range(CONCURRENCY)]
            timings += await asyncio.gather(*(_exchange(c, r) for c, r in zip(connections, requests, strict=True)))
    finally:
        for _, writer in connections:
            writer.close()
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
