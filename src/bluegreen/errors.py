"""Exceptions whose class names are the Step Functions error names.

The Lambda runtime reports an unhandled exception's class name as the error type, so a
Catch or a Fail state (and an operator reading the console) sees e.g. ``InvalidInput``.
"""


class BlueGreenError(Exception):
    """Base class: something a person can act on, said in one sentence."""


class InvalidInput(BlueGreenError):
    """The execution input cannot be released; nothing was changed."""


class AliasDrift(BlueGreenError):
    """The alias is not in the state this deployment last put it in: someone else changed it."""


class DeploymentInProgress(BlueGreenError):
    """Another execution is releasing to the same alias; nothing was changed."""


class TransientAwsError(BlueGreenError):
    """An AWS call failed in a way worth retrying (throttled, a service error, a conflicting update in
    progress, a timeout) after the SDK's own retries: the state machine's Retry tries the task again."""


class VerificationFailed(BlueGreenError):
    """A check of the new version failed (before traffic, at a stage, or after the promotion): the release
    rolls back every alias it moved."""


class InsufficientTraffic(BlueGreenError):
    """At the alias's recent traffic a healthy new version could not be proven healthy within maxBakeSeconds:
    the release is refused before anything changes, saying what first weight or bake would do."""


class VersionNotReady(BlueGreenError):
    """A new version did not become ready to take calls (Lambda's State Failed, or still Pending after
    readyTimeoutSeconds): the release is refused before any traffic moves; nothing was changed."""


class VersionStillPending(BlueGreenError):
    """A new version is still Pending when the publish task's time runs out: the state machine's Retry runs
    the task again, which waits on, until readyTimeoutSeconds."""
