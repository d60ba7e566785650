"""Read models for the ITAM and finance console: pure SQL reads that take a session, an
`as_of` and filters, and return typed dataclasses. They write nothing, except the stored
renewal plans when these do not answer for `as_of` yet (`renewal_plans.ensure_plans`: a
contract changed or added, or a rollover before the daily scan); the rules they apply
(budget, renewal calendar, idle seats) are the ones in `catalog.rules`."""
