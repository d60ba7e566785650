"""Read models for the console and reports: what the pages show, computed with the rules in
`catalog.rules` (never a second copy of a rule)."""
