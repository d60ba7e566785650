"""End-to-end latency of the real stack (`procure dev`: Temporal dev server, worker, bot,
simulator): time to ready, request → approver DM, approve → requester DM.

Requests are driven through the simulator exactly as a person would: /request, submit the
modal, answer reuse first ("Buy more seats": every Figma seat is taken in the demo data),
then the manager clicks Approve."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bot import ids
from bot.payloads import parse_step_value
from procure.testing import dev_stack

REQUESTS = 20
EMPLOYEE, MANAGER = "U0EMPLOYEE", "U0MANAGER"
FIGMA = {"text": {"type": "plain_text", "text": "Figma"}, "value": "figma"}
DIRECT = {"text": {"type": "plain_text", "text": "Direct"}, "value": "direct"}


def _wait(check: Any, within: float = 20.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.005)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(requests: int = REQUESTS) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        dev_stack(Path(tmp)) as stack,
        httpx.Client(base_url=stack.simulator_url, timeout=30) as sim,
    ):

        def state(user: str) -> dict[str, Any]:
            return sim.get("/sim/state", params={"user": user}).json()

        def buttons(user: str, action_id: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
            """(message, button) for each `action_id` button in `user`'s DM with the bot."""
            dm = state(user)["dm"]
            for message in dm["messages"] if dm else []:
                for block in message.get("blocks") or []:
                    for element in block.get("elements", []):
                        if element.get("action_id") == action_id:
                            yield message, element

        def approvals() -> dict[str, dict[str, Any]]:
            return {parse_step_value(button["value"])[0]: message for message, button in buttons(MANAGER, ids.APPROVE)}

        def buy_offers() -> dict[str, dict[str, Any]]:
            """Reuse-first offers still open (figma is full: "Buy more seats"), by message ts."""
            return {message["ts"]: message for message, _ in buttons(EMPLOYEE, ids.REUSE_BUY)}

        to_offer: list[float] = []
        to_dm: list[float] = []
        to_requester: list[float] = []
        for n in range(requests):
            # One seat each: every purchase adds one seat and assigns it, so Figma stays full and
            # each request takes the "Buy more seats" path (more would leave spare seats to reuse).
            sim.post("/sim/command", json={"user": EMPLOYEE, "text": "/request figma 1 seat"})
            modal = _wait(lambda: (state(EMPLOYEE)["modals"] or [None])[-1])
            seen = set(approvals())
            started = time.monotonic()
            sim.post(
                "/sim/submit",
                json={
                    "user": EMPLOYEE,
                    "view_id": modal["id"],
                    "values": {
                        ids.B_PRODUCT: {ids.A_PRODUCT: {"type": "static_select", "selected_option": FIGMA}},
                        ids.B_SEATS: {ids.A_SEATS: {"type": "number_input", "value": "1"}},
                        ids.B_CHANNEL: {ids.A_CHANNEL: {"type": "static_select", "selected_option": DIRECT}},
                        ids.B_JUSTIFICATION: {ids.A_JUSTIFICATION: {"type": "plain_text_input", "value": f"bench {n}"}},
                    },
                },
            )
            offer_ts = _wait(lambda: list(buy_offers()))[0]
            to_offer.append((time.monotonic() - started) * 1000)
            sim.post("/sim/action", json={"user": EMPLOYEE, "message_ts": offer_ts, "action_id": ids.REUSE_BUY})
            new = _wait(lambda seen=seen: [k for k in approvals() if k not in seen])
            to_dm.append((time.monotonic() - started) * 1000)
            request_id = new[0]
            message = approvals()[request_id]
            clicked = time.monotonic()
            sim.post("/sim/action", json={"user": MANAGER, "message_ts": message["ts"], "action_id": ids.APPROVE})
            _wait(
                lambda rid=request_id: any(
                    f"request {rid} for" in (m["text"] or "") and "was approved" in (m["text"] or "")
                    for m in state(EMPLOYEE)["dm"]["messages"]
                )
            )
            to_requester.append((time.monotonic() - clicked) * 1000)
        return {
            "dev_ready_s": round(stack.ready_seconds, 2),
            "request_to_reuse_offer_p50_ms": round(statistics.median(to_offer), 1),
            "request_to_approver_dm_p50_ms": round(statistics.median(to_dm), 1),
            "request_to_approver_dm_p95_ms": round(_pct(to_dm, 0.95), 1),
            "approve_to_requester_dm_p50_ms": round(statistics.median(to_requester), 1),
            "approve_to_requester_dm_p95_ms": round(_pct(to_requester, 0.95), 1),
        }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:36} {value}")
