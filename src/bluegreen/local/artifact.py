"""Run the functions as ``sam build`` ships them: each handler from the build's output, in an interpreter of its
own whose path holds only that output (the function's folder and the SharedCodeLayer's ``python/``) and what the
Lambda runtime and the Powertools layer provide (boto3, Powertools, pydantic: a folder ``pip install --target``
made, ``make lambda-runtime``). No source tree, no development dependency, no moto: the handlers reach the
embedded AWS over HTTP (moto's server, in this process, with every stand-in of the local run), as a Lambda
reaches AWS. A module the layer leaves out fails here as it would in AWS.

Each function gets warm workers as Lambda gets containers: one per concurrent call, reused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from moto.awslambda.utils import get_backend as lambda_backend
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from bluegreen.local.stack import LocalStack
from bluegreen.local.stand_ins.accounts import ACCOUNT, REGION

# The interpreter a worker runs: -S (no site: none of this environment's packages), -u (unbuffered). Its path is
# set first thing, from the build's output and the runtime folder only.
_WORKER = r"""
import importlib.util, json, sys
sys.path[:0] = json.loads(sys.argv[1])
answers, sys.stdout = sys.stdout, sys.stderr  # the handler's prints and logs go to stderr
try:
    spec = importlib.util.spec_from_file_location("app", sys.argv[2])
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    handler = getattr(app, sys.argv[3])
except Exception as exc:  # as the Lambda runtime answers every call of a function it cannot import
    failure = {"errorType": "Runtime.ImportModuleError", "errorMessage": f"Unable to import module 'app': {exc}"}

    def handler(event, context):
        raise ImportError(failure["errorMessage"])


class Context:
    def __init__(self, fields):
        self.__dict__.update(fields)

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


for line in sys.stdin:
    request = json.loads(line)
    try:
        answer = {"result": handler(request["event"], Context(request["context"]))}
    except Exception as exc:
        answer = failure if "failure" in globals() else {"errorType": type(exc).__name__, "errorMessage": str(exc)}
    answers.write(json.dumps(answer) + "\n")
    answers.flush()
"""


class WorkerError(Exception):
    """A handler's exception in a worker, raised here under the handler's exception name (see ``raised``)."""


def raised(error_type: str, message: str) -> Exception:
    """An exception whose class name is ``error_type``, as the Lambda runtime reports it to Step Functions."""
    kind: type[WorkerError] = type(error_type, (WorkerError,), {})
    return kind(message)


@dataclass
class Worker:
    process: subprocess.Popen[str]
    stdin: IO[str]
    stdout: IO[str]

    def call(self, event: Any, context: dict[str, Any]) -> Any:
        self.stdin.write(json.dumps({"event": event, "context": context}) + "\n")
        self.stdin.flush()
        line = self.stdout.readline()
        if not line:
            raise RuntimeError(f"the worker ended: {self.process.wait()}")
        answer = json.loads(line)
        if "errorType" in answer:
            raise raised(answer["errorType"], answer["errorMessage"])
        return answer["result"]


@dataclass
class BuiltFunction:
    """One function of the build's output, served by warm workers."""

    code_dir: Path  # .aws-sam/build/<LogicalId>
    handler: str  # module.attribute
    path: list[str]  # what the worker's interpreter may import from
    environment: dict[str, str]
    idle: list[Worker] = field(default_factory=list)
    started: list[Worker] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _start(self) -> Worker:
        module, _, attribute = self.handler.rpartition(".")
        process = subprocess.Popen(
            [sys.executable, "-S", "-u", "-c", _WORKER, json.dumps(self.path),
             str(self.code_dir / (module.replace(".", "/") + ".py")), attribute],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=self.environment, cwd=self.code_dir)
        assert process.stdin is not None and process.stdout is not None
        worker = Worker(process, process.stdin, process.stdout)
        self.started.append(worker)
        return worker

    def __call__(self, event: Any, context: Any) -> Any:
        with self._lock:
            worker = self.idle.pop() if self.idle else self._start()
        fields = {k: getattr(context, k) for k in ("function_name", "invoked_function_arn", "memory_limit_in_mb",
                                                    "function_version", "aws_request_id", "log_group_name",
                                                    "log_stream_name", "remaining_ms")}
        try:
            return worker.call(event, fields)
        finally:
            with self._lock:
                self.idle.append(worker)

    def stop(self) -> None:
        for worker in self.started:
            worker.stdin.close()
            worker.process.wait(10)


def worker_environment(endpoint: str, function_environment: dict[str, str]) -> dict[str, str]:
    """What a function's process sees: its configured variables, the runtime's (region, credentials) and the
    embedded AWS's endpoint; nothing of this process's environment."""
    return {**function_environment, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
            "AWS_ENDPOINT_URL": endpoint, "PATH": os.environ.get("PATH", "")}


def configured_environment(function_name: str) -> dict[str, str]:
    """A function's environment variables, as its configuration in the embedded Lambda holds them."""
    return dict(lambda_backend(ACCOUNT, REGION).get_function(function_name).environment_vars)


@contextmanager
def built_functions(stack: LocalStack, build_dir: Path, runtime_dir: Path) -> Iterator[dict[str, BuiltFunction]]:
    """The stack's functions served from ``build_dir`` (``sam build``'s output) while the block runs: moto's
    server started on a free port of 127.0.0.1 for the workers, each function's handler replaced by its
    built one, with its configured environment."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server._server.server_port if server._server else 0  # moto exposes no getter for it
    endpoint = f"http://127.0.0.1:{port}"
    layer = build_dir / "SharedCodeLayer" / "python"
    served: dict[str, BuiltFunction] = {}
    try:
        for logical_id, fn in stack.functions.items():
            built = BuiltFunction(build_dir / logical_id, fn.handler,
                                  [str(build_dir / logical_id), str(layer), str(runtime_dir)],
                                  worker_environment(endpoint, configured_environment(fn.name)))
            fn.remote = built
            served[logical_id] = built
        yield served
    finally:
        for logical_id, fn in stack.functions.items():
            fn.remote = None
            if logical_id in served:
                served[logical_id].stop()
        server.stop()
