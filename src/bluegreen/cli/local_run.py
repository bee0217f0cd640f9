"""The embedded local run as the CLI uses it (``--local`` and ``demo``). The local run (``bluegreen.local``, with the
'local' extra's moto) registers itself under the entry point group ``bluegreen.local_run``: the CLI names none of
its modules, and works against AWS without it."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

GROUP = "bluegreen.local_run"
MISSING = "the embedded local run needs the 'local' extra (moto, PyYAML, Powertools): pip install 'bluegreen[local]'"


class LocalRunMissing(Exception):
    """No local run is installed (or its extra's packages are not)."""


class LocalRun(Protocol):
    """What the CLI asks of the local run."""

    # The demo: SCENARIOS, DemoOptions, demo_strategy, run_demo, sample_release.
    demo: Any

    def active_stack(self) -> tuple[str, str] | None:
        """The stack running in this process, as (state machine ARN, deployments table name), if any."""

    def announce_status_change(self, execution_arn: str) -> None:
        """Emit the execution status change event AWS emits itself (the embedded AWS does not)."""

    def server_argv(self, state_file: Path, port: int, example: bool) -> list[str]:
        """The command that serves the local run over HTTP until stopped (``bluegreen local up``)."""


def local_run() -> LocalRun:
    """The registered local run; LocalRunMissing when none is installed."""
    for entry in entry_points(group=GROUP):
        try:
            loaded: LocalRun = entry.load()
        except ImportError:
            break
        return loaded
    raise LocalRunMissing(MISSING)
