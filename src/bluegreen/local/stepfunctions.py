"""Local stand-in where moto's Step Functions interpreter differs from AWS.

In AWS a stopped execution is ABORTED, whatever its states do afterwards. In moto, a Map iteration
that sees the stop reports an error (and trips over its own error details), and that error replaces
the stop: the execution ends FAILED. Here an error reported after the stop leaves it stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped


@contextmanager
def stops_stay_aborted() -> Iterator[None]:
    original = Environment.set_error

    def set_error(self: Environment, error: Any) -> None:
        if isinstance(self.program_state(), ProgramStopped):
            return
        original(self, error)

    with mock.patch.object(Environment, "set_error", set_error):
        yield
