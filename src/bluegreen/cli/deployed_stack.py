"""Which deployed bluegreen the CLI talks to: a CloudFormation stack's outputs, or the embedded local run."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from bluegreen.aws import settings
from bluegreen.cli import aws_errors
from bluegreen.cli.local_run import LocalRunMissing, local_run


class StackNotFound(Exception):
    """The stack (or the local run) to operate on cannot be found."""


@dataclass(frozen=True)
class Stack:
    state_machine_arn: str
    table_name: str
    local: bool = False
    # The local AWS of `bluegreen local up`, reached over HTTP (it announces executions' ends itself, as AWS does).
    served: bool = False

    def execution_arn(self, name_or_arn: str) -> str:
        """An execution's ARN from its name (as printed by ``deploy``) or its ARN."""
        if name_or_arn.startswith("arn:"):
            return name_or_arn
        prefix = self.state_machine_arn.replace(":stateMachine:", ":execution:")
        return f"{prefix}:{name_or_arn}"

    @contextmanager
    def configured(self) -> Iterator[None]:
        """The core modules' settings (the table's name) for this stack, while the block runs."""
        with settings.provided({settings.DEPLOYMENTS_TABLE: self.table_name}):
            yield


def samconfig_stack_name(path: Path = Path("samconfig.toml"), env: str = "default") -> str | None:
    if not path.is_file():
        return None
    config = tomllib.loads(path.read_text())
    section = config.get(env, {})
    for command in ("global", "deploy"):
        name = section.get(command, {}).get("parameters", {}).get("stack_name")
        if name:
            return str(name)
    return None


def from_cloudformation(stack_name: str | None) -> Stack:
    name = stack_name or samconfig_stack_name()
    if not name:
        raise StackNotFound("no stack: pass --stack NAME (or run where samconfig.toml names one)")
    try:
        stack = boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    except (NoRegionError, NoCredentialsError) as exc:
        raise StackNotFound(aws_errors.said(exc)) from None
    except (BotoCoreError, ClientError) as exc:
        raise StackNotFound(f"stack {name} not found or not readable: {aws_errors.said(exc)}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    try:
        return Stack(outputs["DeploymentStateMachineArn"], outputs["DeploymentsTableName"])
    except KeyError as exc:
        raise StackNotFound(f"stack {name} has no output {exc}: is it a bluegreen stack?") from None


def embedded() -> Stack:
    """The embedded local run's stack in this process."""
    try:
        running = local_run().active_stack()
    except LocalRunMissing:
        raise StackNotFound("the embedded local run is not installed") from None
    if running is None:
        raise StackNotFound("no embedded local run in this process")
    return Stack(*running, local=True)
