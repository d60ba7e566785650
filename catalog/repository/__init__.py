"""Persistence functions (being split by domain: see requests.py, the module this was)."""

from catalog.repository.requests import *  # noqa: F403
from catalog.repository.requests import _insert_once  # noqa: F401
