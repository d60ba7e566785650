"""Approval policy as versioned data: which roles approve a request, why, and who they are.

This module names the policy's public API; the code lives in `policy_model` (the values),
`policy_reader` (YAML to `Policy`), `policy_evaluate` (the route) and `policy_people` (its
approvers). `from catalog.rules.policy import X` works for every name in `__all__`.

Pure: ``load_policy`` turns the YAML text of ``catalog/data/policy.yaml`` (format documented at
the top of that file) into a ``Policy``; ``evaluate`` decides a request's route from plain
values; ``resolve_route`` picks the people for that route from a directory snapshot. Loading
and the database live in ``catalog/routing.py``.

A policy's ``version`` is the first 12 hex digits of the SHA-256 of its text, so every decision
can name exactly the rules it was made under.

Evaluation order: ``reject`` rules (first match wins, no approval at all), then ``auto_approve``
rules (ignored when the request exceeds its budget: exceptions always need approval), then every
matching step. Stages run in order, steps of one stage in parallel; the decision renumbers the
stages that remain 1, 2, … so a route never has gaps.
"""

from catalog.rules import policy_evaluate, policy_model, policy_people, policy_reader
from catalog.rules.policy_evaluate import *  # noqa: F403
from catalog.rules.policy_model import *  # noqa: F403
from catalog.rules.policy_people import *  # noqa: F403
from catalog.rules.policy_reader import *  # noqa: F403

__all__ = policy_model.__all__ + policy_reader.__all__ + policy_evaluate.__all__ + policy_people.__all__
