"""Worker crash, autosave recovery, bad files: every failure ends in a message."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.blueprint import Blueprint
from renderer.canvas.state_badge import BadgeState
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import open_window, until
from tests.renderer.window.test_window_run import badge, shot

CHAIN = {
    "id": "chain",
    "name": "Chain with a wait",
    "nodes": [
        {"id": "first", "type": "set", "params": {"value": {"n": 1}}},
        {"id": "wait", "type": "delay", "params": {"seconds": 2.0}},
        {"id": "last", "type": "log", "params": {"message": "done"}},
    ],
}


async def test_worker_killed_mid_run_then_resumed(window: MainWindow) -> None:
    window.document.load(Blueprint.model_validate(CHAIN))
    window.view.fit_to_view()
    execution_id = await window.runs.run()
    assert execution_id is not None
    await until(lambda: badge(window, "wait") == BadgeState.RUNNING, what="wait running")
    old_pid = window.bridge.worker_pid
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)
    await until(window.crash_banner.isVisible, timeout=5, what="crash banner")
    assert "stopped unexpectedly" in window.crash_banner.label.text()
    view = window.bridge.model.execution(execution_id)
    assert view is not None
    await until(lambda: view.status == "interrupted", what="interrupted")
    await until(
        lambda: window.bridge.worker_state == "ready" and window.bridge.worker_pid != old_pid,
        what="restarted worker",
    )
    # The node that was running no longer spins: interrupted (as seen live) or
    # cancelled (as the restarted engine's recovery recorded it).
    stopped = {BadgeState.INTERRUPTED, BadgeState.CANCELLED}
    await until(lambda: badge(window, "wait") in stopped, what="wait stopped")
    assert "ready" in window.worker_label.text()
    shot(window, "window-crash-banner.png")
    window.crash_banner.buttons["Resume"].click()
    await until(lambda: view.status == "completed", timeout=30, what="resumed to completion")
    await until(lambda: badge(window, "last") == BadgeState.COMPLETED, what="last completed")
    assert not window.crash_banner.isVisible()


async def test_autosave_then_recovery_after_a_crash(qtbot: QtBot, home: Path) -> None:
    first = await open_window(qtbot, home)
    first.document.load(Blueprint.model_validate(CHAIN))
    first.document.add_node("log", node_id="extra", params={"message": "unsaved"})
    assert first.document.is_dirty
    assert first.autosaver.save_now()
    first.autosaver.abandon()  # the "crash": the session ends without a clean close
    await first.shutdown()
    assert first.autosaver.path.exists()

    second = await open_window(qtbot, home)
    try:
        assert second.recovery_banner.isVisible()
        assert len(second.recoveries) == 1
        second.recovery_banner.buttons["Recover"].click()
        assert "extra" in second.document.model.node_ids()
        assert second.document.is_dirty
        assert second.windowTitle().endswith("*")
        assert not second.recovery_banner.isVisible()
    finally:
        await second.shutdown()
    third = await open_window(qtbot, home)
    try:
        assert not third.recoveries  # a clean close leaves nothing to recover
    finally:
        await third.shutdown()


async def test_bad_files_give_messages_not_crashes(window: MainWindow, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"id": "x", "nodes": [', encoding="utf-8")
    wrong = tmp_path / "picture.json"
    wrong.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n", encoding="utf-8")
    before = window.document.model.blueprint_id
    for path in (broken, wrong, listing, tmp_path / "missing.json", tmp_path):
        assert window.open_file(path) is False
        assert path.name in window.last_error
    assert window.document.model.blueprint_id == before
    good = tmp_path / "chain.json"
    good.write_text(Blueprint.model_validate(CHAIN).model_dump_json(), encoding="utf-8")
    assert window.open_file(good) is True
    assert window.windowTitle() == "Conductor — chain.json"
    assert str(good) in window.settings.recent_files()
