"""File and database nodes stay inside the engine's file roots: ``..``, absolute
paths and symlinks that lead elsewhere are refused with the path and the param
named, before anything is read, written or created."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from app import Conductor, create_conductor
from app.errors import NodeFailedError
from main_process.engine.engine import Engine
from main_process.file_roots import ENV as FILE_ROOTS_ENV
from main_process.file_roots import confined_path, resolve_roots
from tests.main_process.nodes.conftest import RecordingContext, RunNode


@pytest.fixture
def base(tmp_path: Path) -> Path:
    path = tmp_path / "base"
    path.mkdir()
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the root, with a file in it; never inside any root."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_text("secret")
    return path


@pytest.fixture
def confined(base: Path) -> RecordingContext:
    return RecordingContext(base_dir=base)


def escapes(base: Path, outside: Path) -> list[str]:
    """Ways to name something outside ``base``; the symlinks are made here."""
    (base / "link.txt").symlink_to(outside / "secret.txt")
    (base / "linked-dir").symlink_to(outside, target_is_directory=True)
    return [
        "../outside/secret.txt",
        "sub/../../outside/secret.txt",
        str(outside / "secret.txt"),
        "link.txt",
        "linked-dir/secret.txt",
        "/etc/passwd",
    ]


async def test_read_outside_the_roots_is_refused(
    run_node: RunNode, confined: RecordingContext, base: Path, outside: Path
) -> None:
    for path in escapes(base, outside):
        with pytest.raises(NodeFailedError) as caught:
            await run_node("file.read", {"path": path}, ctx=confined)
        assert caught.value.where == "params.path"
        assert repr(path) in caught.value.message
        assert "outside the folders" in caught.value.message


async def test_write_outside_the_roots_is_refused_and_writes_nothing(
    run_node: RunNode, confined: RecordingContext, base: Path, outside: Path
) -> None:
    for path in escapes(base, outside):
        with pytest.raises(NodeFailedError) as caught:
            await run_node("file.write", {"path": path, "format": "text"}, "x", ctx=confined)
        assert caught.value.where == "params.path"
    assert (outside / "secret.txt").read_text() == "secret"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    with pytest.raises(NodeFailedError):
        await run_node("file.write", {"path": "linked-dir/new.txt"}, "x", ctx=confined)
    assert not (outside / "new.txt").exists()


async def test_paths_inside_the_roots_work(
    run_node: RunNode, confined: RecordingContext, base: Path, outside: Path
) -> None:
    (base / "data").mkdir()
    (base / "data" / "a.txt").write_text("a")
    (base / "alias.txt").symlink_to(base / "data" / "a.txt")
    assert await run_node("file.read", {"path": "alias.txt"}, ctx=confined) == "a"
    assert await run_node("file.read", {"path": "data/../data/a.txt"}, ctx=confined) == "a"
    written = await run_node("file.write", {"path": "new/b.json"}, [1], ctx=confined)
    assert written["path"] == str((base / "new" / "b.json").resolve())
    wider = RecordingContext(base_dir=base, file_roots=(base.resolve(), outside.resolve()))
    assert await run_node("file.read", {"path": "../outside/secret.txt"}, ctx=wider) == "secret"


async def test_databases_outside_the_roots_are_refused(
    run_node: RunNode, confined: RecordingContext, base: Path, outside: Path
) -> None:
    with sqlite3.connect(outside / "other.db") as conn:
        conn.execute("CREATE TABLE t (x)")
    (base / "db-link").symlink_to(outside / "other.db")
    for database in ("../outside/other.db", str(outside / "other.db"), "db-link"):
        with pytest.raises(NodeFailedError) as caught:
            await run_node("sqlite.query", {"database": database, "sql": "SELECT 1"}, ctx=confined)
        assert caught.value.where == "params.database"
        with pytest.raises(NodeFailedError) as caught:
            await run_node(
                "sqlite.write", {"database": database, "table": "t"}, {"x": 1}, ctx=confined
            )
        assert caught.value.where == "params.database"
    with pytest.raises(NodeFailedError):
        await run_node(
            "sqlite.write", {"database": "../outside/new.db", "table": "t"}, {"x": 1}, ctx=confined
        )
    assert not (outside / "new.db").exists()
    with sqlite3.connect(outside / "other.db") as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


@pytest.mark.parametrize(
    "sql",
    [
        "ATTACH DATABASE '{path}' AS elsewhere",
        "VACUUM INTO '{path}'",
    ],
)
async def test_sql_text_cannot_open_files_elsewhere(
    run_node: RunNode, confined: RecordingContext, outside: Path, sql: str
) -> None:
    """ATTACH (and VACUUM INTO, which attaches) would reach any file: both are off.
    (VACUUM also cannot run in the node's transaction; the attach limit stops it
    regardless, so either refusal is fine here.)"""
    target = outside / "made.db"
    await run_node("sqlite.write", {"database": "in.db", "table": "t"}, {"x": 1}, ctx=confined)
    for database in ("in.db", ":memory:"):
        with pytest.raises(NodeFailedError, match=r"attached databases|cannot VACUUM"):
            await run_node(
                "sqlite.query", {"database": database, "sql": sql.format(path=target)}, ctx=confined
            )
    assert not target.exists()


def test_roots_default_to_base_dir_and_home(tmp_path: Path) -> None:
    assert resolve_roots(None, tmp_path) == (tmp_path.resolve(), Path.home().resolve())
    assert resolve_roots([tmp_path, tmp_path / "."], tmp_path) == (tmp_path.resolve(),)
    assert resolve_roots([], tmp_path) == ()
    with pytest.raises(NodeFailedError, match="outside"):
        confined_path("x", tmp_path, (), "params.path")


async def test_engine_confines_nodes_and_names_the_node(
    home: Path, base: Path, outside: Path
) -> None:
    engine = Engine(home, base_dir=base, plugins=False, file_roots=[base])
    try:
        assert engine.file_roots == (base.resolve(),)
        blueprint: dict[str, Any] = {
            "id": "escape",
            "inputs": {"path": {"type": "string"}},
            "nodes": [{"id": "w", "type": "file.write", "params": {"path": "{{ inputs.path }}"}}],
        }
        result = await engine.execute(blueprint=blueprint, inputs={"path": "../outside/x.json"})
        assert not result.success
        error = result.nodes["w"].error
        assert error is not None
        assert error.where == "nodes[0].params.path"
        assert "../outside/x.json" in error.message
        assert not (outside / "x.json").exists()
        ok = await engine.execute(blueprint=blueprint, inputs={"path": "in/x.json"})
        assert ok.success, ok.error
    finally:
        await engine.close()


async def test_every_transport_confines_by_default(
    any_conductor: Conductor, tmp_path: Path
) -> None:
    """direct, the pipe worker and HTTP each build their engine with the default roots
    (base_dir and home): a path beside base_dir is refused by all three."""
    outside = tmp_path.parent / f"{tmp_path.name}-outside.json"
    if outside.resolve().is_relative_to(Path.home().resolve()):
        pytest.skip("the temporary folder is inside home, one of the default roots")
    blueprint = {
        "id": "escape",
        "nodes": [{"id": "w", "type": "file.write", "params": {"path": str(outside)}}],
    }
    result = await any_conductor.execute(blueprint=blueprint, inputs={})
    assert result.status == "failed"
    error = result.nodes["w"].error
    assert error is not None and error.where == "nodes[0].params.path"
    assert not outside.exists()


@pytest.mark.parametrize("transport", ["direct", "ipc"])
async def test_chosen_roots_reach_the_engine(
    transport: str, home: Path, base: Path, outside: Path
) -> None:
    """``file_roots`` given to create_conductor reaches the engine, in a worker too."""
    conductor = create_conductor(
        transport, home=home, base_dir=base, plugins=False, file_roots=[base, outside]
    )
    try:
        blueprint = {
            "id": "read",
            "nodes": [
                {"id": "r", "type": "file.read", "params": {"path": "../outside/secret.txt"}}
            ],
        }
        result = await conductor.execute(blueprint=blueprint, inputs={})
        assert result.success, result.error
        assert result.outputs == "secret"
    finally:
        await conductor.close()


async def test_roots_from_the_environment_reach_a_spawned_worker(
    home: Path, base: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``conductor --file-root DIR`` (the desktop app too) sets CONDUCTOR_FILE_ROOTS,
    which adds to the defaults of every engine it starts, in a worker process too."""
    if outside.resolve().is_relative_to(Path.home().resolve()):
        pytest.skip("the temporary folder is inside home, one of the default roots")
    monkeypatch.setenv(FILE_ROOTS_ENV, str(outside))
    conductor = create_conductor("ipc", home=home, base_dir=base, plugins=False)
    try:
        blueprint = {
            "id": "read",
            "nodes": [
                {"id": "r", "type": "file.read", "params": {"path": str(outside / "secret.txt")}}
            ],
        }
        result = await conductor.execute(blueprint=blueprint, inputs={})
    finally:
        await conductor.close()
    assert result.success, result.error
    assert result.outputs == "secret"
