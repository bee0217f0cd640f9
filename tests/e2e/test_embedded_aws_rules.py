"""The embedded AWS keeps the Lambda API's rules (bluegreen.local.stand_ins.lambda_rules), each as the API
reference documents it, so that the release code meets them here as it would in AWS."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bluegreen.local.stack import REGION, LocalStack, project_root
from bluegreen.local.stand_ins.invoker import LocalFunction
from bluegreen.local.stand_ins.lambda_rules import TokenBucket
from bluegreen.local.traffic import SampleFunction, wait_until_updated
from tests.conftest import ALIAS, FUNCTION

# No SDK retries: each call's own answer is what is asserted.
ONE_TRY = Config(retries={"mode": "standard", "total_max_attempts": 1}, parameter_validation=False)


def lam() -> Any:
    return boto3.client("lambda", region_name=REGION, config=ONE_TRY)


def error_of(call: Any, **kwargs: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["Error"]["Code"], int(response["ResponseMetadata"]["HTTPStatusCode"])


def test_update_alias_honours_the_revision_id(stack: LocalStack, sample: SampleFunction) -> None:
    """UpdateAlias: "RevisionId - Only update the alias if the revision ID matches the ID that's specified";
    otherwise PreconditionFailedException (HTTP 412). Each update gives the alias a new revision.
    https://docs.aws.amazon.com/lambda/latest/api/API_UpdateAlias.html"""
    version = sample.publish("v2", 0.0)
    read = lam().get_alias(FunctionName=FUNCTION, Name=ALIAS)
    written = lam().update_alias(FunctionName=FUNCTION, Name=ALIAS, RevisionId=read["RevisionId"],
                                 RoutingConfig={"AdditionalVersionWeights": {version: 0.1}})
    assert written["RevisionId"] != read["RevisionId"]
    # A second writer that read before the first wrote is refused, and the alias keeps the first write.
    assert error_of(lam().update_alias, FunctionName=FUNCTION, Name=ALIAS, RevisionId=read["RevisionId"],
                    RoutingConfig={"AdditionalVersionWeights": {}}) == ("PreconditionFailedException", 412)
    assert lam().get_alias(FunctionName=FUNCTION, Name=ALIAS)["RoutingConfig"] == {
        "AdditionalVersionWeights": {version: 0.1}}


@pytest.mark.parametrize(("routing", "expected"), [
    ({"2": 0.1, "3": 0.1}, "InvalidParameterValueException"),  # at most one additional version
    ({"2": 1.5}, "ValidationException"),  # a weight is within 0.0..1.0
    ({"2": -0.1}, "ValidationException"),
    ({"$LATEST": 0.1}, "ValidationException"),  # keys are version numbers
    ({"9": 0.1}, "ResourceNotFoundException"),  # the version exists
    ({"1": 0.1}, "InvalidParameterValueException"),  # another version than the alias's own
])
def test_routing_config_rules(stack: LocalStack, sample: SampleFunction, routing: dict[str, float],
                              expected: str) -> None:
    """AliasRoutingConfiguration: "The second version, and the percentage of traffic that's routed to it"
    (one entry, a weight from 0.0 to 1.0, keys matching [0-9]+); weighted aliases need published versions.
    https://docs.aws.amazon.com/lambda/latest/api/API_AliasRoutingConfiguration.html
    https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html"""
    sample.publish("v2", 0.0)
    sample.publish("v3", 0.0)
    before = lam().get_alias(FunctionName=FUNCTION, Name=ALIAS)
    code, _ = error_of(lam().update_alias, FunctionName=FUNCTION, Name=ALIAS, FunctionVersion="1",
                       RoutingConfig={"AdditionalVersionWeights": routing})
    assert code == expected
    assert lam().get_alias(FunctionName=FUNCTION, Name=ALIAS)["RevisionId"] == before["RevisionId"]  # unchanged
    # CreateAlias applies the same rules.
    code, _ = error_of(lam().create_alias, FunctionName=FUNCTION, Name="canary", FunctionVersion="1",
                       RoutingConfig={"AdditionalVersionWeights": routing})
    assert code == expected


def test_a_weighted_alias_needs_one_role_across_its_versions(stack: LocalStack, sample: SampleFunction) -> None:
    """"Specified versions must be associated with the same execution role" (InvalidParameterValueException).
    https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html"""
    role = boto3.client("iam", region_name=REGION).create_role(RoleName="other", AssumeRolePolicyDocument="{}")
    lam().update_function_configuration(FunctionName=FUNCTION, Role=role["Role"]["Arn"])
    other = sample.publish("v2", 0.0)
    code, _ = error_of(lam().update_alias, FunctionName=FUNCTION, Name=ALIAS,
                       RoutingConfig={"AdditionalVersionWeights": {other: 0.1}})
    assert code == "InvalidParameterValueException"


def test_publish_version_honours_the_code_sha256_and_the_revision_id(stack: LocalStack,
                                                                      sample: SampleFunction) -> None:
    """PublishVersion: "CodeSha256 - Only publish a version if the hash value matches the value that's
    specified" (InvalidParameterValueException); "RevisionId - Only update the function if the revision ID
    matches" (PreconditionFailedException); unchanged code and configuration publish nothing new.
    https://docs.aws.amazon.com/lambda/latest/api/API_PublishVersion.html"""
    sha = sample.stage("v2", 0.0)
    assert error_of(lam().publish_version, FunctionName=FUNCTION, CodeSha256="A" * 43 + "=")[0] == \
        "InvalidParameterValueException"
    assert error_of(lam().publish_version, FunctionName=FUNCTION, RevisionId="not-the-revision")[0] == \
        "PreconditionFailedException"
    revision = wait_until_updated(lam(), FUNCTION)["RevisionId"]
    published = lam().publish_version(FunctionName=FUNCTION, CodeSha256=sha, RevisionId=revision)["Version"]
    assert published == "2"
    assert lam().publish_version(FunctionName=FUNCTION)["Version"] == "2"  # unchanged: the same version


def test_an_update_is_in_progress_for_a_while(stack: LocalStack, sample: SampleFunction) -> None:
    """After UpdateFunctionCode, LastUpdateStatus is InProgress until the update is done; meanwhile another
    update or a PublishVersion meets ResourceConflictException (HTTP 409).
    https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html"""
    stack.lambda_rules.update_seconds = 1.0
    lam().update_function_code(FunctionName=FUNCTION, ZipFile=b"PK\x05\x06" + b"\x00" * 18)
    assert lam().get_function_configuration(FunctionName=FUNCTION)["LastUpdateStatus"] == "InProgress"
    assert error_of(lam().publish_version, FunctionName=FUNCTION) == ("ResourceConflictException", 409)
    assert error_of(lam().update_function_configuration, FunctionName=FUNCTION, Timeout=10)[0] == \
        "ResourceConflictException"
    assert wait_until_updated(lam(), FUNCTION)["LastUpdateStatus"] == "Successful"
    assert lam().publish_version(FunctionName=FUNCTION)["Version"] == "2"


def test_the_control_plane_allows_15_requests_a_second_to_every_caller_together(stack: LocalStack,
                                                                                 sample: SampleFunction) -> None:
    """"Control plane API requests (excludes invocation, GetFunction, and GetPolicy requests): 15 per second
    per Region" (TooManyRequestsException, HTTP 429).
    https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"""
    # The bucket reads the test's clock: what gets through depends on the time the test says has passed, not
    # on how fast a loaded machine makes the calls (on the real clock, a slow run refilled it as it went).
    now = [0.0]
    stack.lambda_rules.limit = TokenBucket(clock=lambda: now[0])
    answers: list[str] = []
    lock = threading.Lock()

    def caller(client: Any) -> None:
        for _ in range(5):
            try:
                client.get_alias(FunctionName=FUNCTION, Name=ALIAS)
                answer = "ok"
            except ClientError as exc:
                answer = exc.response["Error"]["Code"]
            with lock:
                answers.append(answer)

    def six_callers_together() -> list[str]:
        answers.clear()
        threads = [threading.Thread(target=caller, args=(lam(),)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return list(answers)

    # Six callers making 30 requests within an instant: a full bucket lets 15 through and throttles the rest.
    first = six_callers_together()
    assert (first.count("ok"), first.count("TooManyRequestsException")) == (15, 15)
    # GetFunction is not a control-plane request for the limit.
    assert lam().get_function(FunctionName=FUNCTION)["Configuration"]["FunctionName"] == FUNCTION
    # 0.4 s later, 6 requests more have been earned, whoever asks; a second refills the bucket, no more.
    now[0] += 0.4
    assert six_callers_together().count("ok") == 6
    now[0] += 5.0
    assert six_callers_together().count("ok") == 15


def test_invoke_runs_the_version_or_alias_its_qualifier_names(stack: LocalStack) -> None:
    """Invoke: "Qualifier - Specify a version or alias to invoke a published version of the function"; an
    alias with a routing config sends each call to one of its versions by their weights.
    https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
    https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html"""
    fn = SampleFunction(FUNCTION, ALIAS, stack.role_arn, router=stack.router)
    fn.create()  # version 1 answers 200, behind prod
    two = fn.publish("v2", 0.0, status_code=201)
    fn.stage("latest", 0.0, status_code=500)  # $LATEST holds other code than any version

    def status(**qualifier: str) -> int:
        out = lam().invoke(FunctionName=FUNCTION, Payload=b'{"requestId": "q"}', **qualifier)
        return int(json.loads(out["Payload"].read())["statusCode"])

    assert status() == 500 and status(Qualifier="$LATEST") == 500
    assert status(Qualifier="1") == 200 and status(Qualifier=two) == 201
    assert status(Qualifier=ALIAS) == 200
    # By its ARN, qualified in the name.
    assert lam().invoke(FunctionName=f"{FUNCTION}:{two}")["StatusCode"] == 200
    assert status(Qualifier=ALIAS) == 200
    lam().update_alias(FunctionName=FUNCTION, Name=ALIAS, RoutingConfig={"AdditionalVersionWeights": {two: 0.5}})
    seen = {status(Qualifier=ALIAS) for _ in range(60)}
    assert seen == {200, 201}  # both versions serve the weighted alias, $LATEST never does


def _run_machine(stack: LocalStack, definition: dict[str, Any], execution_input: dict[str, Any]) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(name=f"limits-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition),
                                   roleArn=stack.role_arn)["stateMachineArn"]
    run = sfn.start_execution(stateMachineArn=arn, name=uuid.uuid4().hex, input=json.dumps(execution_input))
    deadline = time.monotonic() + 30
    while (found := sfn.describe_execution(executionArn=run["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return dict(found)


@pytest.mark.parametrize("where", ["input after Parameters", "task output", "Map output"])
def test_a_state_over_256_kib_fails_the_execution_uncaught(where: str, stack: LocalStack) -> None:
    """"States.DataLimitExceeded: ... the output of a connector is larger than payload size quota; the output of a
    state is larger than payload size quota; after Parameters processing, the input of a state is larger than the
    payload size quota" (256 KiB); "States.ALL ... can't catch the States.DataLimitExceeded terminal error".
    https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html"""
    echo = lam().create_function(FunctionName="echo", Runtime="python3.12", Role=stack.role_arn, Handler="x.h",
                                 Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})["FunctionArn"]
    caught = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}]
    big = "x" * 100_000  # three copies are over the quota, two are not
    task: dict[str, Any] = {"Type": "Task", "Resource": echo, "Catch": caught, "End": True}
    if where == "input after Parameters":
        task["Parameters"] = {"a.$": "$.s", "b.$": "$.s", "c.$": "$.s"}
    elif where == "task output":
        task["Parameters"] = {"a.$": "$.s", "b.$": "$.s"}
        task["ResultPath"] = "$.echoed"  # two copies echoed back beside the input's one
    else:
        task = {"Type": "Map", "ItemsPath": "$.items", "ItemSelector": {"s.$": "$.s"}, "Catch": caught, "End": True,
                "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Each",
                                  "States": {"Each": {"Type": "Pass", "End": True}}}}
    definition = {"StartAt": "Big", "States": {"Big": task, "Caught": {"Type": "Succeed"}}}
    found = _run_machine(stack, definition, {"s": big, "items": [1, 2, 3]})
    assert (found["status"], found.get("error")) == ("FAILED", "States.DataLimitExceeded"), found
    # Under the quota, the same machine succeeds.
    assert _run_machine(stack, definition, {"s": big[:40_000], "items": [1, 2, 3]})["status"] == "SUCCEEDED"


def test_a_task_timing_out_in_a_map_iteration_reaches_the_maps_catch(stack: LocalStack) -> None:
    """A Map iteration's error is the Map state's error: a task of the iteration timing out is "States.Timeout" to
    the Map's Catch, which States.ALL catches, as for any state; moto turned it into an uncatchable States.Runtime.
    https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html"""
    slow = "orders-slow"
    arn = lam().create_function(FunctionName=slow, Runtime="python3.12", Role=stack.role_arn, Handler="app.handler",
                                Code={"ZipFile": b"slow"},
                                Environment={"Variables": {"HOOK_ANSWER": "hang", "HANG_SECONDS": "3"}})["FunctionArn"]
    stack.router.register(LocalFunction(slow, arn, project_root() / "tests" / "hooks", "app.handler", project_root()))
    caught = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}]
    each = {"Type": "Task", "Resource": arn, "TimeoutSeconds": 1, "End": True}
    definition = {"StartAt": "Map", "States": {
        "Map": {"Type": "Map", "ItemsPath": "$.items", "Catch": caught, "Next": "Done",
                "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Each", "States": {"Each": each}}},
        "Caught": {"Type": "Pass", "End": True}, "Done": {"Type": "Pass", "End": True}}}
    found = _run_machine(stack, definition, {"items": [{}]})
    assert found["status"] == "SUCCEEDED", found
    assert json.loads(found["output"])["error"]["Error"] == "States.Timeout", found["output"]


# --- provisioned concurrency (bluegreen.local.stand_ins.provisioned_concurrency) ---------------------------------

def test_provisioned_concurrency_is_allocated_over_time_on_a_version_or_an_alias(
        stack: LocalStack, sample: SampleFunction) -> None:
    """PutProvisionedConcurrencyConfig answers 202 IN_PROGRESS with nothing allocated; READY later, all allocated.
    Not on $LATEST ("cannot be applied to unpublished function versions"); not on what does not exist."""
    stack.lambda_rules.provisioned.ready_seconds = 0.5
    put = lam().put_provisioned_concurrency_config(FunctionName=FUNCTION, Qualifier="1",
                                                   ProvisionedConcurrentExecutions=3)
    assert (put["ResponseMetadata"]["HTTPStatusCode"], put["Status"], put["AllocatedProvisionedConcurrentExecutions"]
            ) == (202, "IN_PROGRESS", 0)
    time.sleep(0.6)
    got = lam().get_provisioned_concurrency_config(FunctionName=FUNCTION, Qualifier="1")
    assert (got["Status"], got["AllocatedProvisionedConcurrentExecutions"]) == ("READY", 3)
    assert error_of(lam().put_provisioned_concurrency_config, FunctionName=FUNCTION, Qualifier="$LATEST",
                    ProvisionedConcurrentExecutions=1) == ("InvalidParameterValueException", 400)
    assert error_of(lam().get_provisioned_concurrency_config, FunctionName=FUNCTION, Qualifier="9") == (
        "ResourceNotFoundException", 404)
    assert error_of(lam().get_provisioned_concurrency_config, FunctionName=FUNCTION, Qualifier=ALIAS) == (
        "ProvisionedConcurrencyConfigNotFoundException", 404)


def test_provisioned_concurrency_has_one_owner_and_no_new_one_on_a_weighted_alias(
        stack: LocalStack, sample: SampleFunction) -> None:
    """A version and an alias pointing at it exclude each other (ResourceConflictException); a weighted alias takes
    no configuration ("Alias with weights can not be used with Provisioned Concurrency"); the account's unreserved
    concurrency keeps its floor of 100."""
    stack.lambda_rules.provisioned.ready_seconds = 0.0
    lam().put_provisioned_concurrency_config(FunctionName=FUNCTION, Qualifier=ALIAS, ProvisionedConcurrentExecutions=2)
    assert error_of(lam().put_provisioned_concurrency_config, FunctionName=FUNCTION, Qualifier="1",
                    ProvisionedConcurrentExecutions=2) == ("ResourceConflictException", 409)
    lam().delete_provisioned_concurrency_config(FunctionName=FUNCTION, Qualifier=ALIAS)
    new = sample.publish("v2", 0.0)
    lam().update_alias(FunctionName=FUNCTION, Name=ALIAS, FunctionVersion="1",
                       RoutingConfig={"AdditionalVersionWeights": {new: 0.1}})
    with pytest.raises(ClientError) as caught:
        lam().put_provisioned_concurrency_config(FunctionName=FUNCTION, Qualifier=ALIAS,
                                                 ProvisionedConcurrentExecutions=2)
    assert caught.value.response["Error"]["Message"] == (
        "Alias with weights can not be used with Provisioned Concurrency")
    stack.lambda_rules.provisioned.account_limit = 110
    lam().put_provisioned_concurrency_config(FunctionName=FUNCTION, Qualifier=new, ProvisionedConcurrentExecutions=10)
    with pytest.raises(ClientError) as caught:
        lam().put_provisioned_concurrency_config(FunctionName=FUNCTION, Qualifier="1",
                                                 ProvisionedConcurrentExecutions=1)
    assert "below its minimum value of [100]" in caught.value.response["Error"]["Message"]


def test_an_aliass_provisioned_concurrency_is_allocated_again_when_the_alias_moves(
        stack: LocalStack, sample: SampleFunction) -> None:
    stack.lambda_rules.provisioned.ready_seconds = 0.0
    lam().put_provisioned_concurrency_config(FunctionName=FUNCTION, Qualifier=ALIAS, ProvisionedConcurrentExecutions=2)
    stack.lambda_rules.provisioned.ready_seconds = 60
    new = sample.publish("v2", 0.0)
    lam().update_alias(FunctionName=FUNCTION, Name=ALIAS, FunctionVersion=new)
    assert lam().get_provisioned_concurrency_config(FunctionName=FUNCTION, Qualifier=ALIAS)["Status"] == "IN_PROGRESS"
