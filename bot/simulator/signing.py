"""Slack's v0 request signature, computed over the exact bytes that go on the wire."""

from __future__ import annotations

import hashlib
import hmac
import time


def slack_signature(body: str | bytes, secret: str, timestamp: int) -> str:
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode() + b":" + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slack_signature_headers(body: str | bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """`X-Slack-Request-Timestamp` and `X-Slack-Signature` for one request body.

    Sign the bytes you send: re-serialising JSON after signing breaks the signature.
    """
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": slack_signature(body, secret, ts),
    }
