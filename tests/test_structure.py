"""Import boundaries: the engine runs with no GUI, and the layers stack without cycles."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import app

ROOT = Path(__file__).resolve().parents[1]


def test_engine_packages_load_no_qt() -> None:
    code = (
        "import sys, app, ipc, main_process, main_process.engine.engine;"
        "import main_process.nodes.builtin;"
        "import app.cli.main;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'qasync'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _imports(package: str) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update((str(path), alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path), node.module))
    return found


def test_layers_do_not_reach_upwards() -> None:
    forbidden = {
        "app": ("main_process", "ipc", "renderer", "PySide6", "qasync"),
        "ipc": ("main_process", "renderer", "PySide6", "qasync"),
        "main_process": ("renderer", "PySide6", "qasync"),
        "renderer": ("main_process",),
    }
    offenders = [
        f"{path} imports {module}"
        for package, banned in forbidden.items()
        for path, module in _imports(package)
        if module.split(".")[0] in banned
    ]
    assert offenders == []


def test_public_names_match_all() -> None:
    public = {
        name
        for name in dir(app)
        if not name.startswith("_") and not inspect.ismodule(getattr(app, name))
    }
    assert set(app.__all__) - {"conductor"} == public - {"annotations"}
