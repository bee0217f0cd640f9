"""The state machine's state names, as the console shows them (statemachine/deployment.asl.json).

The guardian and the CLI read an execution's history by these names; a unit test ties them to the
definition, so a state renamed there fails here first.
"""

from __future__ import annotations

PUBLISH = "Validate and publish the new version"
ANY_TRAFFIC = "Is there traffic to shift?"
# Before any traffic: each function checked by its qualifier and through its stage aliases.
VERIFY_MAP = "Verify the new version"
VERIFY = "Verify one function"
# Each step: a Map over the release's functions, one task per function.
SHIFT_MAP = "Shift traffic to the new version"
SHIFT = "Shift one function"
STEP_BEGINS = "Let the step begin"
BAKE = "Let the new version bake"
CHECK = "Check the new version's health"
DECIDE = "What next?"
ASK = "Ask an operator"
ANSWERED = "Did the operator approve?"
PROMOTE_MAP = "Promote the new version"
PROMOTE = "Promote one function"
ROLLBACK_MAP = "Roll back to the old version"
ROLLBACK = "Roll back one function"
EXPLAIN_REJECTION = "Explain the rejection"
# The ends.
PROMOTED = "Promoted"
ALREADY_RELEASED = "Already released"
ROLLED_BACK = "Rolled back"
ROLLBACK_FAILED = "Rollback failed"
REJECTED = "Release rejected"
# Explaining the rejection failed too: the task's error as reported, or renamed if Step Functions' own.
REJECTED_AS_REPORTED = "Release rejected as reported"
REJECTED_WITH_TASK_ERROR = "Release rejected with the task's error"
REJECTED_BY_STEP_FUNCTIONS = "Release rejected by Step Functions"

ALL = frozenset({PUBLISH, ANY_TRAFFIC, VERIFY_MAP, VERIFY, SHIFT_MAP, SHIFT, STEP_BEGINS, BAKE, CHECK, DECIDE, ASK,
                 ANSWERED, PROMOTE_MAP, PROMOTE, ROLLBACK_MAP, ROLLBACK, EXPLAIN_REJECTION, PROMOTED,
                 ALREADY_RELEASED, ROLLED_BACK, ROLLBACK_FAILED, REJECTED, REJECTED_AS_REPORTED,
                 REJECTED_WITH_TASK_ERROR, REJECTED_BY_STEP_FUNCTIONS})
