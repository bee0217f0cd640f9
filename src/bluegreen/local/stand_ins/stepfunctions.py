"""Local stand-ins where moto's Step Functions interpreter differs from AWS: stops, the payload quota, and the
errors of Map iterations.

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

from moto.stepfunctions.parser.api import ExecutionStatus, HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
from moto.stepfunctions.parser.backend.execution import Execution
from moto.stepfunctions.parser.quotas import is_within_size_quota


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


# --- The 256 KiB payload quota --------------------------------------------------------------------------------
# "States.DataLimitExceeded: the output of a connector, or of a state, is larger than the payload size quota, or
# the input of a state is, after Parameters processing" and "States.ALL ... can't catch the States.DataLimitExceeded
# terminal error and Runtime error types" (Step Functions developer guide, "Handling errors"). moto checks a
# state's and a Lambda task's output, not a task's input after Parameters (or a Map's ItemSelector), and lets
# States.ALL catch the error: here the input is checked too, and neither error is caught by States.ALL.
UNCATCHABLE_BY_ALL = frozenset({StatesErrorNameType.StatesStatesDataLimitExceeded, StatesErrorNameType.StatesRuntime})


def _too_large(env: Environment, name: str) -> FailureEventException:
    error = StatesErrorNameType.StatesStatesDataLimitExceeded
    return FailureEventException(failure_event=FailureEvent(
        env=env, error_name=StatesErrorName(typ=error), event_type=HistoryEventType.TaskFailed,
        event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(  # type: ignore[typeddict-item]
            error=error.to_name(),
            cause=f"The state/task '{name}' provided parameters with a size exceeding the maximum number of bytes "
                  "service limit."))))


@contextmanager
def payload_limits_enforced() -> Iterator[None]:
    original_lambda = StateTaskLambda._eval_parameters
    original_service = StateTask._eval_parameters
    original_equals = ErrorEqualsDecl._eval_body

    def lambda_parameters(self: StateTaskLambda, env: Environment) -> dict[str, Any]:
        parameters: dict[str, Any] = original_lambda(self, env)
        if not is_within_size_quota(parameters["Payload"]):
            raise _too_large(env, self.name)
        return parameters

    def service_parameters(self: StateTask, env: Environment) -> dict[str, Any]:
        parameters: dict[str, Any] = original_service(self, env)
        if not is_within_size_quota(parameters):
            raise _too_large(env, self.name)
        return parameters

    def error_equals(self: ErrorEqualsDecl, env: Environment) -> None:
        error = env.stack[-1]
        original_equals(self, env)
        if isinstance(error, StatesErrorName) and error.typ in UNCATCHABLE_BY_ALL \
                and ErrorEqualsDecl._STATE_ALL_ERROR in self.error_names:
            env.stack[-1] = error in [e for e in self.error_names if e != ErrorEqualsDecl._STATE_ALL_ERROR]

    with mock.patch.object(StateTaskLambda, "_eval_parameters", lambda_parameters), \
            mock.patch.object(StateTask, "_eval_parameters", service_parameters), \
            mock.patch.object(ErrorEqualsDecl, "_eval_body", error_equals):
        yield


# --- An error of a Map iteration, as its Map's Retry and Catch see it -------------------------------------------
# In AWS a Map iteration's error reaches the Map state by its name, so a task timing out in an iteration is
# States.Timeout to the Map's Catch, which States.ALL catches. moto wraps every iteration error as a custom name,
# and refuses a "States." one: the execution then fails with States.Runtime (uncatchable), aliases still split.
_ITERATION_WORKER = "moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.iteration_worker"


def _iteration_error_name(error_name: str) -> ErrorName:
    if error_name.startswith("States."):
        return StatesErrorName.from_name(error_name)
    return CustomErrorName(error_name=error_name)


@contextmanager
def iteration_errors_keep_their_names() -> Iterator[None]:
    with mock.patch(f"{_ITERATION_WORKER}.CustomErrorName", _iteration_error_name):
        yield
