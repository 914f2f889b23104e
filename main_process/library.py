"""The blueprint library: user blueprints in the data dir, then the bundled examples.

Ids resolve to ``<id>.json``, ``<id>.yaml`` or ``<id>.yml`` in ``blueprints/`` first,
so a user can shadow an example by saving a blueprint with its id. Ids are data,
never paths: one with a separator or a leading dot is refused.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from app.blueprint import Blueprint
from app.blueprint_files import dump_blueprint, load_blueprint_file
from app.errors import BlueprintError, BlueprintNotFoundError
from app.paths import EXAMPLES_DIR, blueprints_dir
from app.results import BlueprintSummary

_SAFE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}\Z")
_SUFFIXES = (".json", ".yaml", ".yml")


def check_id(blueprint_id: str) -> str:
    if not _SAFE_ID.match(blueprint_id) or ".." in blueprint_id:
        raise BlueprintNotFoundError(
            f"{blueprint_id!r} is not a valid blueprint id (letters, digits, '_', '-', '.')",
            where="blueprint_id",
        )
    return blueprint_id


class BlueprintLibrary:
    """Finds, lists, saves and deletes blueprints by id."""

    def __init__(self, home: Path, examples: Path = EXAMPLES_DIR) -> None:
        self.user_dir = blueprints_dir(home)
        self.examples_dir = examples

    def find(self, blueprint_id: str) -> tuple[Path, str] | None:
        """The file for ``blueprint_id`` and its source ("user" or "example")."""
        check_id(blueprint_id)
        for folder, source in ((self.user_dir, "user"), (self.examples_dir, "example")):
            for suffix in _SUFFIXES:
                path = folder / f"{blueprint_id}{suffix}"
                if path.is_file():
                    return path, source
        return None

    def load(self, blueprint_id: str) -> Blueprint:
        found = self.find(blueprint_id)
        if found is None:
            raise BlueprintNotFoundError(
                f"no blueprint {blueprint_id!r} in {self.user_dir} or {self.examples_dir}",
                where="blueprint_id",
            )
        return load_blueprint_file(found[0])

    def list(self) -> list[BlueprintSummary]:
        seen: set[str] = set()
        result: list[BlueprintSummary] = []
        for folder, source in ((self.user_dir, "user"), (self.examples_dir, "example")):
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                if path.suffix not in _SUFFIXES or path.stem in seen:
                    continue
                seen.add(path.stem)
                try:
                    bp = load_blueprint_file(path)
                    result.append(
                        BlueprintSummary(
                            id=path.stem,
                            name=bp.name,
                            description=bp.description,
                            source=source,
                            path=str(path),
                        )
                    )
                except BlueprintError as exc:
                    result.append(
                        BlueprintSummary(
                            id=path.stem,
                            name=None,
                            description=f"invalid: {exc.message}",
                            source=source,
                            path=str(path),
                        )
                    )
        return result

    def save(self, blueprint: Blueprint) -> BlueprintSummary:
        """Write ``blueprints/<id>.json`` atomically (other formats of that id are removed)."""
        check_id(blueprint.id)
        self.user_dir.mkdir(parents=True, exist_ok=True)
        path = self.user_dir / f"{blueprint.id}.json"
        tmp = path.with_suffix(f".json.{os.getpid()}.tmp")
        tmp.write_text(dump_blueprint(blueprint, "json"), encoding="utf-8")
        os.replace(tmp, path)
        for suffix in (".yaml", ".yml"):
            (self.user_dir / f"{blueprint.id}{suffix}").unlink(missing_ok=True)
        return BlueprintSummary(
            id=blueprint.id,
            name=blueprint.name,
            description=blueprint.description,
            source="user",
            path=str(path),
        )

    def delete(self, blueprint_id: str) -> None:
        found = self.find(blueprint_id)
        if found is None or found[1] != "user":
            raise BlueprintNotFoundError(
                f"no user blueprint {blueprint_id!r} to delete (bundled examples are read-only)",
                where="blueprint_id",
            )
        found[0].unlink()
