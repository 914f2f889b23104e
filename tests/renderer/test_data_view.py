"""DataView over an in-memory page source: pages arrive as the views ask for them, the
tree builds branches only when expanded, records get a table, errors and inputs show.

The real transports' paging is covered by ``tests/test_contract_output.py``; here the
fetcher is a coroutine over a list, and tests ``await view.settled()`` (no qtbot.wait*
inside coroutines)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QFontInfo
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.errors import ErrorInfo
from app.results import OutputPage
from renderer.data_models import CHILD_BATCH, preview
from renderer.data_view import DataView

ROOT = Path(__file__).resolve().parents[2]


class FakeFetcher:
    """Pages of ``value`` as the engine would give them; remembers every request."""

    def __init__(self, value: Any, *, gate: asyncio.Event | None = None) -> None:
        self.value = value
        self.calls: list[tuple[int, int]] = []
        self.gate = gate

    async def __call__(self, offset: int, limit: int) -> OutputPage:
        self.calls.append((offset, limit))
        if self.gate is not None:
            await self.gate.wait()
        size = 30 * len(self.value) if isinstance(self.value, list) else 10
        return OutputPage.of("e1", "n1", self.value, offset=offset, limit=limit, size_bytes=size)


def records(n: int) -> list[dict[str, Any]]:
    return [{"id": i, "group": f"g{i % 10}", "value": i % 97} for i in range(n)]


def make_view(qtbot: QtBot, page_size: int = 100) -> DataView:
    view = DataView(page_size=page_size)
    qtbot.addWidget(view)
    return view


async def test_records_get_a_table_that_pages_on_demand(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    fetch = FakeFetcher(records(1_000))
    view.set_source(fetch, title="generate")
    await view.settled()
    assert view.table_model is not None and view.tree_model is not None
    assert view.table_model.columns == ["id", "group", "value"]
    assert view.table_model.rowCount() == 100
    assert view.tree_model.rowCount() == 100
    assert view.tabs.tabText(0) == "Table" and view.tabs.currentWidget() is view.table
    assert "1,000 items" in view.header.text()
    assert view.table_model.data(view.table_model.index(99, 1)) == "g9"
    right = view.table_model.data(view.table_model.index(99, 2), Qt.ItemDataRole.TextAlignmentRole)
    assert right is not None and right & Qt.AlignmentFlag.AlignRight
    assert view.table_model.canFetchMore(QModelIndex())
    view.table_model.fetchMore(QModelIndex())
    view.table_model.fetchMore(QModelIndex())  # one fetch at a time: a no-op while pending
    await view.settled()
    assert view.table_model.rowCount() == 200 == view.tree_model.rowCount()
    assert fetch.calls == [(0, 100), (100, 100)]
    while view.table_model.canFetchMore(QModelIndex()):
        view.table_model.fetchMore(QModelIndex())
        await view.settled()
    assert view.table_model.rowCount() == 1_000
    assert all(limit == 100 for _offset, limit in fetch.calls)


async def test_scrolling_to_the_end_fetches_the_next_page(qtbot: QtBot) -> None:
    view = make_view(qtbot, page_size=50)
    view.resize(600, 400)
    view.show()
    view.set_source(FakeFetcher(records(500)), title="rows")
    await view.settled()
    QApplication.processEvents()
    await view.settled()
    assert view.table_model is not None
    before = view.table_model.rowCount()
    assert 50 <= before < 500
    view.table.scrollToBottom()
    QApplication.processEvents()
    await view.settled()
    assert view.table_model.rowCount() > before


async def test_the_tree_builds_children_only_when_expanded(qtbot: QtBot) -> None:
    shared = list(range(2_000))
    big = [{"name": f"n{i}", "tags": shared} for i in range(100_000)]
    view = make_view(qtbot)
    view.set_source(FakeFetcher(big), title="big")
    await view.settled()
    model = view.tree_model
    assert model is not None and model.parent() is view
    assert model.rowCount() == 100  # not 100,000
    item = model.index(3, 0)
    assert model.data(item) == "[3]" and model.data(model.index(3, 1)) == "{2 keys}"
    assert preview({"a": 1}) == "{1 key}" and preview([0]) == "[1 item]"
    assert model.hasChildren(item) and model.rowCount(item) == 0
    view.tree.expand(item)
    QApplication.processEvents()
    assert model.rowCount(item) == 2
    tags = model.index(1, 0, item)
    assert (model.data(tags), model.data(model.index(1, 2, item))) == ("tags", "array")
    model.fetchMore(tags)
    assert model.rowCount(tags) == CHILD_BATCH
    assert model.canFetchMore(tags)
    assert model.parent(model.index(0, 0, tags)) == tags


async def test_objects_and_scalars_have_no_table(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.set_source(FakeFetcher({"kept": 3, "total": 9.5, "name": "x"}), title="stats")
    await view.settled()
    model = view.tree_model
    assert model is not None and view.table_model is None
    shown = [(model.data(model.index(r, 0)), model.data(model.index(r, 1))) for r in range(3)]
    assert shown == [("kept", "3"), ("total", "9.5"), ("name", '"x"')]
    assert "3 keys" in view.header.text()
    view.set_source(FakeFetcher({"error": "x"}), title="failed")
    await view.settled()
    assert "— 1 key" in view.header.text() and "1 keys" not in view.header.text()
    view.set_source(FakeFetcher(42), title="answer")
    await view.settled()
    assert view.tree_model is not None and view.tree_model.data(view.tree_model.index(0, 1)) == "42"
    view.set_source(FakeFetcher([1, "a", None, {"x": 1}]), title="mixed")
    await view.settled()
    assert view.table_model is None and view.tabs.count() == 1


async def test_error_input_and_no_output(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    error = ErrorInfo(
        type="NodeFailedError",
        message="division by zero",
        node_id="calc",
        traceback='Traceback (most recent call last):\n  File "f.py", line 1\nZeroDivisionError',
    )
    view.set_source(None, title="calc", error=error, input_value={"a": 1, "b": 0})
    await view.settled()
    titles = [view.tabs.tabText(i) for i in range(view.tabs.count())]
    assert titles == ["Input", "Error"] and view.tabs.currentWidget() is view.error_text
    text = view.error_text.toPlainText()
    assert "NodeFailedError: division by zero" in text and "ZeroDivisionError" in text
    assert QFontInfo(view.error_text.font()).fixedPitch()
    assert view.input_model is not None and view.input_model.rowCount() == 2
    assert "no output" in view.header.text()


async def test_a_new_source_cancels_the_old_fetch(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    gate = asyncio.Event()
    view.set_source(FakeFetcher(records(10), gate=gate), title="slow")
    old = view.source
    assert old is not None and old.pending is not None
    pending = old.pending
    view.set_source(FakeFetcher([1, 2, 3]), title="fast")
    await view.settled()
    assert pending.cancelled()
    assert view.tree_model is not None and view.tree_model.rowCount() == 3


async def test_a_failed_fetch_is_reported_and_not_retried(qtbot: QtBot) -> None:
    async def broken(offset: int, limit: int) -> OutputPage:
        raise ConnectionError("worker died")

    view = make_view(qtbot)
    failures: list[str] = []
    view.fetch_failed.connect(failures.append)
    view.set_source(broken, title="lost")
    await view.settled()
    assert failures == ["ConnectionError: worker died"]
    assert "could not load" in view.header.text()
    assert view.source is not None and not view.source.has_more()


async def render_screenshot(path: Path) -> Path:
    """The records table of a large-items run, as the window will show it."""
    view = DataView(page_size=200)
    view.resize(900, 520)
    view.set_source(FakeFetcher(records(100_000)), title="generate", input_value={"count": 100_000})
    view.show()
    await view.settled()
    QApplication.processEvents()
    path.parent.mkdir(parents=True, exist_ok=True)
    view.grab().save(str(path))
    view.close()
    view.deleteLater()
    return path


async def test_screenshot_renders(qtbot: QtBot, tmp_path: Path) -> None:
    path = await render_screenshot(tmp_path / "data-view.png")
    assert path.stat().st_size > 1_000


if __name__ == "__main__":
    app = QApplication.instance() or QApplication([])
    asyncio.run(render_screenshot(ROOT / "docs" / "screenshots" / "data-view.png"))


async def test_a_stream_s_header_says_how_many_flowed_and_how_many_are_shown(
    qtbot: QtBot,
) -> None:
    """A stream recorded as a summary pages its first items: the header says so; one
    recorded in full pages every item."""
    kept = records(1_000)

    def streamed(flowed: int, value: list[dict[str, Any]]) -> Any:
        async def fetch(offset: int, limit: int) -> OutputPage:
            page = OutputPage.of("e1", "s", value, offset=offset, limit=limit, size_bytes=2_400_000)
            return page.model_copy(update={"stream_items": flowed})

        return fetch

    view = make_view(qtbot)
    view.set_source(streamed(100_000, kept), title="double")
    await view.settled()
    assert view.header.text() == "double — stream · 100,000 items · 2.3 MB · first 1,000 shown"
    view.set_source(streamed(1_000, kept), title="full")
    await view.settled()
    assert view.header.text() == "full — stream · 1,000 items · 2.3 MB · all recorded"
