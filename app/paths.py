"""Where Conductor keeps things on disk.

The data dir is ``$CONDUCTOR_HOME`` when set (tests and several side-by-side
installs use this), else platformdirs' user data dir for ``conductor``. It holds
``conductor.db``, ``blueprints/`` (user blueprints by id), ``outputs/`` (large node
outputs spilled from the store) and ``token`` (the HTTP server's bearer token).
"""

from __future__ import annotations

import os
from pathlib import Path

#: The bundled examples, beside the packages in the source tree.
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "resources" / "examples"


def data_dir() -> Path:
    """The data directory (not created here)."""
    home = os.environ.get("CONDUCTOR_HOME")
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("conductor", appauthor=False))


def database_path(root: Path | None = None) -> Path:
    return (root or data_dir()) / "conductor.db"


def blueprints_dir(root: Path | None = None) -> Path:
    return (root or data_dir()) / "blueprints"


def outputs_dir(root: Path | None = None) -> Path:
    return (root or data_dir()) / "outputs"


def token_path(root: Path | None = None) -> Path:
    return (root or data_dir()) / "token"


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and its parents) readable by its owner only (0700): the data
    dir holds every input and output of every run. An existing folder open to others
    is left as it is — it may be so on purpose — with a warning."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        import logging

        logging.getLogger(__name__).warning(
            "%s is readable by others (mode %o): every run's inputs and outputs are kept "
            "there; chmod 700 it unless that is what you want",
            path,
            mode,
        )


def private_file(path: Path) -> int:
    """Open ``path`` for writing, created 0600 (owner only); returns the descriptor."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
