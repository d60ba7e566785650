"""Policy: not built yet (a placeholder the console's navigation can reach)."""

from __future__ import annotations

from web.pages import placeholder_router

router = placeholder_router("/policy", "Policy", register=False)
