"""A flood of events keeps the window responsive; layout and files persist."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from pytestqt.qtbot import QtBot

from app.blueprint import Blueprint
from app.events import NodeEvent
from app.states import NodeStatus
from renderer.bridge import FLUSH_HZ
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import _no_questions, open_window, until


async def test_100k_events_repaint_at_a_bounded_rate(window: MainWindow) -> None:
    updates: list[str] = []
    window.bridge.execution_updated.connect(updates.append)
    window.bridge.model.ensure("flood", "flood")
    window.runs.show_execution("flood")
    loop = asyncio.get_running_loop()
    began = loop.time()
    longest_gap = 0.0
    for chunk in range(100):
        tick = loop.time()
        for k in range(1000):
            seq = chunk * 1000 + k + 1
            window.bridge.model.apply(
                NodeEvent(
                    execution_id="flood",
                    seq=seq,
                    ts=1000 + seq / 1e4,
                    node_id=f"n{seq % 200}",
                    status=NodeStatus.RUNNING if k % 2 else NodeStatus.COMPLETED,
                    attempt=1,
                )
            )
        await asyncio.sleep(0)  # the GUI gets the loop between chunks
        longest_gap = max(longest_gap, loop.time() - tick)
    await until(lambda: window.monitor.table_model.rowCount() == 200, what="rows shown")
    elapsed = loop.time() - began
    assert len(updates) <= elapsed * FLUSH_HZ * 1.5 + 5
    assert longest_gap < 0.5
    assert window.monitor.log_view.document().blockCount() <= 2001


async def test_layout_and_open_file_persist(qtbot: QtBot, home: Path, tmp_path: Path) -> None:
    path = tmp_path / "kept.json"
    path.write_text(
        Blueprint(id="kept", name="Kept").model_dump_json(exclude_defaults=True), "utf-8"
    )
    first = await open_window(qtbot, home)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(
        QPointF(40, 40),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    first.dropEvent(drop)
    assert first.document.path == path
    first.docks[2].hide()  # the monitor
    await first.shutdown()

    second = MainWindow(home)
    qtbot.addWidget(second, before_close_func=_no_questions)
    try:
        assert second.document.path == path
        assert str(path) in second.settings.recent_files()
        second.show()
        await until(lambda: second.bridge.worker_state == "ready", what="worker ready")
        assert not second.docks[2].isVisible()
        assert second.docks[0].isVisible()
    finally:
        await second.shutdown()
