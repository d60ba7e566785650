"""Generated demo data at scale (`procure demo generate`): a company of tens of thousands of
people, contracts and requests, for the console, the App Home and `make bench`."""

from catalog.demo.generate import DemoError, DemoSize, DemoSummary, existing_rows, generate, reset

__all__ = ["DemoError", "DemoSize", "DemoSummary", "existing_rows", "generate", "reset"]
