"""A team's own application template (examples/orders-app) deployed into the embedded AWS, as
CloudFormation would: its function (served by its handler), the version it starts on, its aliases, its API
Gateway API whose routes invoke the aliases, and the permissions that let the API invoke them.

``redeploy`` is a later ``sam deploy``: CloudFormation changes only the resources whose properties
changed. New code changes the function (``$LATEST``) only; the version and the aliases keep their
properties, so they stay where the last release put them.
"""

from __future__ import annotations

import copy
import io
import json
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from bluegreen.local.stand_ins.accounts import ACCOUNT, REGION, function_arn, split_function_name
from bluegreen.local.stand_ins.invoker import HandlerRouter, LocalFunction
from bluegreen.local.template import Resolver, load_template

EXAMPLE_APP = Path("examples") / "orders-app" / "template.yaml"
SUPPORTED = ("AWS::Logs::LogGroup", "AWS::Serverless::Function", "AWS::Lambda::Version", "AWS::Lambda::Alias",
             "AWS::Serverless::Api", "AWS::Lambda::Permission")


def code_package(code_dir: Path, marker: str) -> bytes:
    """The function's code as a zip: its files, and ``marker`` (what tells one build from the next)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(code_dir.rglob("*.py")):
            zf.writestr(str(path.relative_to(code_dir)), path.read_bytes())
        zf.writestr("BUILD", marker)
    return buf.getvalue()


@dataclass
class LocalApp:
    name: str
    template_path: Path
    root: Path
    role_arn: str
    resolver: Resolver
    # What each resource was last deployed with (its resolved properties): what a redeploy compares.
    applied: dict[str, Any] = field(default_factory=dict)

    @property
    def template(self) -> dict[str, Any]:
        return load_template(self.template_path)

    def ref(self, logical_id: str) -> str:
        return str(self.resolver.physical[logical_id])

    def output(self, name: str) -> Any:
        return self.resolver.resolve(self.template["Outputs"][name]["Value"])


def _lambda() -> Any:
    return boto3.client("lambda", region_name=REGION)


def wait_until_updated(lam: Any, name: str, timeout: float = 30.0) -> dict[str, Any]:
    """$LATEST's configuration once its last update has finished (GetFunction: not rate limited)."""
    deadline = time.monotonic() + timeout
    while (config := lam.get_function(FunctionName=name)["Configuration"]).get("LastUpdateStatus") == "InProgress":
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} is still being updated after {timeout} s")
        time.sleep(0.05)
    return dict(config)



def _wait_until_updated(name: str) -> None:
    wait_until_updated(_lambda(), name)


def _function(app: LocalApp, logical_id: str, props: dict[str, Any], *, router: HandlerRouter, code: str,
              environment: dict[str, str]) -> None:
    name = props.get("FunctionName") or f"{app.name}-{logical_id}"
    code_dir = app.template_path.parent / props["CodeUri"]
    variables = {**(props.get("Environment") or {}).get("Variables", {}), **environment}
    previous = app.applied.get(logical_id)
    current = {"props": props, "code": code, "environment": variables}
    if previous is None:
        _lambda().create_function(FunctionName=name, Runtime=props["Runtime"], Role=app.role_arn,
                                  Handler=props["Handler"], Code={"ZipFile": code_package(code_dir, code)},
                                  Timeout=int(props.get("Timeout", 3)), MemorySize=int(props.get("MemorySize", 128)),
                                  Environment={"Variables": variables})
        router.register(LocalFunction(name, function_arn(name), code_dir,
                                      props["Handler"], app.root))
    else:
        if previous["code"] != code:
            _wait_until_updated(name)
            _lambda().update_function_code(FunctionName=name, ZipFile=code_package(code_dir, code))
        if previous["environment"] != variables:
            _wait_until_updated(name)
            _lambda().update_function_configuration(FunctionName=name, Environment={"Variables": variables})
        _wait_until_updated(name)
    app.resolver.physical[logical_id] = name
    app.resolver.arns[logical_id] = function_arn(name)
    app.applied[logical_id] = current


def _version(app: LocalApp, logical_id: str, props: dict[str, Any]) -> None:
    if logical_id in app.applied:
        return  # its properties never change: CloudFormation leaves it (and no new version is published)
    _wait_until_updated(props["FunctionName"])
    version = _lambda().publish_version(FunctionName=props["FunctionName"],
                                        Description=props.get("Description", ""))["Version"]
    app.resolver.attributes[(logical_id, "Version")] = version
    app.resolver.physical[logical_id] = function_arn(props["FunctionName"], version)
    app.applied[logical_id] = props


def _alias(app: LocalApp, logical_id: str, props: dict[str, Any]) -> None:
    function, alias = props["FunctionName"], props["Name"]
    if logical_id not in app.applied:
        _lambda().create_alias(FunctionName=function, Name=alias, FunctionVersion=props["FunctionVersion"])
    elif app.applied[logical_id] != props:
        # A changed alias resource: CloudFormation writes it back to what the template says.
        _lambda().update_alias(FunctionName=function, Name=alias, FunctionVersion=props["FunctionVersion"],
                               RoutingConfig={"AdditionalVersionWeights": {}})
    app.resolver.physical[logical_id] = function_arn(function, alias)
    app.applied[logical_id] = props


def _api(app: LocalApp, logical_id: str, props: dict[str, Any]) -> None:
    if logical_id in app.applied:
        return  # unchanged here: the example's routes never change between deploys
    apigateway = boto3.client("apigateway", region_name=REGION)
    api_id = apigateway.import_rest_api(body=json.dumps(props["DefinitionBody"]).encode())["id"]
    apigateway.create_deployment(restApiId=api_id, stageName=props.get("StageName", "live"))
    app.resolver.physical[logical_id] = api_id
    app.applied[logical_id] = props


def _permission(app: LocalApp, logical_id: str, props: dict[str, Any]) -> None:
    if logical_id in app.applied:
        return
    function, qualifier = split_function_name(props["FunctionName"])
    _lambda().add_permission(FunctionName=function, StatementId=logical_id, Action=props["Action"],
                             Principal=props["Principal"], SourceArn=props["SourceArn"],
                             **({"Qualifier": qualifier} if qualifier else {}))
    app.applied[logical_id] = props


def _log_group(app: LocalApp, logical_id: str, props: dict[str, Any]) -> None:
    name = props.get("LogGroupName") or f"/aws/{app.name}/{logical_id}"
    if logical_id not in app.applied:
        boto3.client("logs", region_name=REGION).create_log_group(logGroupName=name)
    app.resolver.physical[logical_id] = name
    app.resolver.arns[logical_id] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"
    app.applied[logical_id] = props


def _apply(app: LocalApp, router: HandlerRouter, code: str, environment: dict[str, str]) -> None:
    """Every resource, in the order its references need (a template lists them that way too)."""
    resources = app.template["Resources"]
    unsupported = {r["Type"] for r in resources.values()} - set(SUPPORTED)
    if unsupported:
        raise NotImplementedError(f"the local run does not create {', '.join(sorted(unsupported))} yet")
    makers: dict[str, Callable[[LocalApp, str, dict[str, Any]], None]] = {
        "AWS::Logs::LogGroup": _log_group, "AWS::Lambda::Version": _version, "AWS::Lambda::Alias": _alias,
        "AWS::Serverless::Api": _api, "AWS::Lambda::Permission": _permission}
    for kind in SUPPORTED:
        for logical_id, resource in resources.items():
            if resource["Type"] != kind:
                continue
            props = app.resolver.resolve(copy.deepcopy(resource.get("Properties", {})))
            if kind == "AWS::Serverless::Function":
                _function(app, logical_id, props, router=router, code=code, environment=environment)
            else:
                makers[kind](app, logical_id, props)


def deploy_app(router: HandlerRouter, root: Path, *, template: Path = EXAMPLE_APP, stack_name: str = "orders-app",
               parameters: dict[str, Any] | None = None, code: str = "v1",
               environment: dict[str, str] | None = None) -> LocalApp:
    """The application's first deploy: everything created. ``code`` marks the build, ``environment`` adds to
    the function's variables (how the embedded run tells versions apart)."""
    path = root / template
    spec = load_template(path)
    values = {name: (parameters or {}).get(name, p.get("Default")) for name, p in spec.get("Parameters", {}).items()}
    resolver = Resolver(parameters=values, pseudo={"AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
                                                   "AWS::Partition": "aws", "AWS::StackName": stack_name,
                                                   "AWS::URLSuffix": "amazonaws.com"})
    role = boto3.client("iam", region_name=REGION).create_role(RoleName=f"{stack_name}-function",
                                                               AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    app = LocalApp(stack_name, path, root, role, resolver)
    _apply(app, router, code, dict(environment or {}))
    return app


def redeploy(app: LocalApp, router: HandlerRouter, *, code: str, environment: dict[str, str] | None = None) -> None:
    """A later deploy of the same template with new code (and perhaps variables): only what changed."""
    _apply(app, router, code, dict(environment or {}))


def alias_behind_route(app: LocalApp, api_logical_id: str, path: str, method: str = "GET") -> str:
    """The alias a route of the API invokes, read from the API's integration (as API Gateway would call it)."""
    apigateway = boto3.client("apigateway", region_name=REGION)
    api_id = app.ref(api_logical_id)
    resource = next(r for r in apigateway.get_resources(restApiId=api_id)["items"] if r["path"] == path)
    uri = apigateway.get_integration(restApiId=api_id, resourceId=resource["id"], httpMethod=method)["uri"]
    # arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/arn:aws:lambda:...:function:NAME:ALIAS/invocations
    function_arn = uri.split("/functions/", 1)[1].rsplit("/invocations", 1)[0]
    return str(function_arn.rsplit(":", 1)[-1])
