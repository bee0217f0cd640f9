"""Load a function's handler as the Lambda runtime does: the module named by its ``Handler``, from the
directory its ``CodeUri`` names (layers' packages, ``bluegreen`` here, are importable as usual).

Each file is loaded once, under a module name made from its path (``functions/publish/app.py`` is
``functions.publish.app``): many functions call their module ``app``, and a test that patches a
handler's module (``handler_module``) reaches the code the local run calls.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

_LOADING = threading.Lock()


def _module_name(path: Path, root: Path) -> str:
    relative = path.resolve().relative_to(root.resolve()).with_suffix("")
    return ".".join(part.replace("-", "_") for part in relative.parts)


def load_module(code_dir: Path, module: str, root: Path) -> ModuleType:
    """``module`` (``app``, or ``package.app``) from ``code_dir``, loaded once for the whole process."""
    path = code_dir / (module.replace(".", "/") + ".py")
    name = _module_name(path, root)
    with _LOADING:
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"no handler module at {path}")
            loaded = importlib.util.module_from_spec(spec)
            sys.modules[name] = loaded
            try:
                spec.loader.exec_module(loaded)
            except BaseException:
                del sys.modules[name]
                raise
        return sys.modules[name]


def load_handler(code_dir: Path, handler: str, root: Path) -> Callable[[Any, Any], Any]:
    """The function ``Handler`` (``module.attribute``) names, from ``code_dir``."""
    module, _, attribute = handler.rpartition(".")
    found: Callable[[Any, Any], Any] = getattr(load_module(code_dir, module, root), attribute)
    return found


def function_code(template: dict[str, Any], logical_id: str) -> tuple[str, str]:
    """(CodeUri, Handler) of a function of ``template``, its Globals applied."""
    props = {**template.get("Globals", {}).get("Function", {}), **template["Resources"][logical_id]["Properties"]}
    return props["CodeUri"], props["Handler"]


def template_handler(logical_id: str, root: Path) -> Callable[[Any, Any], Any]:
    """The handler of ``logical_id`` in ``root``/template.yaml, loaded as the local run loads it."""
    from bluegreen.local.template import load_template  # noqa: PLC0415 - YAML only when asked for

    code_uri, handler = function_code(load_template(root / "template.yaml"), logical_id)
    return load_handler(root / code_uri, handler, root)
