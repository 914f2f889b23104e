"""``renderer.app_main.main`` opens the window with a file and exits cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
def close():
    for widget in QApplication.topLevelWidgets():
        if widget.windowTitle().startswith("Conductor"):
            print("TITLE", widget.windowTitle(), flush=True)
            widget.close()
QTimer.singleShot(1500, close)
from renderer.app_main import main
sys.exit(main([sys.argv[1]]))
"""


def test_main_opens_the_file_and_exits(tmp_path: Path) -> None:
    blueprint = tmp_path / "hello.json"
    blueprint.write_text(json.dumps({"id": "hello", "nodes": []}), encoding="utf-8")
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "CONDUCTOR_HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(blueprint)],
        cwd=ROOT,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "TITLE Conductor — hello.json" in done.stdout
