"""file.read and file.write on real files under tmp_path."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from app.errors import NodeFailedError

if TYPE_CHECKING:
    from tests.main_process.nodes.conftest import RunNode

DATA = {"name": "café", "items": [1, 2], "ok": True}


async def test_json_round_trip_relative_to_base_dir(run_node: RunNode, tmp_path: Path) -> None:
    result = await run_node("file.write", {"path": "out/data.json"}, DATA)
    target = tmp_path / "out" / "data.json"
    assert result == {"path": str(target), "bytes": target.stat().st_size}
    assert await run_node("file.read", {"path": "out/data.json"}) == DATA


async def test_csv_round_trip_from_objects(run_node: RunNode, tmp_path: Path) -> None:
    rows = [{"a": 1, "b": "x,y"}, {"a": 2, "c": True, "d": {"k": None}}]
    await run_node("file.write", {"path": "rows.csv"}, rows)
    assert (tmp_path / "rows.csv").read_text() == 'a,b,c,d\n1,"x,y",,\n2,,true,"{""k"": null}"\n'
    assert await run_node("file.read", {"path": "rows.csv"}) == [
        {"a": "1", "b": "x,y", "c": "", "d": ""},
        {"a": "2", "b": "", "c": "true", "d": '{"k": null}'},
    ]


async def test_csv_from_lists_has_no_header(run_node: RunNode, tmp_path: Path) -> None:
    await run_node("file.write", {"path": "rows.csv"}, [["a", 1], ["b", None]])
    assert (tmp_path / "rows.csv").read_text() == "a,1\nb,\n"


async def test_csv_read_drops_byte_order_mark(run_node: RunNode, tmp_path: Path) -> None:
    (tmp_path / "excel.csv").write_bytes("\ufeffname,n\r\nx,1\r\n".encode())
    assert await run_node("file.read", {"path": "excel.csv"}) == [{"name": "x", "n": "1"}]


@pytest.mark.parametrize(
    ("content", "expected"),
    [("plain text\n", "plain text\n"), ({"a": 1}, '{\n  "a": 1\n}\n')],
)
async def test_text_format(run_node: RunNode, tmp_path: Path, content: Any, expected: str) -> None:
    await run_node("file.write", {"path": "note.txt", "content": content}, "input is ignored")
    assert await run_node("file.read", {"path": "note.txt"}) == expected


async def test_explicit_format_overrides_extension(run_node: RunNode, tmp_path: Path) -> None:
    await run_node("file.write", {"path": "data.txt", "format": "json"}, [1, 2])
    assert await run_node("file.read", {"path": "data.txt", "format": "json"}) == [1, 2]
    assert await run_node("file.read", {"path": "data.txt"}) == "[\n  1,\n  2\n]\n"


async def test_absolute_path(run_node: RunNode, tmp_path: Path) -> None:
    target = tmp_path / "abs.json"
    await run_node("file.write", {"path": str(target)}, {"x": 1})
    assert await run_node("file.read", {"path": str(target)}) == {"x": 1}


async def test_write_replaces_atomically_and_keeps_mode(run_node: RunNode, tmp_path: Path) -> None:
    target = tmp_path / "data.json"
    target.write_text("old")
    target.chmod(0o640)
    await run_node("file.write", {"path": "data.json"}, {"new": True})
    assert await run_node("file.read", {"path": "data.json"}) == {"new": True}
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.json"]


async def test_new_file_gets_default_permissions(run_node: RunNode, tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    await run_node("file.write", {"path": "new.txt"}, "x")
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o666 & ~umask


async def test_failed_write_leaves_no_temp_file(run_node: RunNode, tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(NodeFailedError, match=r"cannot write .*: it is a directory") as caught:
        await run_node("file.write", {"path": "folder"}, "x")
    assert str(tmp_path / "folder") in caught.value.message
    assert [p.name for p in tmp_path.iterdir()] == ["folder"]


async def test_read_missing_file_names_it(run_node: RunNode, tmp_path: Path) -> None:
    with pytest.raises(NodeFailedError, match="no such file") as caught:
        await run_node("file.read", {"path": "missing.json"})
    assert str(tmp_path / "missing.json") in caught.value.message
    assert caught.value.where == "params.path"


async def test_invalid_json_names_line_and_column(run_node: RunNode, tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{\n  "a": oops\n}')
    with pytest.raises(NodeFailedError, match=r"not valid JSON.*line 2 column 8"):
        await run_node("file.read", {"path": "bad.json"})


async def test_non_utf8_file_is_reported(run_node: RunNode, tmp_path: Path) -> None:
    (tmp_path / "latin.txt").write_bytes(b"caf\xe9")
    with pytest.raises(NodeFailedError, match="not UTF-8"):
        await run_node("file.read", {"path": "latin.txt"})


async def test_csv_of_a_scalar_is_refused(run_node: RunNode) -> None:
    with pytest.raises(NodeFailedError, match="list of objects") as caught:
        await run_node("file.write", {"path": "x.csv"}, 42)
    assert caught.value.where == "params.content"


async def test_unserialisable_content_is_refused(run_node: RunNode) -> None:
    with pytest.raises(NodeFailedError, match="cannot be written as JSON"):
        await run_node("file.write", {"path": "x.json"}, {"a": object()})
