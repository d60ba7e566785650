"""Only the developer's own tools may drive the simulator, not a web page they happen to have open.

The `/sim/*` endpoints act as any person in the workspace, with no login: that is the point
of a local simulator. What keeps other sites out:

- **Content type.** A POST to `/sim/*` must say `application/json`. A page on another site
  can send a cross-origin POST without asking first only as a "simple" request (`text/plain`,
  a form encoding); a JSON one needs a CORS preflight, which the simulator never grants.
- **Origin.** A request whose `Origin` header names another origin is refused, whatever its
  path or method (the Web API under `/api/` included). Browsers send `Origin` with every
  cross-origin request and every POST; the simulator's own page is same-origin; scripts, tests
  and the bot send none, and a request without one is let through.
- **Host.** The `Host` must be a loopback name (`127.0.0.1`, `localhost`, `::1`), which is
  where `procure simulator` listens. Otherwise a site could re-point its own name at 127.0.0.1
  (DNS rebinding) and be "same-origin" with the simulator.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
JSON = "application/json"


def refusal(request: Request) -> tuple[int, str] | None:
    """(HTTP status, reason) when the request must not reach the simulator, else None."""
    host = request.url.hostname or ""
    if host not in LOOPBACK_HOSTS:
        return 403, f"the simulator answers only on a loopback address (127.0.0.1, localhost), not {host!r}"
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None and origin != own:
        return 403, f"cross-origin request refused: Origin {origin!r} is not the simulator's {own!r}"
    if request.method == "POST" and request.url.path.startswith("/sim/"):
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != JSON:
            return 415, f"the simulator's /sim/ endpoints take {JSON}, not {media_type or 'no content type'!r}"
    return None


class LocalOnly:
    """ASGI middleware: answers a refused request itself, with `{"ok": false, "error": …}`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (refused := refusal(Request(scope))):
            status, reason = refused
            await JSONResponse({"ok": False, "error": reason}, status_code=status)(scope, receive, send)
            return
        await self.app(scope, receive, send)
