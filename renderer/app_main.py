"""The desktop app's entry point: a QApplication on a qasync loop, one window.

``conductor`` (no arguments) and ``conductor gui [FILE]`` land here through
``app.api.load_object``, so the CLI never imports Qt unless the GUI is asked for.
``CONDUCTOR_IN_GUI`` is set first, so ``create_conductor("auto")`` anywhere in the
process picks the ``ipc`` transport.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from app.api_args import IN_GUI_ENV


def display_problem() -> str | None:
    """Why no window can open here, or None. Qt aborts the whole process without a
    display, so a headless ``conductor gui`` says so and exits 2 instead."""
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return "no display: set DISPLAY (or WAYLAND_DISPLAY), or QT_QPA_PLATFORM=offscreen"


def tune_gc() -> None:
    """Keep the garbage collector from freezing the window.

    A flood of events allocates objects fast, and each full collection walked every
    object the app holds (Qt wrappers, modules, models): 40-60 ms pauses, measured
    by bench/gui.py. Once the window is built, what exists now is long-lived:
    ``gc.freeze`` moves it out of the collector's sight, and a larger first
    generation makes collections rarer. Reference counting still frees almost all
    garbage at once; this only changes when cycles are looked for.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 1000)


def main(argv: Sequence[str] | None = None, home: Path | None = None) -> int:
    """Run the app until its last window closes; ``argv`` may name one blueprint file.

    Returns the exit code: 0, or 2 when no window can be shown (no display).
    """
    problem = display_problem()
    if problem is not None:
        sys.stderr.write(f"conductor gui: {problem}\n")
        return 2
    os.environ[IN_GUI_ENV] = "1"
    import qasync
    from PySide6.QtWidgets import QApplication

    from renderer.main_window import MainWindow
    from renderer.settings import APPLICATION, ORGANISATION

    args = list(sys.argv[1:] if argv is None else argv)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    # The loop ends when the last window closes; the worker is closed after that,
    # on the still-usable loop, instead of Qt quitting underneath a pending close.
    app.setQuitOnLastWindowClosed(False)
    quitting = asyncio.Event()
    app.lastWindowClosed.connect(quitting.set)
    app.aboutToQuit.connect(quitting.set)
    with loop:
        window = MainWindow(home)
        if args:
            window.open_file(Path(args[0]))
        window.show()
        tune_gc()
        loop.run_until_complete(quitting.wait())
        loop.run_until_complete(window.bridge.close())
    return 0


if __name__ == "__main__":
    sys.exit(main())
