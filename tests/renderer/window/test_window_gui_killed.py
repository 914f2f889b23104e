"""The GUI process itself is SIGKILLed with unsaved work: the next window recovers it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pytestqt.qtbot import QtBot

from tests.renderer.window.conftest import open_window

ROOT = Path(__file__).resolve().parents[3]

#: The app on a qasync loop with a fast autosave; one unsaved edit once the node
#: types are in, then it idles until killed.
SCRIPT = """
import asyncio, sys
from pathlib import Path
import qasync
from PySide6.QtWidgets import QApplication
from renderer.settings import settings_path
settings_path(Path(sys.argv[2]))
from renderer.main_window import MainWindow
app = QApplication(sys.argv[:1])
loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)

async def edit_then_idle():
    window = MainWindow(Path(sys.argv[1]), autosave_ms=200, restore=False)
    window.show()
    while window.document.catalog.get("log") is None:
        await asyncio.sleep(0.05)
    window.document.add_node("log", node_id="unsaved_edit", params={"message": "keep me"})
    print("EDITED", flush=True)
    await asyncio.Event().wait()

with loop:
    loop.run_until_complete(edit_then_idle())
"""


def _autosaves(home: Path) -> list[Path]:
    return [p for p in (home / "autosave").glob("*.json") if "unsaved_edit" in p.read_text()]


async def test_gui_killed_then_next_window_recovers(
    qtbot: QtBot, home: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    child = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(home), str(tmp_path / "child-settings")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its worker too, so nothing outlives the test
    )
    try:
        deadline = time.monotonic() + 60
        while not (home / "autosave").is_dir() or not _autosaves(home):
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            assert time.monotonic() < deadline, "no autosave with the edit in time"
            await asyncio.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)  # the orphaned worker, if still there
        child.wait(timeout=10)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()

    window = await open_window(qtbot, home)
    try:
        assert window.recovery_banner.isVisible()
        assert len(window.recoveries) == 1
        assert "unsaved_edit" not in window.document.model.node_ids()
        window.recovery_banner.buttons["Recover"].click()
        assert "unsaved_edit" in window.document.model.node_ids()
        assert window.document.model.node("unsaved_edit").params == {"message": "keep me"}
        assert window.document.is_dirty
        assert not window.recovery_banner.isVisible()
    finally:
        await window.shutdown()
