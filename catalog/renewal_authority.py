"""Who may renew at what cost (docs/decisions.md, "Renewal authority"): the names callers import
from here. The rules are `catalog.rules.renewal_authority` (pure); which renewal request of a
term still waits is a repository query (`catalog.repository.requests`)."""

from catalog.repository.requests import PENDING_STATUSES, pending_renewal_request
from catalog.rules.renewal_authority import (
    current_terms_text,
    needs_approval_refusal,
    pending_refusal,
    quote_renewal,
    quote_request,
    requested_seats,
    term_in_force,
    terms_text,
)

__all__ = [
    "PENDING_STATUSES",
    "current_terms_text",
    "needs_approval_refusal",
    "pending_refusal",
    "pending_renewal_request",
    "quote_renewal",
    "quote_request",
    "requested_seats",
    "term_in_force",
    "terms_text",
]
