"""Autosave of unsaved work, and recovery after a crash.

Every few seconds a dirty document is written to ``<data dir>/autosave/`` as one
JSON file per window session, holding the owning pid, the document's file (if
any) and the blueprint. A clean close deletes the file. A file left behind whose
owner is gone — the pid is dead, or it is this process but no live session owns
it — is what a crash left, and the next window offers to recover it.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from app.blueprint import Blueprint
from renderer.editor.document import EditorDocument

#: Milliseconds between autosaves.
INTERVAL_MS = 5000
#: Sessions of this process that are alive (their files are not orphans).
_LIVE: set[str] = set()


@dataclass(frozen=True)
class Recovery:
    """An orphaned autosave: where it is, the file it was editing, its blueprint."""

    autosave: Path
    original: Path | None
    blueprint: Blueprint

    def discard(self) -> None:
        self.autosave.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find_recoveries(directory: Path) -> list[Recovery]:
    """Autosaves whose session ended without a clean close (unreadable ones are skipped)."""
    found: list[Recovery] = []
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            pid, session = int(data["pid"]), str(data["session"])
            blueprint = Blueprint.model_validate(data["blueprint"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        owned = session in _LIVE if pid == os.getpid() else _pid_alive(pid)
        if not owned:
            original = Path(data["original"]) if data.get("original") else None
            found.append(Recovery(path, original, blueprint))
    return found


class Autosaver(QObject):
    """Writes ``document`` to its session file while it is dirty."""

    def __init__(
        self,
        document: EditorDocument,
        directory: Path,
        interval_ms: int = INTERVAL_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.directory = directory
        self.session = uuid.uuid4().hex
        self.path = directory / f"{self.session}.json"
        self._abandoned = False
        _LIVE.add(self.session)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.save_now)
        self._timer.start()

    def save_now(self) -> bool:
        """Write the autosave if the document is dirty, else remove it; True if written."""
        if not self.document.is_dirty:
            self.path.unlink(missing_ok=True)
            return False
        self.directory.mkdir(parents=True, exist_ok=True)
        original = self.document.path
        payload = {
            "pid": os.getpid(),
            "session": self.session,
            "original": str(original) if original else None,
            "blueprint": self.document.to_blueprint().model_dump(mode="json", exclude_none=True),
        }
        fd, tmp = tempfile.mkstemp(prefix=".autosave.", dir=self.directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle)
        os.replace(tmp, self.path)
        return True

    def discard(self) -> None:
        """A clean close: stop and delete the autosave (not after :meth:`abandon`)."""
        self._timer.stop()
        if self._abandoned:
            return
        self.path.unlink(missing_ok=True)
        _LIVE.discard(self.session)

    def abandon(self) -> None:
        """Stop and leave the file, as a crash would (tests use this to simulate one)."""
        self._timer.stop()
        self._abandoned = True
        _LIVE.discard(self.session)
