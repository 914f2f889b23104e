"""The real app opens a window on a real X server: Qt's xcb plugin, not offscreen.

Every other window test runs on the offscreen platform, which needs none of the X11
libraries; a machine lacking one (``libxcb-icccm4``) aborted ``conductor`` at start
while the suite stayed green. This test starts Xvfb and runs the app's own entry
point (``renderer.app_main.main``) in a child process with ``QT_QPA_PLATFORM=xcb``;
the child reports once its window is shown and the worker ready, then closes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Run in the child: the app's main(), with a timer that reports and closes the window.
CHILD = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from renderer import app_main
from renderer.main_window import MainWindow

def check():
    windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
    ready = [w for w in windows if w.isVisible() and w.bridge.worker_state == "ready"]
    if not ready:
        QTimer.singleShot(100, check)
        return
    window = ready[0]
    screen = window.screen().availableGeometry()
    print("platform", QApplication.platformName(), flush=True)
    print("window", window.width(), window.height(), "screen", screen.width(), screen.height(),
          flush=True)
    window.ask_before_discarding = False
    window.close()

shown = MainWindow.show

def show(self):  # the app made its QApplication by now: timers work from here
    shown(self)
    QTimer.singleShot(100, check)

MainWindow.show = show
sys.exit(app_main.main([]))
"""


def _start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    """Xvfb on a display number it picks itself (``-displayfd``), 1400x900 like the
    small screen the issue was found on."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        xvfb.kill()
        xvfb.wait()
        pytest.fail("Xvfb did not report a display number")
    return xvfb, f":{number}"


@pytest.mark.slow
def test_the_app_opens_its_window_under_xvfb(tmp_path: Path) -> None:
    if shutil.which("Xvfb") is None:
        pytest.skip("no Xvfb here (apt-get install xvfb)")
    xvfb, display = _start_xvfb()
    try:
        env = {
            **os.environ,
            "DISPLAY": display,
            "QT_QPA_PLATFORM": "xcb",
            "CONDUCTOR_HOME": str(tmp_path / "home"),
            "HOME": str(tmp_path),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_RUNTIME_DIR": str(tmp_path),
            "PYTHONPATH": str(ROOT),
        }
        done = subprocess.run(
            [sys.executable, "-c", CHILD],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "platform xcb" in done.stdout, report
    words = next(line for line in done.stdout.splitlines() if line.startswith("window")).split()
    width, height, screen_w, screen_h = (int(words[i]) for i in (1, 2, 4, 5))
    assert width <= screen_w and height <= screen_h, report  # it fits a 1400x900 screen
