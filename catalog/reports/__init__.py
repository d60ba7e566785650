"""Read models for the ITAM and finance console: pure SQL reads that take a session, an
`as_of` and filters, and return typed dataclasses. They write nothing except the stored
renewal plans they refresh (`catalog.repository.renewal_plans`); the rules they apply
(budget, renewal calendar, idle seats) are the ones in `catalog.rules`."""
