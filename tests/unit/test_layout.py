"""The package's folders are its layers, and the imports go one way: the contracts and the decisions reach no
AWS; nothing shipped reaches the CLI or the local run; the handlers reach only what ships."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bluegreen.cli.local_run import local_run

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "bluegreen"
# What never runs in a Lambda (src/build_layer.py leaves them out of the layer).
NOT_SHIPPED = ("cli", "local")
AWS_SDK = ("boto3", "botocore", "mypy_boto3")
LAYERS = ("contracts", "decisions", "aws", "jobs", "cli", "local")
# The most lines a shipped module may have: past it, it holds two things.
MAX_LINES = 275


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def dotted(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function, ``if TYPE_CHECKING`` blocks left out (they
    never run)."""
    tree = ast.parse(path.read_text())
    skipped = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
               and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
               for stmt in block.body for node in ast.walk(stmt)}
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def layer(path: Path) -> str:
    relative = path.relative_to(PACKAGE).parts
    return relative[0] if len(relative) > 1 else "top"


def reaches(names: set[str], *prefixes: str) -> list[str]:
    return sorted(n for n in names if any(n == p or n.startswith(p + ".") for p in prefixes))


SHIPPED = [p for p in modules() if layer(p) not in NOT_SHIPPED]


@pytest.mark.parametrize("path", [p for p in modules() if layer(p) in ("contracts", "decisions")], ids=dotted)
def test_the_contracts_and_the_decisions_reach_no_aws(path: Path) -> None:
    names = imported(path)
    assert not reaches(names, *AWS_SDK), f"{dotted(path)} imports the AWS SDK"
    assert not reaches(names, "bluegreen.aws", "bluegreen.jobs", "bluegreen.cli", "bluegreen.local")


@pytest.mark.parametrize("path", SHIPPED, ids=dotted)
def test_nothing_shipped_reaches_the_cli_or_the_local_run(path: Path) -> None:
    assert not reaches(imported(path), "bluegreen.cli", "bluegreen.local"), dotted(path)


@pytest.mark.parametrize("path", sorted((ROOT / "functions").glob("*/app.py")), ids=lambda p: p.parent.name)
def test_the_handlers_reach_only_what_ships(path: Path) -> None:
    assert not reaches(imported(path), "bluegreen.cli", "bluegreen.local"), path


@pytest.mark.parametrize("path", [p for p in modules() if layer(p) == "cli"], ids=dotted)
def test_the_cli_reaches_the_local_run_only_through_what_it_registers(path: Path) -> None:
    assert not reaches(imported(path), "bluegreen.local"), dotted(path)


def test_the_local_run_registers_what_the_cli_asks_of_it() -> None:
    registered = local_run()
    assert "healthy" in registered.demo.SCENARIOS and registered.active_stack() is None
    assert all(callable(getattr(registered, name)) for name in ("announce_status_change", "server_argv"))


def test_the_adapters_reach_no_job() -> None:
    for path in (p for p in modules() if layer(p) == "aws"):
        assert not reaches(imported(path), "bluegreen.jobs", "bluegreen.cli", "bluegreen.local"), dotted(path)


def test_the_tree_is_the_layers_and_a_handful_of_modules() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(LAYERS)
    assert len(list(PACKAGE.glob("*.py"))) <= 3


def test_no_two_modules_share_a_name() -> None:
    names = [p.stem for p in modules() if p.stem != "__init__"]
    assert sorted({n for n in names if names.count(n) > 1}) == []


@pytest.mark.parametrize("path", SHIPPED, ids=dotted)
def test_each_shipped_module_holds_one_thing(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES, dotted(path)
