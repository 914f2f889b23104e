"""python.function with real modules, shell.command with real subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import ValidationError

from app.errors import NodeFailedError
from main_process.nodes.code import FunctionParams

if TYPE_CHECKING:
    from tests.main_process.nodes.conftest import RecordingContext, RunNode

PY = sys.executable

MODULE_SOURCE = """
import asyncio
import threading

def double(x):
    return x * 2

def thread_of(_):
    return threading.get_ident()

def wait_for_release(events):
    events["started"].set()
    return events["release"].wait(10)

async def async_double(x):
    await asyncio.sleep(0)
    return x * 2

def returns_coroutine(x):
    return async_double(x)

class Adder:
    async def __call__(self, x):
        return x + 1

adder = Adder()

def fails(_):
    raise ValueError("bad value")

NOT_CALLABLE = 3
"""


@pytest.fixture
def make_module(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Write a uniquely named module into the blueprint folder; undo its import after."""
    path_before = list(sys.path)
    names: list[str] = []

    def make(source: str) -> str:
        name = f"bp_module_{uuid.uuid4().hex[:10]}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        names.append(name)
        return name

    yield make
    sys.path[:] = path_before
    for name in names:
        sys.modules.pop(name, None)


@pytest.fixture
def module(make_module: Callable[[str], str]) -> str:
    return make_module(MODULE_SOURCE)


@pytest.mark.parametrize("name", ["double", "async_double", "returns_coroutine", "adder"])
async def test_function_sync_and_async(run_node: RunNode, module: str, name: str) -> None:
    expected = 22 if name != "adder" else 12
    assert await run_node("python.function", {"function": f"{module}:{name}"}, 11) == expected


async def test_installed_module_function(run_node: RunNode) -> None:
    assert await run_node("python.function", {"function": "json:dumps"}, [1]) == "[1]"


async def test_sync_function_runs_off_the_loop(run_node: RunNode, module: str) -> None:
    loop_thread = threading.get_ident()
    worker_thread = await run_node("python.function", {"function": f"{module}:thread_of"}, None)
    assert worker_thread != loop_thread

    events = {"started": threading.Event(), "release": threading.Event()}
    task = asyncio.create_task(
        run_node("python.function", {"function": f"{module}:wait_for_release"}, events)
    )
    # The loop must stay free while the function blocks: we get to release it from here.
    await asyncio.wait_for(asyncio.to_thread(events["started"].wait, 10), 10)
    events["release"].set()
    assert await asyncio.wait_for(task, 10) is True


async def test_function_errors_propagate(run_node: RunNode, module: str) -> None:
    with pytest.raises(ValueError, match="bad value"):
        await run_node("python.function", {"function": f"{module}:fails"}, None)


@pytest.mark.parametrize("spec", ["nocolon", "a:b:c", "1mod:f", "mod:", ":f", "a b:c"])
def test_malformed_function_spec_is_a_validation_error(spec: str) -> None:
    with pytest.raises(ValidationError, match="expected module:function"):
        FunctionParams.model_validate({"function": spec})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_for_conductor:f", "cannot import module 'no_such_module_for_conductor'"),
        ("json:no_such_function", "module 'json' has no attribute 'no_such_function'"),
        ("math:pi", "'math:pi' is not callable"),
    ],
)
async def test_unresolvable_function_names_it(run_node: RunNode, spec: str, message: str) -> None:
    with pytest.raises(NodeFailedError) as caught:
        await run_node("python.function", {"function": spec}, None)
    assert message in caught.value.message
    assert caught.value.where == "params.function"


async def test_module_failing_at_import_names_it(
    run_node: RunNode, make_module: Callable[[str], str]
) -> None:
    name = make_module("raise RuntimeError('boom at import')\n")
    with pytest.raises(NodeFailedError, match="RuntimeError: boom at import") as caught:
        await run_node("python.function", {"function": f"{name}:f"}, None)
    assert name in caught.value.message


async def test_shell_json_round_trip(run_node: RunNode) -> None:
    code = "import json, sys; d = json.load(sys.stdin); print(json.dumps({'got': d}))"
    result = await run_node("shell.command", {"argv": [PY, "-c", code]}, {"a": [1, "é"]})
    assert result == {"got": {"a": [1, "é"]}}


async def test_shell_input_param_overrides_node_input(run_node: RunNode) -> None:
    code = "import sys; print(sys.stdin.read())"
    params = {"argv": [PY, "-c", code], "input": [1, 2]}
    assert await run_node("shell.command", params, "ignored") == [1, 2]


async def test_shell_text_and_empty_output(run_node: RunNode) -> None:
    text = await run_node("shell.command", {"argv": [PY, "-c", "print('hello world')"]})
    assert text == "hello world"
    assert await run_node("shell.command", {"argv": [PY, "-c", "pass"]}) is None


async def test_shell_output_that_is_not_utf8_fails_naming_the_byte(run_node: RunNode) -> None:
    """Never a silent U+FFFD (issue 11): bytes that are not text fail the node."""
    with pytest.raises(NodeFailedError) as failed:
        await run_node("shell.command", {"argv": ["printf", "ok\\377\\376"]})
    assert "byte 0xff at offset 2" in failed.value.message
    assert failed.value.where is not None and "output" in failed.value.where


async def test_shell_cwd_and_env(run_node: RunNode, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    code = (
        "import json, os; "
        "print(json.dumps([os.getcwd(), os.environ['X_NODE'], 'PATH' in os.environ]))"
    )
    params = {"argv": [PY, "-c", code], "cwd": "sub", "env": {"X_NODE": 7}}
    assert await run_node("shell.command", params) == [str(tmp_path / "sub"), "7", True]
    default_cwd = await run_node(
        "shell.command", {"argv": [PY, "-c", "import os; print(os.getcwd())"]}
    )
    assert default_cwd == str(tmp_path)


async def test_shell_nonzero_exit_reports_code_and_stderr(run_node: RunNode) -> None:
    code = (
        "import sys; print('line 1', file=sys.stderr); "
        "print('it went wrong', file=sys.stderr); sys.exit(3)"
    )
    with pytest.raises(NodeFailedError) as caught:
        await run_node("shell.command", {"argv": [PY, "-c", code]})
    assert "exited with code 3" in caught.value.message
    assert "it went wrong" in caught.value.message
    assert caught.value.where == "params.argv"


async def test_shell_stderr_of_a_success_is_logged(
    run_node: RunNode, ctx: RecordingContext
) -> None:
    code = "import sys; print('progress', file=sys.stderr); print(1)"
    assert await run_node("shell.command", {"argv": [PY, "-c", code]}) == 1
    assert len(ctx.logs) == 1
    assert "progress" in ctx.logs[0][1]


async def test_shell_missing_program_and_cwd(run_node: RunNode) -> None:
    with pytest.raises(NodeFailedError, match="command not found: no-such-program-xyz"):
        await run_node("shell.command", {"argv": ["no-such-program-xyz"]})
    with pytest.raises(NodeFailedError, match=r"working directory .* does not exist"):
        await run_node("shell.command", {"argv": [PY, "-c", "pass"], "cwd": "missing"})


def _gone(pid: int) -> bool:
    """True once ``pid`` no longer runs (exited, or a zombie nobody has reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state in {"Z", "X"}


async def _until(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (value := condition()):
            await asyncio.sleep(0.01)
    return value


@pytest.mark.skipif(os.name != "posix", reason="checks the process group on POSIX")
async def test_cancel_kills_child_and_grandchild(run_node: RunNode, tmp_path: Path) -> None:
    pids_file = tmp_path / "pids.json"
    code = textwrap.dedent(
        f"""
        import json, os, subprocess, sys, time
        grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        tmp = {str(pids_file)!r} + ".tmp"
        with open(tmp, "w") as f:
            json.dump([os.getpid(), grandchild.pid], f)
        os.replace(tmp, {str(pids_file)!r})
        time.sleep(60)
        """
    )
    task = asyncio.create_task(run_node("shell.command", {"argv": [PY, "-c", code]}))
    await _until(pids_file.exists)
    child, grandchild = json.loads(pids_file.read_text())
    assert not _gone(child)
    assert not _gone(grandchild)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _gone(child)
    await _until(lambda: _gone(grandchild))


async def test_timeout_kills_child(run_node: RunNode, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = (
        f"import os, time; open({str(pid_file)!r} + '.t', 'w').write(str(os.getpid())); "
        f"os.replace({str(pid_file)!r} + '.t', {str(pid_file)!r}); time.sleep(60)"
    )
    task = asyncio.create_task(run_node("shell.command", {"argv": [PY, "-c", code]}))
    await _until(pid_file.exists)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0):
            await task
    assert _gone(int(pid_file.read_text()))


async def test_python_function_may_take_the_context(tmp_path: Path) -> None:
    from app import Blueprint, NodeSpec, create_conductor

    (tmp_path / "ctx_funcs.py").write_text(
        "def sync_logs(value, ctx):\n"
        "    ctx.log('from a thread')\n"
        "    return ctx.node_id\n"
        "async def async_logs(value, ctx):\n"
        "    ctx.log('from the loop')\n"
        "    return value\n"
    )
    c = create_conductor("direct", home=tmp_path / "home", base_dir=tmp_path, plugins=False)
    try:
        bp = Blueprint(
            id="ctx",
            nodes=[
                NodeSpec(
                    id="s", type="python.function", params={"function": "ctx_funcs:sync_logs"}
                ),
                NodeSpec(
                    id="a", type="python.function", params={"function": "ctx_funcs:async_logs"}
                ),
            ],
        )
        eid = await c.start(blueprint=bp)
        events = [e async for e in c.events(eid)]
        result = await c.wait(eid)
    finally:
        await c.close()
    assert result.outputs == "s"
    logs = [e.data["message"] for e in events if e.kind == "log" and e.data]
    assert logs == ["from a thread", "from the loop"]


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
async def test_output_over_the_limit_fails_and_stops_the_program(
    run_node: RunNode, monkeypatch: pytest.MonkeyPatch, stream: str
) -> None:
    monkeypatch.setenv("CONDUCTOR_MAX_PROCESS_OUTPUT_BYTES", "100000")
    redirect = "" if stream == "stdout" else " 1>&2"
    with pytest.raises(NodeFailedError) as info:  # ``yes`` never stops by itself
        await run_node("shell.command", {"argv": ["sh", "-c", f"yes{redirect}"]})
    assert f"({stream}) wrote more than 100,000 bytes" in str(info.value)
