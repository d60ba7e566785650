"""The patch ids of the request workflow, oldest first, and what each guards.

A workflow started before a patch replays the old path; one started since takes the new one.
Each old path is kept in `workflows/request/replay_only.py` until no running workflow can need
it (README, "Retiring old workflow code paths")."""

from __future__ import annotations

#: Workflows started before reuse first existed replay without it (see README, "Changing
#: workflow code"); new ones run it between the check and the approval.
REUSE_FIRST_PATCH = "reuse-first"
#: Workflows started before the policy-driven approval chain existed keep their single
#: manager step on replay; new ones plan the route from policy.yaml (see README).
APPROVAL_CHAIN_PATCH = "approval-chain"
#: Workflows started before it run every activity through the task queue on replay; new ones
#: run the activities that only read and write the database (and look people up in Slack) as
#: local activities, in the workflow task that needs them (see docs/decisions.md, 16).
LOCAL_ACTIVITIES_PATCH = "local-db-activities"
#: Workflows started before it close a request with three activities on replay (the deciding
#: step's record on the queue, the outcome locally, the announcement on the queue); new ones
#: with one, `close_chain`, on the queue (see docs/decisions.md, 21).
CLOSING_PATCH = "one-closing-activity"
#: Workflows started before it check the patches above one by one, where each applies: a
#: marker and a search-attribute upsert each, four per request, all of them true for every
#: workflow started since. Workflows started since check this one patch, first, and take
#: every new path above without asking again (see docs/decisions.md, 23).
ALL_PATCHES_V6 = "all-patches-v6"
#: The umbrella now, standing for every patch above and for the paths it guards itself:
#: a stage is opened by one activity (`open_chain_stage`: each message posted and updated
#: once), not one activity per step. Workflows started before it keep `ALL_PATCHES_V6`.
ALL_PATCHES_V7 = "all-patches-v7"
#: Workflows started before it carry an approval over from any earlier round on replay; new
#: ones only from the round just before, at no lower cost, with the same cost center and
#: channel (see docs/decisions.md, 24). A workflow started since `ALL_PATCHES_PATCH` takes
#: this path without asking.
CARRY_OVER_PATCH = "carry-over-previous-round"
#: The umbrella now, standing for every patch above and for the paths it guards itself: the
#: route is checked against the policy and the budget again as each stage after the first
#: opens (`recheck_route`) and under the closing transaction's lock (`ChainClosing.recheck`);
#: steps the policy now asks for are added, never skipped (docs/decisions.md, "The route is
#: checked again"). Workflows started before it keep `ALL_PATCHES_V7` or older.
ALL_PATCHES_PATCH = "all-patches-v8"
