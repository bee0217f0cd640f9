"""Local stand-in where moto's Step Functions interpreter differs from AWS.

In AWS a stopped execution is ABORTED at once, whatever its states still do (a Lambda task in flight
runs on, its result unused). In moto, the status stays RUNNING until the interpreter's thread ends
(until that Lambda call returns), and a Map iteration that sees the stop reports an error that replaces
the stop: the execution ends FAILED. Here the stop is the status at once, and an error reported after
it leaves it stopped.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
from moto.stepfunctions.parser.backend.execution import Execution


@contextmanager
def stops_stay_aborted() -> Iterator[None]:
    original_set_error = Environment.set_error
    original_stop = Execution.stop

    def set_error(self: Environment, error: Any) -> None:
        if isinstance(self.program_state(), ProgramStopped):
            return
        original_set_error(self, error)

    def stop(self: Execution, stop_date: datetime.datetime, error: str | None, cause: str | None) -> None:
        original_stop(self, stop_date, error, cause)
        if self.exec_status == ExecutionStatus.RUNNING:
            self.exec_status = ExecutionStatus.ABORTED
            self.stop_date = stop_date

    with mock.patch.object(Environment, "set_error", set_error), mock.patch.object(Execution, "stop", stop):
        yield
