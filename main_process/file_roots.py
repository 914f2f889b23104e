"""Which folders ``file.*`` and ``sqlite.*`` nodes may touch.

A blueprint can come from anyone who reaches the engine (``conductor serve``), and
its paths can come from its inputs, so ``"path": "{{ inputs.name }}"`` must not
become ``../../etc/passwd``. Every file or database path a node opens is therefore
resolved — ``~`` expanded, made absolute against the blueprint's folder, ``..`` and
symlinks followed by :meth:`Path.resolve` — and must then lie inside one of the
engine's *file roots*; otherwise the node fails naming the path and the param.

The roots default to the blueprint folder (``base_dir``), the user's home
directory and the folders in ``$CONDUCTOR_FILE_ROOTS``: what a local user's
blueprints reasonably use, while system files and other users' files stay out of
reach. ``Engine(file_roots=...)`` and ``conductor serve --file-root DIR`` replace
them; ``conductor --file-root DIR`` adds to them.

Assumption: nobody swaps a checked folder for a symlink between the check and the
open (the check runs just before it). The roots guard against blueprints and their
inputs, not against another process of the same user racing the node.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from app.errors import ConfigError, NodeFailedError

#: More default roots, ``os.pathsep``-separated: how ``conductor --file-root DIR``
#: reaches the engine of the desktop app's worker process.
ENV = "CONDUCTOR_FILE_ROOTS"


def resolve_roots(roots: Iterable[Path | str] | None, base_dir: Path) -> tuple[Path, ...]:
    """The roots as resolved absolute folders; ``None`` means base_dir, home and the
    folders in ``$CONDUCTOR_FILE_ROOTS``."""
    if roots is None:
        extra = [Path(p) for p in os.environ.get(ENV, "").split(os.pathsep) if p]
        chosen = [base_dir, Path.home(), *extra]
    else:
        chosen = [Path(r) for r in roots]
    resolved: dict[Path, None] = {}
    for root in chosen:
        resolved[root.expanduser().resolve()] = None
    return tuple(resolved)


def absolute_path(path: str, base_dir: Path) -> Path:
    """``path`` with ``~`` expanded, made absolute against ``base_dir`` when relative."""
    resolved = Path(path).expanduser()
    return resolved if resolved.is_absolute() else base_dir / resolved


def confined_path(path: str, base_dir: Path, roots: Sequence[Path], where: str) -> Path:
    """``path`` resolved (symlinks included); a NodeFailedError at ``where`` when it
    lies outside every root. The resolved path is returned, so the node opens exactly
    what was checked."""
    try:
        resolved = absolute_path(path, base_dir).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL byte
        raise NodeFailedError(f"cannot resolve the path {path!r}: {exc}", where=where) from exc
    if any(resolved.is_relative_to(root) for root in roots):
        return resolved
    allowed = ", ".join(str(root) for root in roots) or "none"
    raise NodeFailedError(
        f"the path {path!r} ({resolved}) is outside the folders this engine may use "
        f"({allowed}); add one with --file-root DIR (on conductor, or conductor serve)",
        where=where,
    )


def check_roots_without_code(roots: Sequence[Path], data_dir: Path, *, chosen: bool) -> None:
    """Refuse roots that would give code execution back to a server without code nodes.

    Without code nodes the roots are the boundary. A root holding the data dir lets a
    blueprint rewrite the store, plant blueprints or read the token; a root holding
    the user's home lets ``file.write`` reach ``~/.bashrc`` or ``~/.ssh``. The first is
    always refused; the second only when it was not chosen (``--file-root``), i.e.
    when ``serve`` was started from the home folder or above it.
    """
    data = data_dir.expanduser().resolve()
    home = Path.home().resolve()
    for root in roots:
        if data.is_relative_to(root):
            raise ConfigError(
                f"file root {root} contains the data directory {data}: blueprints could "
                "rewrite the store or read the token; choose narrower --file-root folders",
                where="file_roots",
            )
        if not chosen and home.is_relative_to(root):
            raise ConfigError(
                f"without code nodes, files are confined to the working directory, {root}, "
                "which holds your home folder (~/.bashrc, ~/.ssh); start serve elsewhere "
                "or name the folders blueprints may use with --file-root DIR",
                where="file_roots",
            )
