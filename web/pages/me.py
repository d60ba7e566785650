"""Who am I: the signed-in person (or the owner of the Bearer token) and what the matrix lets them see."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from web.access import describe, visible_pages
from web.deps import ApiViewer

router = APIRouter()


@router.get("/api/v1/me", tags=["me"])
async def me(viewer: ApiViewer) -> dict[str, Any]:
    """The viewer's email, name, Slack id, roles and the pages they may open."""
    return {**describe(viewer), "pages": [page.path for page in visible_pages(viewer)]}
