"""What the local run gives the CLI (``bluegreen.cli.local_run``), registered in pyproject.toml under the entry point
group ``bluegreen.local_run``: the CLI reaches the local run only through this object."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

from bluegreen.local import demo as local_demo
from bluegreen.local import execution, stack


class EmbeddedRun:
    demo: ModuleType = local_demo

    def active_stack(self) -> tuple[str, str] | None:
        running = stack.active_stack()
        return (running.state_machine_arn, running.tables["DeploymentsTable"]) if running else None

    def announce_status_change(self, execution_arn: str) -> None:
        execution.announce_status_change(execution_arn)

    def server_argv(self, state_file: Path, port: int, example: bool) -> list[str]:
        return [sys.executable, "-m", "bluegreen.local.server", "--state", str(state_file), "--port", str(port),
                *(["--example"] if example else [])]


LOCAL_RUN = EmbeddedRun()
