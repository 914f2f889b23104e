"""What a value must be to be recorded (app.json_values), the strict output writer of
the store, and the writers and readers that go past pydantic's and orjson's depth."""

from __future__ import annotations

import enum
import math
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import BaseModel, TypeAdapter

from app.json_values import (
    MAX_JSON_DEPTH,
    NotJson,
    dumps,
    find_not_json,
    model_json,
    validate_json,
)
from main_process.store.serialization import dump_list_to_file, dump_output
from main_process.store.serialization import dumps as store_dumps
from tests.value_functions import nested


class Colour(enum.StrEnum):
    RED = "red"


ORDINARY: list[Any] = [
    {"a": [1, 2.5, None, True, False, 'x\u00e9\n"\\', {"b": {}}, [], -(2**63), 2**64 - 1]},
    "",
    0,
    [],
    {},
    1e300,
    -0.0,
    1e-7,
    (1, "two"),
    {"colour": Colour.RED, "id": uuid.UUID(int=5)},
]


@pytest.mark.parametrize("value", ORDINARY)
def test_the_deep_writer_writes_what_orjson_writes(value: Any) -> None:
    from app.json_values import _deep_dumps

    assert orjson.loads(_deep_dumps(value, None)) == orjson.loads(orjson.dumps(value))
    assert find_not_json(value) is None
    assert orjson.loads(dump_output(value)) == orjson.loads(orjson.dumps(value))


@pytest.mark.parametrize("depth", [255, 256, 260, 1000])
def test_json_up_to_the_limit_is_written_whole(depth: int) -> None:
    value = nested(depth)
    assert find_not_json(value) is None
    data = dump_output(value)
    assert dumps(orjson.loads(data)) == data  # orjson reads it back: 1,024 levels
    assert store_dumps(value) == data  # the total writer too: never a placeholder
    assert b"__unserializable__" not in data


def test_nan_and_infinities_are_null_at_any_depth() -> None:
    value = [math.nan, math.inf, -math.inf]
    assert dump_output(value) == b"[null,null,null]"
    deep = nested(300)
    deep_with_nan = [value, deep]
    assert orjson.loads(dump_output(deep_with_nan))[0] == [None, None, None]


def _bad(value: Any) -> NotJson:
    found = find_not_json(value)
    assert found is not None
    with pytest.raises(NotJson) as raised:
        dump_output(value)
    assert (raised.value.path, raised.value.reason) == (found.path, found.reason)
    return found


def test_each_kind_of_non_json_is_named_with_its_path() -> None:
    class Thing:
        pass

    cycle: list[Any] = []
    cycle.append({"again": cycle})
    assert _bad({"a": [0, b"\xff"]}).path == "$.a[1]"
    assert "not encoded implicitly" in _bad(b"abc").reason
    assert "sets are not JSON" in _bad({"s": {1}}).reason
    assert _bad({"s": frozenset()}).path == "$.s"
    assert "Thing object" in _bad([Thing()]).reason
    assert _bad(cycle).path == "$[0].again" and "cycle" in _bad(cycle).reason
    assert "81 bits" in _bad({"n": 2**80}).reason
    assert "keys must be text" in _bad({1: "x"}).reason
    assert "lone surrogate" in _bad(["ok", "\ud800"]).reason
    assert _bad({"odd key": {"k": bytearray(1)}}).path == '$["odd key"].k'
    assert "Unicode" in _bad({"\udcff": 1}).reason
    import datetime

    assert "datetime" in _bad({"when": datetime.date(2024, 1, 1)}).reason


def test_a_value_shared_twice_is_not_a_cycle() -> None:
    shared = {"x": [1]}
    assert find_not_json([shared, shared, {"y": shared}]) is None


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeper_than_the_limit_is_named_with_a_cut_path(depth: int) -> None:
    found = _bad(nested(depth))
    assert "nested more than 1,000 levels" in found.reason
    assert "levels)…" in found.path and len(found.path) < 200


def test_a_long_list_spilled_slice_by_slice_fails_whole(tmp_path: Path) -> None:
    items: list[Any] = [{"i": i} for i in range(10_000)]
    items[9_000] = {"i": b"raw"}
    path = tmp_path / "spill" / "out.json"
    with pytest.raises(NotJson) as raised:
        dump_list_to_file(items, path, strict=True)
    assert raised.value.path == "$[9000].i"
    assert list(path.parent.iterdir()) == []  # no file, not even a temporary one
    items[9_000] = nested(400)
    size = dump_list_to_file(items, path, strict=True)
    assert size == path.stat().st_size and len(orjson.loads(path.read_bytes())) == 10_000


class Holder(BaseModel):
    value: Any
    colour: Colour = Colour.RED


@pytest.mark.parametrize("depth", [10, 300, 1000])
def test_models_are_written_and_read_at_any_depth(depth: int) -> None:
    model = Holder(value=nested(depth))
    data = model_json(model)
    assert orjson.loads(data)["colour"] == "red"
    back = validate_json(Holder, data)
    assert model_json(back) == data
    many = TypeAdapter(list[Holder])
    assert model_json(validate_json(many, b"[" + data + b"]")[0]) == data


def test_a_model_holding_an_odd_value_uses_the_fallback_at_any_depth() -> None:
    deep = nested(300)
    model = Holder(value=[deep, object()])
    data = model_json(model, fallback=lambda value: "odd")
    assert orjson.loads(data)["value"][1] == "odd"


def test_reading_still_refuses_what_is_not_json() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        validate_json(Holder, b'{"value": [' * 2000)
    with pytest.raises(ValidationError):
        validate_json(Holder, b'{"colour": "blue", "value": 1}')
