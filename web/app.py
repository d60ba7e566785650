"""Wiring only: the console's FastAPI app from its page routers, and a way to serve it.

Each area of the console is one module in `web/pages/` exposing `router`, with its HTML
page(s) and their JSON twins under `/api/v1/…` (OpenAPI at `/api/openapi.json`)."""

from __future__ import annotations

import importlib
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import Engine

from catalog.db import make_engine
from catalog.settings import Settings, get_settings
from web import auth
from web.deps import Console, SignInRequired, make_templates, render

STATIC = Path(__file__).parent / "static"
#: The page modules in `web/pages/`, each with a `router`.
PAGE_MODULES = (
    "overview",
    "requests",
    "assets",
    "renewals",
    "budgets",
    "commitments",
    "seats",
    "seat_release",
    "discovered",
    "spend_imports",
    "catalog",
    "policy",
    "me",
)


def session_secret(settings: Settings) -> str:
    """WEB_SESSION_SECRET, or a random key kept in DATA_DIR (made once, readable by us only),
    so sessions survive a restart and replicas sharing DATA_DIR agree."""
    if settings.web_session_secret:
        return settings.web_session_secret
    path = settings.data_dir / "web_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _temporal_factory(settings: Settings) -> Callable[[], Awaitable[Any]]:
    async def connect() -> Any:
        from procure.runtime import temporal_address
        from workflows.request.client import ProcurementClient

        return await ProcurementClient.connect(
            temporal_address(settings), namespace=settings.temporal_namespace, task_queue=settings.temporal_task_queue
        )

    return connect


def create_app(settings: Settings | None = None, *, engine: Engine | None = None, temporal: Any = None) -> FastAPI:
    """The console. `engine` and `temporal` (a `ProcurementClient`) are made from `settings`
    when not given; Temporal is connected on first use."""
    settings = settings or get_settings()
    app = FastAPI(
        title="Procure console API",
        version="1",
        openapi_url="/api/openapi.json",
        docs_url=None,  # Swagger UI would load from a CDN; the console works offline
        redoc_url=None,
    )
    templates = make_templates()
    console = Console(
        settings=settings,
        engine=engine or make_engine(settings.effective_database_url),
        serializer=URLSafeTimedSerializer(session_secret(settings)),
        templates=templates,
        temporal_factory=(lambda: _ready(temporal)) if temporal is not None else _temporal_factory(settings),
    )
    templates.env.globals["local"] = console.local
    templates.env.globals["company_timezone"] = settings.company_timezone
    app.state.console = console

    app.include_router(auth.router)
    for name in PAGE_MODULES:
        module = importlib.import_module(f"web.pages.{name}")
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse("/auth/login?" + urlencode({"next": exc.next_path}), status_code=303)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        viewer = getattr(request.state, "viewer", None)
        return render(request, "error.html", viewer, status_code=exc.status_code, detail=exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _bad_input(request: Request, exc: RequestValidationError) -> Response:
        """A query value a page cannot take (`/seats?days=0` typed in its form): the error page
        naming the field, not FastAPI's JSON; the API keeps its 422 JSON."""
        if request.url.path.startswith("/api/"):
            return await request_validation_exception_handler(request, exc)
        viewer = getattr(request.state, "viewer", None)
        return render(request, "error.html", viewer, status_code=422, detail=_bad_input_text(exc))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, bool]:
        return {"ok": True}

    return app


def _bad_input_text(exc: RequestValidationError) -> str:
    """FastAPI's validation errors as one line a person reads: "days: input should be … (not '0')"."""
    parts = []
    for error in exc.errors():
        name = str(error.get("loc", ("", "value"))[-1])
        message = str(error.get("msg", "is not valid"))
        sent = error.get("input")
        shown = f" (not {sent!r})" if isinstance(sent, str) else ""
        parts.append(f"{name}: {message[:1].lower()}{message[1:]}{shown}")
    return "; ".join(parts) or "a value of this page's address is not valid"


async def _ready(value: Any) -> Any:
    return value


def run_console(settings: Settings) -> None:
    """Serve the console until interrupted (what `procure web` runs)."""
    import uvicorn

    uvicorn.run(create_app(settings), host=settings.web_host, port=settings.web_port, log_level="info")
