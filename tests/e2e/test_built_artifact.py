"""The shipped artifact is the tested artifact: ``sam build``'s output, each handler in an interpreter of its own
whose path holds only that output and what the Lambda runtime and the Powertools layer provide (no source tree,
no development dependency), drives releases in the embedded run (bluegreen.local.artifact)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bluegreen.local.artifact import built_functions
from bluegreen.local.stack import REGION, LocalStack, project_root
from bluegreen.local.template import load_template
from bluegreen.local.traffic import SampleFunction, TrafficSimulator
from tests.conftest import get_alias, release, weights_of

ROOT = project_root()
# Made by `make lambda-runtime` (which `make unit` and `make test` run first).
RUNTIME = ROOT / ".lambda-runtime"
SAM = ROOT / ".venv-sam" / "bin" / "sam"
EVERY_TASK = {"PublishFunction", "ShiftTrafficFunction", "CheckHealthFunction", "PromoteFunction", "RollbackFunction"}


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """template.yaml built by the SAM CLI, as `sam deploy` would ship it."""
    assert SAM.exists() and (RUNTIME / ".installed").exists(), "`make unit` installs the SAM CLI and the runtime"
    out = tmp_path_factory.mktemp("sam-build")
    subprocess.run([str(SAM), "build", "--build-dir", str(out), "--region", REGION], cwd=ROOT, check=True,
                   capture_output=True, env={**os.environ, "SAM_CLI_TELEMETRY": "0"})
    return out


@pytest.fixture
def callers(sample: SampleFunction) -> Iterator[TrafficSimulator]:
    sim = TrafficSimulator(sample.name, sample.alias)
    sim.start()
    yield sim
    sim.stop()


def whole_on() -> tuple[str, dict[str, float]]:
    alias = get_alias()
    return alias["FunctionVersion"], weights_of(alias)


@pytest.mark.usefixtures("callers")
def test_releases_run_on_the_built_handlers_alone(stack: LocalStack, sample: SampleFunction, build_dir: Path) -> None:
    layer = build_dir / "SharedCodeLayer" / "python" / "bluegreen"
    assert (layer / "jobs" / "health.py").exists() and (layer / "decisions" / "judge.py").exists()
    assert not (layer / "local").exists() and not (layer / "cli").exists()
    with built_functions(stack, build_dir, RUNTIME) as served:
        promoted = release(stack, version=sample.publish("v2", error_rate=0.0))
        assert promoted.status == "SUCCEEDED", promoted.cause
        assert whole_on() == ("2", {})
        rolled_back = release(stack, version=sample.publish("v3", error_rate=0.3))
        assert rolled_back.error == "HealthCheckFailed", rolled_back.cause
        assert whole_on() == ("2", {})
        # Every task ran in the built functions' own processes, none in this one.
        assert {logical_id for logical_id, fn in served.items() if fn.started} >= EVERY_TASK
    assert not stack.router.logs, "a handler ran from the source tree"


def test_a_module_left_out_of_the_layer_fails_as_in_aws(stack: LocalStack, sample: SampleFunction, build_dir: Path,
                                                       tmp_path: Path) -> None:
    broken = tmp_path / "build"
    shutil.copytree(build_dir, broken)
    (broken / "SharedCodeLayer" / "python" / "bluegreen" / "contracts" / "payload.py").unlink()
    before = get_alias()
    with built_functions(stack, broken, RUNTIME):
        result = release(stack, version=sample.publish("v2", error_rate=0.0))
    assert result.status == "FAILED"
    assert result.error == "Runtime.ImportModuleError" and "'payload'" in (result.cause or ""), result.cause
    assert get_alias() == before


def test_the_built_template_writes_out_every_yaml_alias_as_cloudformation_needs(build_dir: Path) -> None:
    """template.yaml says what repeats once (YAML anchors); CloudFormation refuses aliases ("YAML aliases are not
    allowed"), so what `sam build` ships must hold each copy in full, and the same policies."""
    source = load_template(ROOT / "template.yaml")
    built_text = (build_dir / "template.yaml").read_text()
    assert not re.search(r"(^|[\s\[{,-])[&*][A-Za-z][\w-]*", built_text, re.MULTILINE)
    built = load_template(build_dir / "template.yaml")
    functions = [k for k, r in source["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]
    assert len(functions) == 6
    for logical_id in functions:
        assert built["Resources"][logical_id]["Properties"]["Policies"] == \
            source["Resources"][logical_id]["Properties"]["Policies"], logical_id
