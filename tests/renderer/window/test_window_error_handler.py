"""The window shows that a failed run started its error handler, and opens it."""

from __future__ import annotations

import socket

from app.blueprint import Blueprint
from renderer.main_window import MainWindow
from tests.renderer.window.conftest import until


def _closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


async def test_failed_run_links_to_its_error_handler_run(window: MainWindow) -> None:
    conductor = window.bridge.conductor
    await conductor.save_blueprint(
        {
            "id": "on-failure",
            "nodes": [{"id": "note", "type": "set", "params": {"value": "{{ inputs.node_id }}"}}],
        }
    )
    window.document.load(
        Blueprint.model_validate(
            {
                "id": "fragile",
                "error_handler": "on-failure",
                "nodes": [
                    {
                        "id": "fetch",
                        "type": "http.request",
                        "params": {"url": _closed_url(), "timeout": 2},
                    },
                    {"id": "guard", "type": "catch", "params": {"nodes": ["other"]}},
                    {"id": "other", "type": "set", "params": {"value": 1}},
                ],
                "edges": [{"source": "other", "target": "guard"}],
            }
        )
    )
    assert window.scene.node_item("guard") is not None  # a catch draws like any node
    field = window.blueprint_panel.error_handler
    assert field.text() == "on-failure"  # the Blueprint tab shows it, and edits it:
    field.setText("not an id!")
    field.editingFinished.emit()
    assert window.blueprint_panel.error_handler_message.text()
    assert window.document.to_blueprint().error_handler == "on-failure"
    field.setText("")
    field.editingFinished.emit()
    assert window.document.to_blueprint().error_handler is None
    window.document.undo_stack.undo()
    assert window.document.to_blueprint().error_handler == "on-failure"
    assert field.text() == "on-failure"
    failed_id = await window.runs.run()
    assert failed_id is not None
    monitor = window.monitor
    await until(lambda: not monitor.link_label.isHidden(), what="the handler link")
    view = window.bridge.model.execution(failed_id)
    assert view is not None and view.error_handler_execution is not None
    handler_id = view.error_handler_execution
    assert "error handler run" in monitor.link_label.text()
    assert handler_id[:8] in monitor.link_label.text()

    await until(
        lambda: any(
            "→ handler" in (item.text() if item else "")
            for item in (window.history.item(r) for r in range(window.history.count()))
        ),
        what="the History row's mark",
    )
    await until(lambda: handler_id in window.history.execution_ids(), what="handler row")

    monitor.link_label.linkActivated.emit(handler_id)  # as a click on the link
    await until(lambda: monitor.execution_id == handler_id, what="the handler run shown")
    await until(lambda: "handles" in monitor.link_label.text(), what="the way back")
    assert failed_id[:8] in monitor.link_label.text()
