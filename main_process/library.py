"""The blueprint library: user blueprints in the data dir, then the bundled examples.

Ids resolve to ``<id>.json``, ``<id>.yaml`` or ``<id>.yml`` in ``blueprints/`` first,
so a user can shadow an example by saving a blueprint with its id. Ids are data,
never paths: one with a separator or a leading dot is refused.
"""

from __future__ import annotations

import builtins
import os
from pathlib import Path

from app.blueprint import Blueprint
from app.blueprint_files import dump_blueprint, load_blueprint_file
from app.blueprint_ids import ID_RULE, id_problem, referenced_ids
from app.errors import (
    BlueprintConflictError,
    BlueprintError,
    BlueprintNotFoundError,
    ConfigError,
)
from app.paths import EXAMPLES_DIR, blueprints_dir
from app.results import BlueprintSummary

_SUFFIXES = (".json", ".yaml", ".yml")


def check_id(blueprint_id: str, where: str = "blueprint_id") -> str:
    """``blueprint_id`` when it follows the id rule (:mod:`app.blueprint_ids`)."""
    if id_problem(blueprint_id) is not None:
        raise BlueprintNotFoundError(
            f"{blueprint_id!r} is not a valid blueprint id ({ID_RULE})", where=where
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
        """Remove a user blueprint; refused while another blueprint runs it."""
        found = self.find(blueprint_id)
        if found is None or found[1] != "user":
            raise BlueprintNotFoundError(
                f"no user blueprint {blueprint_id!r} to delete (bundled examples are read-only)",
                where="blueprint_id",
            )
        self._refuse_if_referenced(blueprint_id, "deleted")
        found[0].unlink()

    def copy(
        self, blueprint_id: str, new_id: str, *, move: bool = False, name: str | None = None
    ) -> BlueprintSummary:
        """Save ``blueprint_id``'s document under ``new_id`` (renamed to ``name`` when
        given); with ``move`` (a rename) the old id's user file is removed.

        A rename makes a new id rather than editing the id in place, so past
        executions keep the id they ran under. Refused when ``new_id`` breaks the id
        rule (ConfigError) or is taken, and a rename when the old id is a bundled
        example or another blueprint runs it (BlueprintConflictError, naming it).
        """
        problem = id_problem(new_id)
        if problem is not None:
            raise ConfigError(problem, where="new_id")
        found = self.find(blueprint_id)
        if found is None:
            raise BlueprintNotFoundError(f"no blueprint {blueprint_id!r}", where="blueprint_id")
        path, source = found
        if move and source != "user":
            raise ConfigError(
                f"{blueprint_id!r} is a bundled example and cannot be renamed; duplicate it",
                where="blueprint_id",
            )
        if self.find(new_id) is not None:
            raise BlueprintConflictError(
                f"a blueprint {new_id!r} exists already; choose another id", where="new_id"
            )
        if move:
            self._refuse_if_referenced(blueprint_id, "renamed")
        original = load_blueprint_file(path)
        update: dict[str, object] = {"id": new_id}
        if name is not None:
            update["name"] = name
        summary = self.save(original.model_copy(update=update))
        if move:
            path.unlink()
        return summary

    def referrers(self, blueprint_id: str) -> builtins.list[str]:
        """The other blueprints (user and example) whose nodes run ``blueprint_id``;
        unreadable files are skipped (they run nothing)."""
        found: builtins.list[str] = []
        for summary in self.list():
            if summary.id == blueprint_id or summary.path is None:
                continue
            try:
                other = load_blueprint_file(Path(summary.path))
            except BlueprintError:
                continue
            if blueprint_id in referenced_ids(other):
                found.append(summary.id)
        return found

    def _refuse_if_referenced(self, blueprint_id: str, what: str) -> None:
        users = self.referrers(blueprint_id)
        if users:
            names = ", ".join(repr(u) for u in users)
            raise BlueprintConflictError(
                f"{blueprint_id!r} cannot be {what}: blueprint {names} runs it (change that first)",
                where="blueprint_id",
            )
