"""The orchestrator's configuration: its functions' environment variables, read in one place.

In Lambda the environment is the process's, fixed for the container's life. The embedded local run
serves every function of the stack in one process, on many threads at once (moto runs executions and
Map iterations in threads), so it hands each handler call its function's environment through a
context variable instead of changing ``os.environ``, which every thread shares.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

MANAGED_FUNCTIONS = "MANAGED_FUNCTIONS"
DEPLOYMENTS_TABLE = "DEPLOYMENTS_TABLE"
EVENT_BUS_NAME = "EVENT_BUS_NAME"
CONTROL_PLANE_CALLS_PER_SECOND = "CONTROL_PLANE_CALLS_PER_SECOND"
VERIFICATION_HOOKS = "VERIFICATION_HOOKS"
METRIC_DELAY_SECONDS = "METRIC_DELAY_SECONDS"
# The resolution of AWS/Lambda's metrics and of standard-resolution custom ones: CloudWatch reads them in periods
# of whole minutes only. (The local run compresses minutes into seconds: its stand-in sets 1.)
STANDARD_RESOLUTION_SECONDS = "STANDARD_RESOLUTION_SECONDS"
DEFAULT_STANDARD_RESOLUTION_SECONDS = 60
DEFAULT_CALLS_PER_SECOND = 10.0
# AWS's one-minute metrics are typically readable about 2 minutes late (alarms have been seen 4-9 minutes late):
# 3 minutes, unless the stack (MetricDelaySeconds) or the input (health.metricDelaySeconds) says otherwise.
DEFAULT_METRIC_DELAY_SECONDS = 180

_PROVIDED: ContextVar[Mapping[str, str] | None] = ContextVar("bluegreen_environment", default=None)


def environment() -> Mapping[str, str]:
    """The environment variables of the function this call runs in."""
    return _PROVIDED.get() or os.environ


@contextmanager
def provided(variables: Mapping[str, str]) -> Iterator[None]:
    """``variables`` as this context's environment while the block runs (this thread only)."""
    token = _PROVIDED.set(variables)
    try:
        yield
    finally:
        _PROVIDED.reset(token)


@dataclass(frozen=True)
class Settings:
    managed_functions: tuple[str, ...]
    deployments_table: str
    event_bus_name: str
    control_plane_calls_per_second: float
    # The functions a release may invoke as verification hooks (template parameter VerificationHooks).
    verification_hooks: tuple[str, ...] = ()
    # How late AWS/Lambda metrics are readable, unless an input says (template parameter MetricDelaySeconds).
    metric_delay_seconds: int = DEFAULT_METRIC_DELAY_SECONDS
    standard_resolution_seconds: int = DEFAULT_STANDARD_RESOLUTION_SECONDS

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Settings:
        try:
            rate = float(env.get(CONTROL_PLANE_CALLS_PER_SECOND, DEFAULT_CALLS_PER_SECOND))
        except ValueError:
            rate = DEFAULT_CALLS_PER_SECOND
        return cls(
            managed_functions=tuple(p.strip() for p in env.get(MANAGED_FUNCTIONS, "").split(",") if p.strip()),
            deployments_table=env.get(DEPLOYMENTS_TABLE, ""),
            event_bus_name=env.get(EVENT_BUS_NAME, "default"),
            control_plane_calls_per_second=rate if rate > 0 else DEFAULT_CALLS_PER_SECOND,
            verification_hooks=tuple(h.strip() for h in env.get(VERIFICATION_HOOKS, "").split(",") if h.strip()),
            metric_delay_seconds=_whole(env.get(METRIC_DELAY_SECONDS), DEFAULT_METRIC_DELAY_SECONDS),
            standard_resolution_seconds=max(1, _whole(env.get(STANDARD_RESOLUTION_SECONDS),
                                                      DEFAULT_STANDARD_RESOLUTION_SECONDS)),
        )


def _whole(value: str | None, default: int) -> int:
    try:
        return max(0, int(value)) if value is not None else default
    except ValueError:
        return default


def current() -> Settings:
    """The settings of this call (a handful of variables: parsed each time, never cached process-wide)."""
    return Settings.from_environment(environment())


def table_name() -> str:
    name = current().deployments_table
    if not name:
        raise RuntimeError(f"{DEPLOYMENTS_TABLE} is not set: the deployments table is unknown")
    return name
