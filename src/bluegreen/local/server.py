"""``bluegreen local up``: the embedded AWS as a server on 127.0.0.1 that lasts across commands.

moto's server mode, in the process that holds the local run: this project's template deployed with every stand-in
(the handlers, Lambda's rules, IAM, the metric model), the example application with ``--example``. The CLI's
``--local`` commands, and the AWS CLI (``--endpoint-url``), reach it over HTTP. What AWS does by itself and moto
does not, the server does: it emits an execution's status change when one ends ABORTED, TIMED_OUT or FAILED
(the abort guardian's trigger), and the callers of the example's alias (and of those ``bluegreen local create``
made) call while a release runs (not in between: an idle server burns no CPU).

``bluegreen local create FILE`` asks it, through a directory beside the state file (the inbox: ``<ticket>.json`` in,
``<ticket>.done`` out), to create what an input names: a function the local AWS lacks is otherwise an error there,
as in AWS.

Run as ``python -m bluegreen.local.server --state FILE [--port N] [--example]``; it writes FILE (JSON: endpoint,
pid, the state machine and table) once it serves, and removes it when it stops (SIGTERM or SIGINT).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import threading
import traceback
from dataclasses import replace
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import boto3
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from bluegreen.contracts.request import parse_request
from bluegreen.errors import InvalidInput
from bluegreen.local import execution, sample_world
from bluegreen.local.app_stack import alias_behind_route, deploy_app, redeploy
from bluegreen.local.sample_world import SAMPLE_MANAGED as MANAGED
from bluegreen.local.sample_world import Callers
from bluegreen.local.stack import REGION, LocalStack, project_root, running_stack
from bluegreen.local.stand_ins.accounts import split_function_name
from bluegreen.local.traffic import TrafficSimulator, behaviour

EXAMPLE_FUNCTION = "orders-api"
ENDED = ("ABORTED", "TIMED_OUT", "FAILED")
# The example's callers while a release runs, calls per second of the compressed time: a quarter of the tests' rate,
# so that a server beside other work leaves them CPU (a step of 5 s at 10% still sees 2,500 new-version calls).
EXAMPLE_RATE = 5_000.0


class Server:
    """The local run served over HTTP until ``stop`` is set."""

    def __init__(self, stack: LocalStack, callers: list[Callers], inbox: Path) -> None:
        self.stack = stack
        self.inbox = inbox  # `bluegreen local create`'s requests, answered in order on a thread of their own
        self.stop = threading.Event()
        # Each alias's callers, calling while a release runs; shared with the inbox's thread, which adds to them.
        self._lock = threading.Lock()
        self._callers = list(callers)
        self._running: dict[int, TrafficSimulator] = {}  # by index in _callers
        self._on = False
        self._announced: set[str] = set()
        self._sfn: Any = boto3.client("stepfunctions", region_name=REGION)

    def watch(self) -> None:
        """Twice a second: callers on while an execution runs; each execution that ended unpromoted announced.
        The inbox meanwhile on its own thread (a create waits for metrics: announcements must not wait for it)."""
        threading.Thread(target=self._answer_inbox, name="inbox", daemon=True).start()
        while not self.stop.wait(0.5):
            executions = [e for page in self._sfn.get_paginator("list_executions").paginate(
                stateMachineArn=self.stack.state_machine_arn) for e in page["executions"]]
            self._calling(any(e["status"] == "RUNNING" for e in executions))
            for ended in executions:
                if ended["status"] in ENDED and ended["executionArn"] not in self._announced:
                    self._announced.add(ended["executionArn"])
                    execution.announce_status_change(ended["executionArn"])
        self._calling(False)

    def _calling(self, on: bool) -> None:
        """Every alias's callers calling (those added since included), or none."""
        with self._lock:
            self._on = on
            if not on:
                for traffic in self._running.values():
                    traffic.stop()
                self._running.clear()
                return
            for index, callers in enumerate(self._callers):
                if index not in self._running:
                    self._running[index] = callers.simulator()
                    self._running[index].start()

    def _answer_inbox(self) -> None:
        while not self.stop.wait(0.2):
            for request in sorted(self.inbox.glob("*.json")):
                claimed = request.with_suffix(".work")
                try:
                    request.rename(claimed)  # claimed once: never carried out twice
                except FileNotFoundError:
                    continue
                self._answer(claimed)

    def _answer(self, path: Path) -> None:
        """Create what an input names (``bluegreen local create``); the answer beside it, as ``<ticket>.done``."""
        try:
            answer = self.create(json.loads(path.read_text()))
        except (InvalidInput, json.JSONDecodeError) as exc:
            answer = {"error": str(exc), "invalid": True}
        except Exception as exc:  # the server keeps serving; its log has the traceback
            traceback.print_exc()
            answer = {"error": f"could not create it: {type(exc).__name__}: {exc}"}
        path.unlink(missing_ok=True)
        done = path.with_suffix(".tmp")
        done.write_text(json.dumps(answer))
        done.replace(path.with_suffix(".done"))

    def create(self, execution_input: dict[str, Any]) -> dict[str, Any]:
        request = parse_request(execution_input)
        names = [split_function_name(t.function_name)[0] for t in request.targets]
        if outside := [n for n in names if not any(fnmatchcase(n, p) for p in MANAGED)]:
            raise InvalidInput(f"functionName: the local AWS manages {', '.join(MANAGED)} (its ManagedFunctions), "
                               f"not {', '.join(outside)}")
        created = sample_world.create(self.stack, request)
        made = [replace(c, rate=min(c.rate, EXAMPLE_RATE)) for c in created.callers]
        with self._lock:  # called from now on, whatever happens below
            self._callers.extend(made)
            on = self._on
        if on:
            self._calling(True)  # a release runs now: their callers call with the others'
        if made and sample_world.emitted_metrics(request):
            # Their metrics listed before a release names them, as in AWS: the new callers call a while now.
            warming = [] if on else [c.simulator() for c in made]
            for traffic in warming:
                traffic.start()
            try:
                sample_world.wait_for_metrics(request)
            finally:
                for traffic in warming:
                    traffic.stop()
        return {"created": [f"{c.function}:{c.alias}" for c in made], "existing": created.existing,
                "alarms": request.health.alarms}


def serve(state_file: Path, port: int, example: bool) -> None:
    with running_stack({"ManagedFunctions": ",".join(MANAGED)}) as stack:
        callers = []
        if example:
            app = deploy_app(stack.router, project_root(), environment=behaviour(0.0, 20.0))
            # New code on $LATEST, as the demo has it: a release publishes it (dev follows $LATEST).
            redeploy(app, stack.router, code="v2", environment=behaviour(0.0, 20.0))
            callers.append(Callers(EXAMPLE_FUNCTION, alias_behind_route(app, "OrdersApi", "/orders"), EXAMPLE_RATE, 0))
        # Announced here, as AWS emits them: the in-process announcements of the CLI are not needed.
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        bound = server._server.server_port if server._server else port  # moto exposes no getter for it
        inbox = state_file.with_suffix(".inbox")
        shutil.rmtree(inbox, ignore_errors=True)  # a killed server's requests are not this one's to carry out
        inbox.mkdir(parents=True)
        running = Server(stack, callers, inbox)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: running.stop.set())
        state_file.parent.mkdir(parents=True, exist_ok=True)
        written = {"endpoint": f"http://127.0.0.1:{bound}", "pid": os.getpid(), "region": REGION,
                   "stateMachineArn": stack.state_machine_arn, "tableName": stack.tables["DeploymentsTable"],
                   "example": example, "inbox": str(inbox), "startedAt": datetime.now(UTC).isoformat()}
        state_file.with_suffix(".tmp").write_text(json.dumps(written))
        state_file.with_suffix(".tmp").replace(state_file)  # whole or absent: a reader never sees half of it
        print(f"serving {written['endpoint']}", flush=True)
        try:
            running.watch()
        finally:
            state_file.unlink(missing_ok=True)
            shutil.rmtree(inbox, ignore_errors=True)
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
