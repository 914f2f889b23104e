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


def _state_literals(package: Path, root: Path = ROOT) -> list[str]:
    """Every string constant in ``package`` that spells an execution or node state
    (text inside an f-string is prose, not a state, and is left alone)."""
    from app.states import ExecutionStatus, NodeStatus

    states = {s.value for s in ExecutionStatus} | {s.value for s in NodeStatus}
    found = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        prose = {
            id(part)
            for node in ast.walk(tree)
            if isinstance(node, ast.JoinedStr)
            for part in node.values
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in states and id(node) not in prose:
                found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
    return found


def test_no_state_string_literals_in_the_gui_or_the_cli() -> None:
    """States are the enums' members (and their ``is_terminal``), never hand-copied
    strings or sets: a new state (``paused``) then reaches every view at once."""
    assert _state_literals(ROOT / "renderer") == []
    assert _state_literals(ROOT / "app" / "cli") == []


def test_the_state_literal_scan_finds_them(tmp_path: Path) -> None:
    (tmp_path / "view.py").write_text(
        'if status == "interrupted":\n    done = status in ("completed", "x")\n'
        'print(f"interrupted {status}")\n'
    )
    assert _state_literals(tmp_path, tmp_path) == [
        "view.py:1: 'interrupted'",
        "view.py:2: 'completed'",
    ]
