"""``conductor run`` of a blueprint with an error handler: the failed run names the
handler it started, ``show`` and ``history`` show the link both ways."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.app.test_cli import conductor


def _closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/items"


def test_run_show_and_history_show_the_handler_link(home: Path) -> None:
    failed = conductor("run", "nightly-sync", "--input", f"url={_closed_url()}", home=home)
    assert failed.returncode == 1, failed.stderr
    assert "Traceback" not in failed.stderr
    assert "error handler: " in failed.stderr

    rows = json.loads(conductor("history", "--json", home=home).stdout)
    by_blueprint = {row["blueprint_id"]: row for row in rows}
    sync, handler = by_blueprint["nightly-sync"], by_blueprint["notify-failure"]
    assert sync["status"] == "failed"
    assert handler["status"] == "completed"  # the command let it finish
    assert sync["error_handler_execution_id"] == handler["execution_id"]
    assert handler["handler_for"] == sync["execution_id"]

    table = conductor("history", home=home).stdout.splitlines()
    assert table[0].split()[-1] == "LINK"
    assert any(f"error handler {handler['execution_id']}" in line for line in table)
    assert any(f"handles {sync['execution_id']}" in line for line in table)

    shown = conductor("show", sync["execution_id"], home=home).stdout
    assert f"handler    {handler['execution_id']}" in shown
    shown_handler = conductor("show", handler["execution_id"], home=home).stdout
    assert f"handles    {sync['execution_id']}" in shown_handler
