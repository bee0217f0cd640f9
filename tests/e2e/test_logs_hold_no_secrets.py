"""What the Lambdas log during a whole release: structured, tagged with the execution, and free of
credentials and environment variables."""

from __future__ import annotations

import json
import os

from bluegreen.local import execution
from bluegreen.local.stack import running_stack
from bluegreen.local.traffic import SampleFunction, TrafficSimulator


def test_a_release_logs_its_facts_and_no_secret() -> None:
    with running_stack({"ManagedFunctions": "orders-api"}) as stack:
        sample = SampleFunction("orders-api", "prod", stack.role_arn)
        sample.create()
        version = sample.publish("v2", 0.3)
        traffic = TrafficSimulator("orders-api", "prod")
        traffic.start()
        try:
            result = execution.run(stack, {"functionName": "orders-api", "alias": "prod", "version": version,
                                           "strategy": {"steps": [10, 100], "intervalSeconds": 1}})
        finally:
            traffic.stop()
        secrets = {os.environ["AWS_SECRET_ACCESS_KEY"], os.environ["AWS_SESSION_TOKEN"]}
    # Every line each function logged (its log group, in AWS).
    text = "\n".join(line for logged in stack.router.logs.values() for line in logged)
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    messages = {line["message"] for line in lines}
    assert {"release planned", "traffic shifted", "health checked", "rolled back"} <= messages
    assert all(line["correlation_id"] == result.arn for line in lines if line["message"] != "guardian")
    for forbidden in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "MANAGED_FUNCTIONS", "DEPLOYMENTS_TABLE",
                      *secrets):
        assert forbidden not in text, f"{forbidden!r} in the logs"
