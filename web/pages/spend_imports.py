"""Upload of the exports discovery reads, from `/discovered` (`POST /discovered/upload`) and the
API (`POST /api/v1/spend-imports`, multipart): a card, AP or FOCUS spend export, or an SSO
sign-in export. The file is parsed and written by `catalog.importers.exports`, as `procure
spend import` and `procure usage import` do: all or nothing, idempotent, every problem with
its line number. ITAM, FinOps and admins may upload."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, HTTPException, Request
from fastapi import UploadFile as UploadedFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from catalog.db import transaction
from catalog.importers.exports import EXPORT_KINDS, ap_currency, apply_export, parse_export
from catalog.importers.rows import ImportFileError
from catalog.importers.spend_card import CARD_COLUMNS, load_presets
from web.access import Viewer, may_see_register, may_upload_spend
from web.deps import ApiViewer, Console, PageViewer, console, require

router = APIRouter()

#: Bigger exports go through `procure spend import` (a million card lines is ~80 MB).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@dataclass
class UploadAnswer:
    ok: bool
    message: str
    problems: list[str] = field(default_factory=list)  # "file:line N: …", as the CLI prints them
    errors: dict[str, str] = field(default_factory=dict)  # a form field → what is wrong with it
    imported: int = 0


def upload_form_context() -> dict[str, Any]:
    """What the upload form offers: the kinds of file and the card column-map presets."""
    return {"export_kinds": EXPORT_KINDS, "card_presets": sorted(load_presets())}


def parse_column_map(text: str) -> tuple[dict[str, str], str | None]:
    """`merchant=Description` lines (or `;`-separated) → overrides, or what is wrong."""
    found: dict[str, str] = {}
    for item in (p.strip() for chunk in text.splitlines() for p in chunk.split(";")):
        if not item:
            continue
        column, sep, header = item.partition("=")
        if not sep or not column.strip() or not header.strip():
            return {}, f"{item!r}: write column=Header, e.g. merchant=Description"
        if column.strip() not in CARD_COLUMNS:
            return {}, f"{column.strip()!r} is not a card column ({', '.join(CARD_COLUMNS)})"
        found[column.strip()] = header.strip()
    return found, None


def _apply(
    c: Console, viewer: Viewer, kind: str, filename: str, text: str, preset: str, overrides: dict[str, str]
) -> UploadAnswer:
    parsed = parse_export(kind, text, filename=filename, today=c.today(), preset=preset or None, overrides=overrides)
    if parsed.problems:
        return _refused(filename, [str(p) for p in sorted(parsed.problems, key=lambda p: p.line)])
    ap = ap_currency(c.settings.fiscal_year_start_month)[0] if kind == "ap" else None
    try:
        with transaction(c.engine) as session:
            summary = apply_export(session, parsed, actor=viewer.email, at=datetime.now(UTC), ap=ap)
    except ImportFileError as error:
        return _refused(filename, [str(p) for p in error.problems])
    message = f"imported {len(parsed.rows)} {parsed.what} from {filename}: {summary}"
    return UploadAnswer(True, message, imported=len(parsed.rows))


def _refused(filename: str, problems: list[str]) -> UploadAnswer:
    count = len(problems)
    return UploadAnswer(
        False,
        f"{count} problem{'' if count == 1 else 's'} in {filename}; nothing was imported",
        [f"{filename}:{p}" for p in problems],
    )


async def upload(c: Console, viewer: Viewer, form: Any) -> UploadAnswer:
    """Check the form, then import the file in one transaction (nothing written on any problem)."""
    if not may_upload_spend(viewer):
        raise HTTPException(403, "only ITAM, FinOps and admins may upload exports")
    kind = str(form.get("kind") or "").strip()
    preset = str(form.get("map_preset") or "").strip()
    errors: dict[str, str] = {}
    if kind not in EXPORT_KINDS:
        errors["kind"] = f"Pick the kind of file: {', '.join(EXPORT_KINDS)}."
    if preset and preset not in load_presets():
        errors["map_preset"] = f"No column map {preset!r}."
    overrides, problem = parse_column_map(str(form.get("column_map") or ""))
    if problem:
        errors["column_map"] = problem
    if (preset or overrides) and kind != "card":
        errors["map_preset" if preset else "column_map"] = "Column maps are for card exports only."
    file = form.get("file")
    content = b""
    if not isinstance(file, UploadFile) or not file.filename:
        errors["file"] = "Choose a file (CSV)."
    else:
        content = await file.read(MAX_UPLOAD_BYTES + 1)
        if len(content) > MAX_UPLOAD_BYTES:
            errors["file"] = (
                f"Larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB: import it with `procure spend import`."
            )
        elif not content.strip():
            errors["file"] = "The file is empty."
    if errors:
        return UploadAnswer(False, "Nothing was imported; see the fields marked.", errors=errors)
    assert isinstance(file, UploadFile) and file.filename
    filename = file.filename.replace("\\", "/").rsplit("/", 1)[-1][:200]
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return UploadAnswer(
            False, "Nothing was imported.", errors={"file": "Not UTF-8 text: save the export as CSV UTF-8."}
        )
    return await run_in_threadpool(_apply, c, viewer, kind, filename, text, preset, overrides)


@router.post("/discovered/upload", include_in_schema=False)
async def upload_page(request: Request, viewer: PageViewer) -> Response:
    require(may_see_register(viewer), "discovered products")
    c = console(request)
    form = await request.form()
    answer = await upload(c, viewer, form)
    if answer.ok:
        notice = f"{answer.message}. Run discovery (`procure discover run`, or wait for the daily run) to see it here."
        return RedirectResponse("/discovered?" + urlencode({"notice": notice}), status_code=303)
    from web.pages.discovered import render_list

    values = {k: str(form.get(k) or "") for k in ("kind", "map_preset", "column_map")}
    return await render_list(request, viewer, upload=answer, upload_values=values, status_code=422)


@router.post("/api/v1/spend-imports", tags=["discovery"])
async def upload_api(
    request: Request,
    viewer: ApiViewer,
    file: UploadedFile | None = File(None, description="The export, CSV (UTF-8)."),  # noqa: B008
    kind: str = Form("", description="card, ap, focus or sso."),
    map_preset: str = Form("", description="card: a shipped column map (amex, brex, ramp, …)."),
    column_map: str = Form("", description="card: column=Header lines, e.g. merchant=Description."),
) -> dict[str, Any]:
    """Import one export as `procure spend import` / `procure usage import` do: all or nothing
    and idempotent (ITAM, FinOps and admin). 422 lists every problem with its line number
    (`problems`) or names the form field that is wrong (`errors`)."""
    form = {"file": file, "kind": kind, "map_preset": map_preset, "column_map": column_map}
    answer = await upload(console(request), viewer, form)
    if not answer.ok:
        raise HTTPException(422, {"message": answer.message, "problems": answer.problems, "errors": answer.errors})
    return {"ok": True, "message": answer.message, "imported": answer.imported}
