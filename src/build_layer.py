"""sam build's recipe for SharedCodeLayer (src/Makefile): the bluegreen package and every subpackage of it, by
name, as Lambda imports them from a layer (``python/`` is on the functions' path), without what never runs in
AWS: the CLI and the local run. A module added to a shipped package ships; the artifact
test (tests/e2e/test_built_artifact.py) runs the handlers from this output alone.

    python3 build_layer.py ARTIFACTS_DIR
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

PACKAGE = "bluegreen"
# Subpackages and modules that never run in a Lambda.
NOT_SHIPPED = frozenset({"bluegreen.local", "bluegreen.cli"})


def shipped_modules(root: Path) -> list[Path]:
    """Every module of the package and its subpackages (a folder with __init__.py), less NOT_SHIPPED, with the
    package's py.typed: paths relative to ``root``."""
    found: list[Path] = []
    for init in sorted((root / PACKAGE).rglob("__init__.py")):
        package = init.parent.relative_to(root)
        dotted = ".".join(package.parts)
        if any(dotted == n or dotted.startswith(n + ".") for n in NOT_SHIPPED):
            continue
        for module in sorted(init.parent.glob("*.py")):
            name = ".".join((*package.parts, module.stem)) if module.stem != "__init__" else dotted
            if name not in NOT_SHIPPED:
                found.append(module.relative_to(root))
    return [*found, Path(PACKAGE) / "py.typed"]


def build(root: Path, artifacts: Path) -> None:
    for module in shipped_modules(root):
        target = artifacts / "python" / module
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / module, target)


if __name__ == "__main__":
    build(Path(__file__).resolve().parent, Path(sys.argv[1]))
