"""Approval policy (being split: see policy_reader.py, the module this was)."""

from catalog.rules.policy_reader import *  # noqa: F403
from catalog.rules.policy_reader import __all__ as __all__
