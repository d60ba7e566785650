"""One edit of the asset register for every surface (`procure assets edit`, the web console):
the same validation and audit (`repository.edit_asset`), and a change of contract dates
re-arms the renewal reminders in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from catalog import repository
from catalog.repository.reminders import rearm_contract_reminders
from catalog.rules.renewals import HolidayCalendar


def edit_contract(
    session: Session,
    *,
    asset_id: int,
    values: dict[str, Any],
    actor: str,
    at: datetime,
    calendar: HolidayCalendar | None = None,
) -> repository.AssetChange:
    """Apply `values` (see `repository.edit_asset`); raises LookupError or AssetEditError."""
    change = repository.edit_asset(session, asset_id=asset_id, values=values, actor=actor, at=at)
    if change.contract_dates_changed:
        rearm_contract_reminders(session, contract_id=change.contract_id, at=at, calendar=calendar)
    return change
