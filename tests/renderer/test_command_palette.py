"""The command palette: fuzzy-ish filtering, best matches first, Enter runs and closes,
Escape closes without running, arrow keys move the highlight."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from renderer.command_palette import CommandPalette, PaletteEntry, match_score, rank


def entries(ran: list[str]) -> list[PaletteEntry]:
    def entry(title: str, detail: str = "") -> PaletteEntry:
        return PaletteEntry(title, detail, lambda: ran.append(title))

    return [
        entry("Run blueprint", "F5"),
        entry("Open blueprint…", "Ctrl+O"),
        entry("Resume execution", "continue an interrupted run"),
        entry("Toggle dark theme"),
        entry("Show history", "recent executions"),
    ]


def titles(found: list[PaletteEntry]) -> list[str]:
    return [e.title for e in found]


def test_matching_is_in_order_and_case_insensitive() -> None:
    assert match_score("RB", "Run blueprint") is not None
    assert match_score("br", "Run blueprint") is not None
    assert match_score("tB", "Run blueprint") is None  # no "b" after the last "t"
    assert match_score("xyz", "Run blueprint") is None
    # a substring beats a scattered match, and fewer gaps beat more
    assert match_score("blue", "Run blueprint") < match_score("bpt", "Run blueprint")  # type: ignore[operator]


def test_best_matches_first_and_details_last() -> None:
    found = rank("run", entries([]))
    assert titles(found)[0] == "Run blueprint"
    assert "Resume execution" in titles(found)  # r…u…n scattered, after the substring
    assert titles(rank("hist", entries([]))) == ["Show history"]
    assert titles(rank("recent", entries([]))) == ["Show history"]  # via its detail
    assert titles(rank("", entries([]))) == titles(entries([]))


def test_enter_runs_the_highlighted_entry_and_closes(qtbot: QtBot) -> None:
    ran: list[str] = []
    palette = CommandPalette()
    qtbot.addWidget(palette)
    palette.set_entries(entries(ran))
    palette.open_palette()
    assert palette.isVisible() and palette.list.count() == 5
    qtbot.keyClicks(palette.filter, "theme")
    assert titles(palette.visible_entries()) == ["Toggle dark theme"]
    with qtbot.waitSignal(palette.entry_triggered) as fired:
        qtbot.keyClick(palette.filter, Qt.Key.Key_Return)
    assert fired.args == ["Toggle dark theme"]
    assert ran == ["Toggle dark theme"] and not palette.isVisible()


def test_arrows_move_the_highlight_and_reopening_clears_the_filter(qtbot: QtBot) -> None:
    ran: list[str] = []
    palette = CommandPalette()
    qtbot.addWidget(palette)
    palette.set_entries(entries(ran))
    palette.open_palette()
    qtbot.keyClicks(palette.filter, "b")
    shown = titles(palette.visible_entries())
    assert shown[:2] == ["Run blueprint", "Open blueprint…"]
    assert shown[:2] == shown  # only those two have a "b"
    qtbot.keyClick(palette.filter, Qt.Key.Key_Down)
    qtbot.keyClick(palette.filter, Qt.Key.Key_Down)  # stays on the last entry
    qtbot.keyClick(palette.filter, Qt.Key.Key_Up)
    assert palette.list.currentRow() == 0
    qtbot.keyClick(palette.filter, Qt.Key.Key_Down)
    current = palette.current_entry()
    assert current is not None and current.title == shown[1]
    qtbot.keyClick(palette.filter, Qt.Key.Key_Enter)
    assert ran == [shown[1]]
    palette.open_palette()
    assert palette.filter.text() == "" and palette.list.count() == 5


def test_escape_closes_without_running(qtbot: QtBot) -> None:
    ran: list[str] = []
    palette = CommandPalette()
    qtbot.addWidget(palette)
    palette.set_entries(entries(ran))
    palette.open_palette()
    qtbot.keyClicks(palette.filter, "zzz")
    assert palette.visible_entries() == [] and palette.current_entry() is None
    qtbot.keyClick(palette.filter, Qt.Key.Key_Return)  # nothing to run: stays open
    assert palette.isVisible()
    qtbot.keyClick(palette.filter, Qt.Key.Key_Escape)
    assert not palette.isVisible() and ran == []
