"""``bluegreen local up``: the embedded AWS as a server on 127.0.0.1 that lasts across commands.

moto's server mode, in the process that holds the local run: this project's template deployed with every stand-in
(the handlers, Lambda's rules, IAM, the metric model), the example application with ``--example``. The CLI's
``--local`` commands, and the AWS CLI (``--endpoint-url``), reach it over HTTP. What AWS does by itself and moto
does not, the server does: it emits an execution's status change when one ends ABORTED, TIMED_OUT or FAILED
(the abort guardian's trigger), and the example's callers call its alias while a release runs (not in between:
an idle server burns no CPU).

Run as ``python -m bluegreen.local.server --state FILE [--port N] [--example]``; it writes FILE (JSON: endpoint,
pid, the state machine and table) once it serves, and removes it when it stops (SIGTERM or SIGINT).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from bluegreen.local import execution
from bluegreen.local.app_stack import alias_behind_route, deploy_app, redeploy
from bluegreen.local.stack import REGION, LocalStack, project_root, running_stack
from bluegreen.local.traffic import TrafficSimulator, behaviour

EXAMPLE_FUNCTION = "orders-api"
ENDED = ("ABORTED", "TIMED_OUT", "FAILED")
# The example's callers while a release runs, calls per second of the compressed time: a quarter of the tests' rate,
# so that a server beside other work leaves them CPU (a step of 5 s at 10% still sees 2,500 new-version calls).
EXAMPLE_RATE = 5_000.0


class Server:
    """The local run served over HTTP until ``stop`` is set."""

    def __init__(self, stack: LocalStack, callers: tuple[str, str] | None) -> None:
        self.stack = stack
        self.callers = callers  # (function, alias) the example's callers call while a release runs
        self.stop = threading.Event()
        self._traffic: TrafficSimulator | None = None
        self._announced: set[str] = set()
        self._sfn: Any = boto3.client("stepfunctions", region_name=REGION)

    def watch(self) -> None:
        """Twice a second: callers on while an execution runs; each execution that ended unpromoted announced."""
        while not self.stop.wait(0.5):
            executions = [e for page in self._sfn.get_paginator("list_executions").paginate(
                stateMachineArn=self.stack.state_machine_arn) for e in page["executions"]]
            self._callers(any(e["status"] == "RUNNING" for e in executions))
            for ended in executions:
                if ended["status"] in ENDED and ended["executionArn"] not in self._announced:
                    self._announced.add(ended["executionArn"])
                    execution.announce_status_change(ended["executionArn"])
        self._callers(False)

    def _callers(self, on: bool) -> None:
        if self.callers is None or on == (self._traffic is not None):
            return
        if on:
            self._traffic = TrafficSimulator(*self.callers, rate=EXAMPLE_RATE)
            self._traffic.start()
        elif self._traffic is not None:
            self._traffic.stop()
            self._traffic = None


def serve(state_file: Path, port: int, example: bool) -> None:
    functions = EXAMPLE_FUNCTION if example else "orders-*"
    with running_stack({"ManagedFunctions": functions}) as stack:
        callers = None
        if example:
            app = deploy_app(stack.router, project_root(), environment=behaviour(0.0, 20.0))
            # New code on $LATEST, as the demo has it: a release publishes it (dev follows $LATEST).
            redeploy(app, stack.router, code="v2", environment=behaviour(0.0, 20.0))
            callers = (EXAMPLE_FUNCTION, alias_behind_route(app, "OrdersApi", "/orders"))
        # Announced here, as AWS emits them: the in-process announcements of the CLI are not needed.
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        bound = server._server.server_port if server._server else port  # moto exposes no getter for it
        running = Server(stack, callers)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: running.stop.set())
        state_file.parent.mkdir(parents=True, exist_ok=True)
        written = {"endpoint": f"http://127.0.0.1:{bound}", "pid": os.getpid(), "region": REGION,
                   "stateMachineArn": stack.state_machine_arn, "tableName": stack.tables["DeploymentsTable"],
                   "example": callers is not None, "startedAt": datetime.now(UTC).isoformat()}
        state_file.with_suffix(".tmp").write_text(json.dumps(written))
        state_file.with_suffix(".tmp").replace(state_file)  # whole or absent: a reader never sees half of it
        print(f"serving {written['endpoint']}", flush=True)
        try:
            running.watch()
        finally:
            state_file.unlink(missing_ok=True)
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bluegreen.local.server")
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--example", action="store_true")
    args = parser.parse_args(argv)
    serve(args.state, args.port, args.example)
    return 0


if __name__ == "__main__":
    sys.exit(main())
