"""The layer order of DESIGN.md holds without tricks: no import hidden inside a function reaches
another app of the project (import-linter checks the order itself in `make test`).

A function-local import between apps is how a cycle gets dodged; the only place one may stand
is an `AppConfig.ready()`, where an upper app registers into a port of a lower one.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = tuple(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not node.level:
        return [node.module or ""]
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return [".".join([*base, *([node.module] if node.module else [])])]


def _local_imports_between_apps() -> set[str]:
    found: set[str] = set()
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module = _module_name(path)
            tree = ast.parse(path.read_text(), filename=str(path))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                if path.name == "apps.py" and function.name == "ready":
                    continue
                for node in ast.walk(function):
                    if not isinstance(node, ast.Import | ast.ImportFrom):
                        continue
                    for name in _imported(node, module, path.name == "__init__.py"):
                        if name.split(".")[0] in APPS and name.split(".")[0] != app:
                            found.add(f"{module} -> {name}")
    return found


def test_no_function_local_import_reaches_another_app():
    hidden = sorted(_local_imports_between_apps())
    assert not hidden, (
        "Imports of another app hidden in a function (import at module level, in the layer "
        "order, or register into a port from AppConfig.ready()):\n" + "\n".join(hidden)
    )
