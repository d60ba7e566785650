"""Policy (`/policy`, `/api/v1/policy`): the approval policy in force, its earlier versions
with what changed, and an "explain" form that shows the route a hypothetical request would
take: the same `explain_request` as `procure policy explain` (it starts and writes nothing).

Everyone signed in reads the policy; the explain form shows budget lines and approvers, so it
is for the roles that see costs (web/access.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from catalog.db import transaction
from catalog.policy_versions import PolicyText, policy_diff, policy_history
from catalog.rules.policy import CLASSIFICATIONS, PolicyError, default_policy_path, load_policy
from catalog.rules.requests import CHANNELS
from web.access import may_see_register
from web.deps import ApiViewer, Console, PageViewer, console, render, require
from workflows.request.explain import REQUEST_KEYS, ExplainInputError, explain_request

router = APIRouter()
#: The explain form's fields: request.json's keys (as `procure policy explain` reads them) but
#: the vendor, the estimate (the form's is annual_cost) and the separate-contract flag.
EXPLAIN_FIELDS = REQUEST_KEYS - {"vendor", "estimate", "separate_contract"}


def _policy_text(c: Console) -> str:
    path = c.settings.policy_file or default_policy_path()
    return path.read_text(encoding="utf-8")


def history(c: Console) -> list[PolicyText]:
    text = _policy_text(c)
    with transaction(c.engine, read_only=True) as session:
        return policy_history(session, current_text=text)


def explain(c: Console, raw: dict[str, Any], on: date) -> dict[str, Any]:
    """Raises ExplainInputError (bad request) or PolicyError (the policy in force is broken)."""
    policy = load_policy(_policy_text(c))
    with transaction(c.engine, read_only=True) as session:
        return explain_request(
            session, policy=policy, raw=raw, on=on, fiscal_year_start_month=c.settings.fiscal_year_start_month
        )


def _form_request(values: dict[str, str]) -> dict[str, Any]:
    raw: dict[str, Any] = {k: v.strip() for k, v in values.items() if k in EXPLAIN_FIELDS and v.strip()}
    if "seats" in raw:
        seats = raw["seats"]
        try:  # a negative or zero count is a whole number: the request rules say what is wrong with it
            raw["seats"] = int(seats)
        except ValueError:
            raise ExplainInputError(f"seats must be a whole number, not {seats!r}") from None
    return raw


def _history_view(versions: list[PolicyText], compare: str | None) -> dict[str, Any]:
    """The versions, and the one to compare the policy in force with (the asked one, else the
    previous) with what changed since."""
    older = next((v for v in versions if v.version == compare), versions[1] if len(versions) > 1 else None)
    diff = policy_diff(older, versions[0]) if older is not None and older is not versions[0] else []
    return {"versions": versions, "older": older, "diff": diff}


async def _explain_view(c: Console, params: dict[str, str], *, allowed: bool) -> dict[str, Any]:
    """The explain form as filled in, and its result or the problem that stopped it (run only
    when `allowed`: it shows budget lines and approvers, for the roles that see costs)."""
    result: dict[str, Any] | None = None
    problem = ""
    if params.get("explain") and allowed:
        try:
            result = await run_in_threadpool(explain, c, _form_request(params), c.today())
        except ExplainInputError as error:
            problem = str(error).removeprefix("request.json: ")
        except PolicyError as error:
            problem = f"the policy in force has problems: {error}"
    return {"form": params, "result": result, "problem": problem}


@router.get("/policy", response_class=HTMLResponse, include_in_schema=False)
async def policy_page(request: Request, viewer: PageViewer) -> Response:
    c = console(request)
    versions = await run_in_threadpool(history, c)
    params = dict(request.query_params)
    explained = await _explain_view(c, params, allowed=may_see_register(viewer))
    return render(
        request,
        "policy.html",
        viewer,
        **_history_view(versions, params.get("compare")),
        **explained,
        channels=CHANNELS,
        classifications=CLASSIFICATIONS,
    )


@router.get("/api/v1/policy", tags=["policy"])
async def policy_api(request: Request, viewer: ApiViewer) -> dict[str, Any]:
    """The policy in force and the earlier versions decisions were made under, newest first,
    each with its full text."""
    versions = await run_in_threadpool(history, console(request))
    return {
        "versions": [
            {
                "version": v.version,
                "in_force": v.in_force,
                "first_seen": v.first_seen.isoformat() if v.first_seen else None,
                "text": v.text,
            }
            for v in versions
        ]
    }


@router.post("/api/v1/policy/explain", tags=["policy"])
async def explain_api(
    request: Request,
    viewer: ApiViewer,
    body: dict[str, Any] = Body(  # noqa: B008 - FastAPI's way to declare a JSON body
        ..., examples=[{"requester": "erin@example.com", "product": "figma", "seats": 3}]
    ),
) -> dict[str, Any]:
    """What `procure policy explain --json` prints for this request.json, as of today: the
    outcome, the route with approvers and reasons, the budget line and any drawdown."""
    require(may_see_register(viewer), "the explain form")
    c = console(request)
    try:
        return await run_in_threadpool(explain, c, body, c.today())
    except ExplainInputError as error:
        raise HTTPException(422, str(error)) from None
    except PolicyError as error:
        raise HTTPException(500, f"the policy in force has problems: {error}") from None
