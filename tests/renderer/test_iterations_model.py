"""The iterations table asks for a page only when a row of it is painted, once, and
asks again after a live refresh (rows may have moved) while showing the old rows."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.states import NodeStatus
from app.subflow_results import Iteration
from renderer.monitor.iterations import ITERATION_PAGE, IterationTableModel


def page(first: int, count: int) -> list[Iteration]:
    return [
        Iteration(index=i, status=NodeStatus.COMPLETED, finished_at=0.0, has_output=True)
        for i in range(first, first + count)
    ]


def test_pages_are_asked_for_once_when_painted_and_again_after_a_refresh(qtbot: QtBot) -> None:
    model = IterationTableModel()
    asked: list[int] = []
    model.page_wanted.connect(asked.append)
    model.refresh(10_000)
    assert model.rowCount() == 10_000 and asked == []  # nothing painted, nothing read
    assert model.cell(0, 0) == "…" and model.cell(5, 1) == ""
    assert model.cell(9_999, 0) == "…"
    assert asked == [0, 9_999 // ITERATION_PAGE]  # each page once, however many cells
    model.set_page(0, page(0, ITERATION_PAGE))
    assert model.cell(5, 0) == "5" and model.cell(5, 1) == "completed"
    model.refresh(10_200)  # live: more rows; the read pages are stale but still shown
    assert model.rowCount() == 10_200
    assert model.cell(5, 0) == "5"
    assert asked[-1] == 0  # painting a stale page asks for it again
    model.reset()
    assert model.rowCount() == 0 and model.pages == {}
