"""Installation fits who installs it: the CLI against a deployed stack needs neither the embedded run's
dependencies (moto, PyYAML) nor the Lambdas' (Powertools)."""

from __future__ import annotations

import subprocess
import sys

LOCAL_ONLY = ("moto", "yaml", "aws_lambda_powertools")


def test_the_cli_against_aws_imports_nothing_of_the_local_extra() -> None:
    # Every module an operator's command uses against AWS, imported in a fresh interpreter.
    code = ("import sys; import bluegreen.cli.main, bluegreen.cli.commands, bluegreen.cli.deployed_stack, "
            "bluegreen.cli.report, bluegreen.cli.plan; "
            f"print(sorted(m for m in {LOCAL_ONLY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_without_the_local_extra_the_demo_says_what_to_install() -> None:
    # moto made unimportable, as on an operator's machine without the extra.
    code = ("import sys; sys.modules['moto'] = None; from typer.testing import CliRunner; "
            "from bluegreen.cli.main import app; r = CliRunner().invoke(app, ['demo']); "
            "print(r.exit_code); print(r.output)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    code_line, *message = out.stdout.splitlines()
    assert code_line == "2" and "pip install 'bluegreen[local]'" in "\n".join(message)
