"""The local AWS that lasts across commands (``bluegreen local up``): started as a process of its own, found again by
its state file, and used by ``--local`` commands through ``AWS_ENDPOINT_URL``.

The state file (``BLUEGREEN_LOCAL_STATE``, default ``.bluegreen/local.json`` in the working directory) holds the
endpoint, the server's pid, the state machine and the table; the server writes it once it serves and removes it
when it stops. A file whose process is gone is stale: removed when read.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bluegreen.cli.local_run import local_run

STATE_ENV = "BLUEGREEN_LOCAL_STATE"
DEFAULT_STATE = Path(".bluegreen") / "local.json"
# The embedded AWS's fake credentials: moto accepts any.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


class LocalServerError(Exception):
    """The local AWS could not do what it was asked; the message says why, ``exit_code`` is the command's."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Served:
    endpoint: str
    pid: int
    region: str
    state_machine_arn: str
    table_name: str
    example: bool
    started_at: str
    inbox: str  # where `bluegreen local create` leaves its requests for the server


def state_file() -> Path:
    return Path(os.environ.get(STATE_ENV) or DEFAULT_STATE)


def log_file() -> Path:
    return state_file().with_suffix(".log")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running() -> Served | None:
    """The local AWS serving now, if any (a stale state file is removed)."""
    path = state_file()
    try:
        raw = json.loads(path.read_text())
        served = Served(raw["endpoint"], int(raw["pid"]), raw["region"], raw["stateMachineArn"], raw["tableName"],
                        bool(raw["example"]), raw["startedAt"], raw.get("inbox", ""))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        path.unlink(missing_ok=True)
        return None
    if not _alive(served.pid):
        path.unlink(missing_ok=True)
        return None
    return served


@contextmanager
def starting() -> Iterator[None]:
    """One command at a time checks for and starts the local AWS (two --local commands at once would start two,
    each removing the other's state file): an exclusive lock on a file beside the state file."""
    path = state_file().with_suffix(".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def up(example: bool, port: int, timeout: float = 180.0) -> Served:
    """Start the server and wait until it serves; LocalServerError with its log's last lines if it does not."""
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    argv = local_run().server_argv(path, port, example)
    with log_file().open("w") as log:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # lasts after this command; Ctrl-C here does not stop it
    deadline = time.monotonic() + timeout
    while (served := running()) is None:
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.terminate()
            tail = log_file().read_text().strip().splitlines()[-3:]
            raise LocalServerError("the local AWS did not start" + (f": {' / '.join(tail)}" if tail else "") +
                                   f" (its log: {log_file()})")
        time.sleep(0.2)
    return served


def down(timeout: float = 30.0) -> Served | None:
    """Stop the server (SIGTERM, then SIGKILL after ``timeout``); what ran, or None."""
    served = running()
    if served is None:
        return None
    os.kill(served.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(served.pid):
        if time.monotonic() > deadline:
            os.kill(served.pid, signal.SIGKILL)
            break
        time.sleep(0.1)
    state_file().unlink(missing_ok=True)
    return served


def use(served: Served) -> None:
    """This process's AWS calls go to the local AWS (a CLI command's own process, before it calls anything)."""
    os.environ.update({"AWS_ENDPOINT_URL": served.endpoint, "AWS_REGION": served.region,
                       "AWS_DEFAULT_REGION": served.region, **CREDENTIALS})


def create(served: Served, execution_input: dict[str, Any], timeout: float = 180.0) -> dict[str, Any]:
    """Ask the server to create what ``execution_input`` names; its answer ({"created", "existing", "alarms"}), or
    LocalServerError with the server's reason."""
    if not served.inbox:
        raise LocalServerError("the local AWS running was started by an older bluegreen: bluegreen local down, then "
                               "bluegreen local up")
    inbox = Path(served.inbox)
    ticket = uuid.uuid4().hex
    asked = inbox / f"{ticket}.tmp"
    try:
        asked.write_text(json.dumps(execution_input))
        asked.replace(inbox / f"{ticket}.json")  # whole or absent: the server never reads half of it
    except OSError as exc:
        raise LocalServerError(f"cannot reach the local AWS's inbox ({exc.strerror or exc}): is it stopping?") from None
    done = inbox / f"{ticket}.done"
    deadline = time.monotonic() + timeout
    while not done.exists():
        if not _alive(served.pid):
            raise LocalServerError(f"the local AWS stopped (its log: {log_file()})")
        if time.monotonic() > deadline:
            raise LocalServerError(f"the local AWS did not answer within {timeout:g} s (its log: {log_file()})")
        time.sleep(0.2)
    answer: dict[str, Any] = json.loads(done.read_text())
    done.unlink(missing_ok=True)
    if "error" in answer:
        raise LocalServerError(answer["error"], 2 if answer.get("invalid") else 1)
    return answer
