"""Window tests: a qasync loop per test, QSettings in a temp dir, a real worker.

The ``pytest_asyncio_loop_factories`` hook lives here, not in the parent
conftest, so only these tests run on qasync; the other renderer tests keep their
plain loop. Tests ``await`` conditions (never ``qtbot.wait*`` inside a coroutine,
which would start a nested loop under the running task).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
import qasync
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from renderer.main_window import MainWindow
from renderer.settings import settings_path


def _qasync_loop() -> asyncio.AbstractEventLoop:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([])
    app.setQuitOnLastWindowClosed(False)  # closing a window must not stop the test's loop
    loop: asyncio.AbstractEventLoop = qasync.QEventLoop(app)
    return loop


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    return {"qasync": _qasync_loop}


async def until(condition: Callable[[], object], timeout: float = 30.0, what: str = "") -> None:
    """Await ``condition()`` becoming truthy, yielding to the loop (Qt included)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.02)


async def activate(window: QWidget) -> None:
    """Make ``window`` the active window, as a user's click on it would, before a key
    shortcut: window shortcuts fire only in the active window. On the offscreen
    platform a popup (a completer's list, shown and hidden while typing) takes the
    activation when its queued window-system events are processed, which under load
    is after the typing is done, and leaves no window active once hidden."""
    for _ in range(3):  # yield to the loop: the queued activations arrive meanwhile
        await asyncio.sleep(0.02)  # (never QApplication.processEvents() in a coroutine:
        # re-entered, qasync stopped running callbacks and a test's teardown hung)
    await until(lambda: QApplication.activePopupWidget() is None, what="popups closed")
    if QApplication.activeWindow() is not window:
        window.activateWindow()
    await until(lambda: QApplication.activeWindow() is window, what="the window active")


@pytest.fixture(autouse=True)
def _settings(tmp_path: Path) -> None:
    settings_path(tmp_path / "settings")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def _no_questions(window: object) -> None:
    """pytest-qt closes test windows at teardown, where nobody can answer a question."""
    if isinstance(window, MainWindow):
        window.ask_before_discarding = False


async def open_window(qtbot: QtBot, home: Path) -> MainWindow:
    window = MainWindow(home, restore=False)
    qtbot.addWidget(window, before_close_func=_no_questions)
    window.show()
    await until(lambda: window.bridge.worker_state == "ready", what="worker ready")
    await until(lambda: window.document.catalog.get("delay") is not None, what="node types")
    return window


@pytest.fixture
async def window(qtbot: QtBot, home: Path) -> AsyncIterator[MainWindow]:
    win = await open_window(qtbot, home)
    yield win
    await win.shutdown()
