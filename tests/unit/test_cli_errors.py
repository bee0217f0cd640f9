"""A user's mistake on the command line: one line saying what is wrong, exit 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bluegreen.cli.main import app


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.output


@pytest.mark.parametrize("command", [("plan", "{}", "--offline"), ("local", "create", "{}")], ids=" ".join)
@pytest.mark.parametrize(("name", "content", "said"), [
    ("nope.json", None, "cannot read it: No such file or directory"),
    ("", None, "cannot read it: Is a directory"),
    ("bad.json", b"\xff\xfe{}", "not UTF-8 text"),
    ("list.json", b"[1]", "must be a JSON object"),
])
def test_an_input_file_that_cannot_be_read_is_one_line(tmp_path: Path, command: tuple[str, ...], name: str,
                                                      content: bytes | None, said: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    # Said before anything starts (`local create` starts no local AWS for it).
    code, output = run(*(str(path) if arg == "{}" else arg for arg in command))
    assert code == 2 and said in output and "Traceback" not in output, output
    assert output.startswith("error: ") and output.count("\n") == 1


def test_a_bad_demo_strategy_is_said_before_anything_starts() -> None:
    code, output = run("demo", "--strategy", "{bad", "--report", "")
    assert code == 2 and output.startswith("error: --strategy: not JSON") and output.count("\n") == 1, output


def test_the_version() -> None:
    code, output = run("--version")
    assert code == 0 and output.startswith("bluegreen ") and output.strip().split()[1][0].isdigit()


def test_no_region_is_said_plainly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.setenv(name, "")  # recorded first, so that whatever the CLI sets is undone
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    code, output = run("status", "some-release", "--stack", "bluegreen")
    assert (code, output) == (4, "error: no AWS region: export AWS_REGION=... (or AWS_DEFAULT_REGION), or give your "
                                 "profile one (aws configure)\n")


def test_aws_region_is_read_as_the_aws_cli_reads_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "")  # recorded first, so that the value the CLI sets is undone
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: the call is refused at once
    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}.items():
        monkeypatch.setenv(name, value)
    code, output = run("status", "some-release", "--stack", "bluegreen")
    assert code == 4 and output.startswith("error: stack bluegreen not found or not readable: cannot reach AWS at "
                                           "http://127.0.0.1:9"), output
    assert output.count("\n") == 1


def test_verbose_shows_the_traceback_before_the_line(tmp_path: Path) -> None:
    code, output = run("--verbose", "plan", str(tmp_path / "nope.json"), "--offline")
    assert code == 2 and output.startswith("Traceback (most recent call last):"), output
    assert output.splitlines()[-1] == f"error: {tmp_path / 'nope.json'}: cannot read it: No such file or directory"
