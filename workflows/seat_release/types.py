"""What the seat release workflow passes around (plain dataclasses, as Temporal payloads)."""

from __future__ import annotations

from dataclasses import dataclass

#: A business refusal (no such seat, holder not on Slack): not retried.
SEAT_RELEASE_REJECTED = "SeatReleaseRejected"
#: A click that does not count (not the holder, already answered, closed).
SEAT_RELEASE_NOT_ALLOWED = "SeatReleaseNotAllowed"
#: What the holder answered, or `ANSWER_TIMEOUT` when nobody did in time.
ANSWER_RELEASE = "release"
ANSWER_KEEP = "keep"
ANSWER_TIMEOUT = "timeout"
#: Prefix of a release's id in messages and button values (`SEAT-12`), told apart from a request's.
RELEASE_ID_PREFIX = "SEAT-"


def release_id_for(seat_id: int) -> str:
    return f"{RELEASE_ID_PREFIX}{seat_id}"


def workflow_id_for(seat_id: int) -> str:
    """One running release per seat: asking twice while it runs is the same ask."""
    return f"seat-release-{seat_id}"


def seat_id_of(release_id: str) -> int | None:
    """The seat of a release id (`SEAT-12` → 12); None when it is a request's id."""
    if not release_id.startswith(RELEASE_ID_PREFIX):
        return None
    digits = release_id[len(RELEASE_ID_PREFIX) :]
    return int(digits) if digits.isdigit() else None


@dataclass
class SeatReleaseInput:
    seat_id: int
    asked_by: str  # the console user's email (ITAM or admin)
    answer_business_days: int


@dataclass
class SeatReleaseAsk:
    """Who holds the seat and until when they may answer (found before the DM goes out, so the
    workflow is open for the answer as soon as it arrives)."""

    seat_id: int
    run_id: str
    product_id: str
    holder_email: str
    holder_slack_id: str
    answer_by: str  # ISO timestamp: after it the seat stays as it is
    answer_business_days: int
    asked_by: str


@dataclass
class SeatReleaseAnswer:
    actor_slack_id: str
    release: bool


@dataclass
class SeatReleaseSettlement:
    ask: SeatReleaseAsk
    answer: str  # ANSWER_RELEASE, ANSWER_KEEP or ANSWER_TIMEOUT
    at: str


@dataclass
class SeatReleaseResult:
    seat_id: int
    answer: str
    freed: bool
