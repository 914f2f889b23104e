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
