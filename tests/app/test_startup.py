"""Start-up helpers (issue 10): pydantic without its plugin search, and the garbage
collector paused while a process of ours imports. Each pydantic case runs in a fresh
interpreter, since what it checks is what that process imported."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from app.gc_pause import collector_paused

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**environment, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


_BUILD = (
    "import sys\n"
    "from app.pydantic_plugins import skip_plugin_discovery\n"
    "skip_plugin_discovery()\n"
    "from pydantic import BaseModel\n"
    "class A(BaseModel):\n"
    "    x: int\n"
    "assert A.model_validate({'x': '3'}).x == 3\n"
)


def test_no_plugin_search_and_no_metadata_import() -> None:
    out = _run(
        _BUILD + "import os\n"
        "print(os.environ['PYDANTIC_DISABLE_PLUGINS'], 'importlib.metadata' in sys.modules)\n"
    )
    assert out == "__all__ False"


def test_the_real_loader_answers_once_plugins_are_wanted_again() -> None:
    """The stand-in only answers what pydantic would answer: with the variable
    cleared later, the next model build asks pydantic's own loader."""
    out = _run(
        _BUILD + "import os\n"
        "os.environ['PYDANTIC_DISABLE_PLUGINS'] = ''\n"
        "class B(BaseModel):\n"
        "    y: str\n"
        "assert B(y='a').y == 'a'\n"
        "from pydantic.plugin import _loader\n"
        "print(type(_loader).__name__, 'importlib.metadata' in sys.modules)\n"
    )
    assert out == "module True"


def test_a_users_own_setting_is_left_to_pydantic() -> None:
    """Some plugins disabled by name: pydantic must still search for the others."""
    out = _run(
        _BUILD + "import os\n"
        "print(os.environ['PYDANTIC_DISABLE_PLUGINS'], 'importlib.metadata' in sys.modules)\n",
        PYDANTIC_DISABLE_PLUGINS="some_plugin",
    )
    assert out == "some_plugin True"


def test_collector_paused_restores_it() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # nested: a no-op, the outer block turns it back on
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collector_paused_restores_it_after_an_error() -> None:
    try:
        with collector_paused():
            raise KeyError("x")
    except KeyError:
        pass
    assert gc.isenabled()


def test_an_entry_points_pause_freezes_its_imports() -> None:
    """With ``freeze`` what the block made is never walked again (a process-level
    entry point only); checked in a fresh interpreter, whose heap is its own."""
    out = _run(
        "import gc\n"
        "from app.gc_pause import collector_paused\n"
        "before = gc.get_freeze_count()\n"
        "with collector_paused(freeze=True):\n"
        "    import app.results\n"
        "print(gc.isenabled(), gc.get_freeze_count() > before, gc.get_count()[0] < 700)\n"
    )
    assert out == "True True True"
