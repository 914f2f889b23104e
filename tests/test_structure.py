"""Import boundaries: the engine runs with no GUI, and the layers stack without cycles."""

from __future__ import annotations

import ast
import inspect
import json
import os
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


# -- the store boundary and the one event cursor (issue 10) -----------------------------

#: SQL that only the store may write. ``nodes/sql.py`` is the ``sqlite.query`` and
#: ``sqlite.write`` node types: SQL on the user's own databases, not the store's.
SQL_KEYWORDS = ("SELECT ", "INSERT ", "UPDATE ", "DELETE FROM", "CREATE TABLE", "PRAGMA")
SQL_NODE_TYPES = ROOT / "main_process" / "nodes" / "sql.py"


def test_no_sql_outside_the_store() -> None:
    store = ROOT / "main_process" / "store"
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "main_process").rglob("*.py"))
        if store not in path.parents and path != SQL_NODE_TYPES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(keyword in line for keyword in SQL_KEYWORDS)
    ]
    assert offenders == []


def _calls(path: Path) -> list[tuple[str, int]]:
    """``(called name, line)`` for every call in a module (attribute or plain name)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            found.append((name, node.lineno))
    return found


def test_only_the_cursor_reads_the_event_record_for_followers() -> None:
    """SSE, the pipe's stream and in-process followers all go through EventCursor:
    nothing else in the engine reads event pages or waits on an execution's events."""
    readers = {"event_rows", "event_rows_after", "events_after", "stored_events", "watch"}
    allowed = {
        ROOT / "main_process" / "events" / "cursor.py",
        ROOT / "main_process" / "events" / "log.py",  # defines them
        ROOT / "main_process" / "engine" / "state_manager.py",  # defines them
        # The seed API's ``events()``: a snapshot of the record, never a follower.
        ROOT / "main_process" / "seed" / "state_manager.py",
    }
    store = ROOT / "main_process" / "store"
    offenders = [
        f"{path.relative_to(ROOT)}:{line} calls {name}"
        for path in sorted((ROOT / "main_process").rglob("*.py"))
        if path not in allowed and store not in path.parents
        for name, line in _calls(path)
        if name in readers
    ]
    assert offenders == []
    cursor_module = "main_process.events.cursor"
    for adapter in ("events/follow.py", "events/pipe_stream.py", "http/events.py"):
        modules = {module for _, module in _imports(f"main_process/{adapter.split('/')[0]}")}
        assert cursor_module in modules, adapter
        source = (ROOT / "main_process" / adapter).read_text(encoding="utf-8")
        assert "next_page(" in source, f"{adapter} does not pull from the cursor"


#: Store reads and transactions that block on SQLite (and may wait on other processes).
BLOCKING_STORE_CALLS = {
    "recover_orphans",
    "mark_interrupted",
    "load_execution",
    "stored_node_output",
    "event_rows",
    "last_seq",
    "list_executions",
    "reusable_outputs",
    "current_blueprint",
    "control_target",
    "request_control",
    "take_control_requests",
    "flush_sync",
}


def test_no_blocking_store_call_on_the_event_loop() -> None:
    """Inside ``async def`` bodies, blocking store calls go through ``asyncio.to_thread``
    (an awaited call of the same name is a coroutine, so it is fine)."""
    offenders = []
    for path in sorted((ROOT / "main_process").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.AsyncFunctionDef):
                continue
            awaited = {id(node.value) for node in ast.walk(function) if isinstance(node, ast.Await)}
            for node in ast.walk(function):
                if not isinstance(node, ast.Call) or id(node) in awaited:
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in BLOCKING_STORE_CALLS:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} calls {name}")
    assert offenders == []


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


# -- start-up: what the two start paths load (issue 10, "Benchmarks and start-up") -----

#: Never on either start path: the GUI, the HTTP server and client, the editor's
#: templating, YAML — each is imported by the code that uses it, when it is used.
NEVER_AT_START = ("PySide6", "qasync", "fastapi", "uvicorn", "starlette", "httpx", "jinja2", "yaml")

#: Not for a run of built-in nodes on threads: pydantic's plugin search (with
#: importlib.metadata, see app.pydantic_plugins), process runners and ctypes (a
#: firing evaluation limit), secrets back ends, the trigger runtime's file watcher.
NOT_FOR_A_RUN = (
    "importlib.metadata",
    "email",
    "zipfile",
    "multiprocessing",
    "ctypes",
    "keyring",
    "cryptography",
    "watchfiles",
    "croniter",
    "dask",
)

#: Built-in node modules a blueprint of ``json.transform`` nodes does not use (the
#: registry imports a type's module on its first lookup).
UNUSED_NODE_MODULES = (
    "main_process.nodes.http",
    "main_process.nodes.flow",
    "main_process.nodes.files",
    "main_process.nodes.sql",
    "main_process.nodes.code",
)


def _w1(folder: Path) -> Path:
    nodes = [
        {"id": f"n{i}", "type": "json.transform", "params": {"expression": "@"}} for i in range(3)
    ]
    path = folder / "w1.json"
    path.write_text(json.dumps({"id": "w1", "nodes": nodes}), encoding="utf-8")
    return path


def _loaded(code: str, tmp_path: Path) -> set[str]:
    """The top-level and our own modules loaded by ``code`` run in a fresh interpreter
    (no terminal: stdout is a pipe), read at its exit."""
    out = tmp_path / "modules.json"
    prologue = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: open({str(out)!r}, 'w').write(json.dumps(sorted(sys.modules))))\n"
    )
    env = {**os.environ, "CONDUCTOR_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    env.pop("CONDUCTOR_API_URL", None)
    env.pop("CONDUCTOR_IN_GUI", None)
    done = subprocess.run(
        [sys.executable, "-c", prologue + code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return set(json.loads(out.read_text(encoding="utf-8")))


def _offenders(modules: set[str], banned: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == b or m.startswith(b + ".") for b in banned))


def test_conductor_run_start_path_stays_light(tmp_path: Path) -> None:
    """``conductor run w1.json --json`` as a whole process: no GUI, HTTP, rich (stdout is
    not a terminal), templating engine or YAML, and only the node modules it runs."""
    blueprint = _w1(tmp_path)
    modules = _loaded(
        "import runpy\n"
        f"sys.argv = ['conductor', 'run', {str(blueprint)!r}, '--json']\n"
        "try:\n"
        "    runpy.run_module('app', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n",
        tmp_path,
    )
    assert "main_process.nodes.data" in modules  # the run really happened
    banned = (*NEVER_AT_START, *NOT_FOR_A_RUN, "rich", *UNUSED_NODE_MODULES)
    assert _offenders(modules, banned) == []


def test_worker_start_path_stays_light(tmp_path: Path) -> None:
    """The pipe worker's imports and its engine opened: no CLI (click), no unified API,
    no GUI, HTTP, rich, templating or YAML, and no node module before a run needs it."""
    modules = _loaded(
        "import asyncio\n"
        "import ipc.bootstrap\n"  # what a spawn child imports first (its target's module)
        "import main_process.worker as worker\n"
        "from ipc.messages import Hello, WorkerConfig, encode\n"
        "worker.skip_plugin_discovery()\n"  # as worker.serve does first
        "async def main():\n"
        f"    config = WorkerConfig.model_validate({{'home': {str(tmp_path / 'home')!r}}})\n"
        "    engine = worker._engine(config)\n"
        "    encode(Hello(pid=1))\n"
        "    await engine.close()\n"
        "asyncio.run(main())\n",
        tmp_path,
    )
    assert "main_process.engine.engine" in modules
    banned = (*NEVER_AT_START, "rich", "click", "app.api", "app.cli", "renderer")
    not_yet = tuple(m for m in NOT_FOR_A_RUN if m != "multiprocessing")  # a spawn child
    assert _offenders(modules, (*banned, *not_yet, *UNUSED_NODE_MODULES)) == []


def test_spawned_worker_imports_only_its_entry_point_first(tmp_path: Path) -> None:
    """A ``spawn`` child imports its target's module before anything else; that module
    must not bring the pipe client, the unified API or pydantic with it."""
    from ipc.process import WorkerProcess

    source = inspect.getsource(WorkerProcess)
    assert "target=run_entry_point" in source
    modules = _loaded("import ipc.bootstrap\n", tmp_path)
    assert _offenders(modules, ("app", "pydantic", "main_process", "ipc.process")) == []
