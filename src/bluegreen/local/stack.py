"""Deploy the project's own template.yaml into moto: its functions (served by the real handlers),
its log groups and its state machine (the real definition, substitutions resolved)."""

from __future__ import annotations

import copy
import io
import json
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from bluegreen.local.cloudwatch import percentile_statistics
from bluegreen.local.invoker import HandlerRouter, LocalFunction, patched_environ, route_invocations
from bluegreen.local.template import Resolver, load_template

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
STATE_MACHINE_ID = "DeploymentStateMachine"


def project_root() -> Path:
    """The checkout holding template.yaml: $BLUEGREEN_PROJECT_DIR, the working directory, or this package's."""
    candidates = [os.environ.get("BLUEGREEN_PROJECT_DIR"), os.getcwd(), str(Path(__file__).resolve().parents[3])]
    for candidate in candidates:
        if candidate and (Path(candidate) / "template.yaml").is_file():
            return Path(candidate)
    raise FileNotFoundError("template.yaml not found: run from the project root or set BLUEGREEN_PROJECT_DIR")


@dataclass
class LocalStack:
    name: str
    state_machine_arn: str
    definition: dict[str, Any]
    functions: dict[str, LocalFunction]  # by logical id
    router: HandlerRouter
    role_arn: str


@contextmanager
def local_aws() -> Iterator[None]:
    """moto with Step Functions executing ASL and Lambda without Docker, and fake credentials."""
    fake_env = {"AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
    with patched_environ(fake_env), mock_aws(config=MOTO_CONFIG), percentile_statistics():
        yield


def scale_retries(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition with every Retry waiting 1 s flat: moto sleeps Retry intervals in real time.

    Attempt counts stay as written, so retries are exercised exactly as in AWS, only sooner.
    """
    scaled = copy.deepcopy(definition)
    for state in scaled["States"].values():
        for retrier in state.get("Retry", []):
            retrier["IntervalSeconds"] = 1
            retrier["BackoffRate"] = 1.0
            retrier.pop("MaxDelaySeconds", None)
            retrier.pop("JitterStrategy", None)
    return scaled


def _placeholder_zip() -> bytes:
    # moto needs a code package; the router runs the handlers from src/ instead.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README.txt", "served in process by bluegreen.local.invoker")
    return buf.getvalue()


def _parameters(template: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, spec in template.get("Parameters", {}).items():
        value = overrides.get(name, spec.get("Default"))
        if value is None:
            raise ValueError(f"template parameter {name} needs a value")
        if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
            value = [v.strip() for v in value.split(",")]
        values[name] = value
    return values


def deploy_template(parameters: dict[str, Any], stack_name: str = "bluegreen", root: Path | None = None,
                    env_overrides: dict[str, str] | None = None) -> LocalStack:
    """Create every resource of template.yaml in the active moto mock. Call inside ``local_aws()``
    and ``route_invocations(stack.router)`` (see ``running_stack``)."""
    root = root or project_root()
    template = load_template(root / "template.yaml")
    resolver = Resolver(
        parameters=_parameters(template, parameters),
        pseudo={"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
                "AWS::StackName": stack_name, "AWS::URLSuffix": "amazonaws.com"},
    )
    resources: dict[str, Any] = template["Resources"]
    globals_fn: dict[str, Any] = template.get("Globals", {}).get("Function", {})

    iam = boto3.client("iam", region_name=REGION)
    role_arn = iam.create_role(RoleName=f"{stack_name}-local", AssumeRolePolicyDocument="{}")["Role"]["Arn"]

    # Names first, so that Refs and GetAtts between resources resolve in any order.
    for logical_id, resource in resources.items():
        kind = resource["Type"]
        if kind == "AWS::Serverless::Function":
            name = f"{stack_name}-{logical_id}"
            resolver.physical[logical_id] = name
            resolver.arns[logical_id] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        elif kind == "AWS::Logs::LogGroup":
            props = resource.get("Properties", {})
            name = resolver.resolve(props.get("LogGroupName", f"/aws/lambda/{stack_name}-{logical_id}"))
            resolver.physical[logical_id] = name
            resolver.arns[logical_id] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"
        elif kind == "AWS::Serverless::StateMachine":
            resolver.physical[logical_id] = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{stack_name}-{logical_id}"
        else:
            raise NotImplementedError(f"the local run does not create {kind} ({logical_id}) yet")

    logs = boto3.client("logs", region_name=REGION)
    lam = boto3.client("lambda", region_name=REGION)
    router = HandlerRouter(env_overrides=dict(env_overrides or {}))
    functions: dict[str, LocalFunction] = {}
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::Logs::LogGroup":
            logs.create_log_group(logGroupName=resolver.physical[logical_id])
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = {**globals_fn, **resource.get("Properties", {})}
        env = {**globals_fn.get("Environment", {}).get("Variables", {}),
               **resource.get("Properties", {}).get("Environment", {}).get("Variables", {})}
        env = {k: str(v) for k, v in resolver.resolve(env).items()}
        lam.create_function(
            FunctionName=resolver.physical[logical_id], Runtime=props["Runtime"], Role=role_arn,
            Handler=props["Handler"], Code={"ZipFile": _placeholder_zip()},
            Timeout=int(props.get("Timeout", 3)), MemorySize=int(props.get("MemorySize", 128)),
            Environment={"Variables": env},
        )
        fn = LocalFunction(resolver.physical[logical_id], resolver.arns[logical_id], props["Handler"], env)
        router.register(fn)
        functions[logical_id] = fn

    props = resources[STATE_MACHINE_ID]["Properties"]
    text = (root / props["DefinitionUri"]).read_text()
    substitutions = resolver.resolve(props.get("DefinitionSubstitutions", {}))
    for key, value in substitutions.items():
        text = text.replace("${" + key + "}", str(value))
    definition = scale_retries(json.loads(text))
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(name=f"{stack_name}-{STATE_MACHINE_ID}", definition=json.dumps(definition),
                                   roleArn=role_arn, type=props.get("Type", "STANDARD"))["stateMachineArn"]
    return LocalStack(stack_name, arn, definition, functions, router, role_arn)


@contextmanager
def running_stack(parameters: dict[str, Any], env_overrides: dict[str, str] | None = None) -> Iterator[LocalStack]:
    """moto started, the template deployed in it, and the handlers serving its functions."""
    with local_aws():
        stack = deploy_template(parameters, env_overrides=env_overrides)
        with route_invocations(stack.router):
            yield stack
