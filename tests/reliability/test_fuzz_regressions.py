"""One test per bug the fuzzers found, each small and fast."""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from app import Conductor, create_conductor
from app.errors import BlueprintError, ConfigError, ErrorInfo
from app.operations import NodeTypesRequest
from ipc import framing
from ipc.errors import ProtocolError
from ipc.messages import ErrorReply, Hello, Message, RequestFrame, decode, encode
from main_process.worker import Worker

DEEP = b"[" * 100_000 + b"]" * 100_000


def test_deeply_nested_json_is_a_protocol_error_not_a_recursion_error() -> None:
    """It used to escape ``decode`` as RecursionError, killing the worker's reader
    thread: the worker stayed alive but deaf, and every later call hung."""
    with pytest.raises(ProtocolError) as caught:
        decode(DEEP)
    assert caught.value.where == "frame" and "deeply" in caught.value.message


async def test_the_pipe_reader_survives_a_frame_it_cannot_decode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever a decoder raises, the reader reports a typed error and reads on."""
    real_decode = framing.decode

    def flaky(data: bytes, *, max_bytes: int) -> Message:
        if data == b"poison":
            raise RuntimeError("a decoder bug")
        return real_decode(data, max_bytes=max_bytes)

    monkeypatch.setattr(framing, "decode", flaky)
    loop = asyncio.get_running_loop()
    ours, theirs = multiprocessing.Pipe()
    got: asyncio.Queue[Message | ProtocolError] = asyncio.Queue()
    framing.start_reader(
        ours,
        loop,
        max_bytes=1 << 20,
        on_message=got.put_nowait,
        on_bad_frame=got.put_nowait,
        on_eof=lambda: None,
    )
    theirs.send_bytes(b"poison")
    theirs.send_bytes(encode(Hello(pid=7)))
    bad = await asyncio.wait_for(got.get(), 10)
    assert isinstance(bad, ProtocolError) and bad.where == "frame"
    assert await asyncio.wait_for(got.get(), 10) == Hello(pid=7)
    theirs.close()
    ours.close()


class _Writer:
    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def post(self, frame: bytes) -> None:
        self.frames.append(frame)


def _only_error(writer: _Writer) -> ErrorInfo:
    (frame,) = writer.frames
    reply = decode(frame)
    assert isinstance(reply, ErrorReply)
    return reply.error


async def test_protocol_errors_from_the_worker_name_their_place() -> None:
    """A worker-only kind and a reused request id were refused with no ``where``."""
    writer = _Writer()
    worker = Worker(engine=None, writer=writer, max_frame_bytes=1 << 20)  # type: ignore[arg-type]
    worker.on_message(Hello(pid=1))
    error = _only_error(writer)
    assert (error.type, error.where) == ("ProtocolError", "frame.kind")
    writer.frames.clear()
    worker._tasks[5] = asyncio.get_running_loop().create_future()  # type: ignore[assignment]
    worker.on_message(RequestFrame(id=5, request=NodeTypesRequest()))
    error = _only_error(writer)
    assert (error.type, error.where) == ("ProtocolError", "frame.id")


def _with_value(value: Any) -> dict[str, Any]:
    return {"id": "bad", "nodes": [{"id": "a", "type": "set", "params": {"value": value}}]}


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "value", ["\ud800", {"\udcff": 1}, _deep(1_000)], ids=["text", "key", "deep"]
)
async def test_values_no_json_writer_takes_are_blueprint_errors_everywhere(
    any_conductor: Conductor, value: Any
) -> None:
    """A lone surrogate or a very deep value passed ``validate`` and then broke
    ``execute`` with an untyped PydanticSerializationError (direct, ipc) or a
    ConfigError about the body (http). Now: the same BlueprintError, with its place."""
    blueprint = _with_value(value)
    problems = await any_conductor.validate(blueprint)
    assert problems and all(p.where.startswith("nodes[0].params.value") for p in problems)
    with pytest.raises(BlueprintError) as caught:
        await any_conductor.execute(blueprint=blueprint)
    assert caught.value.problems[0].where.startswith("nodes[0].params.value")
    assert (await any_conductor.execute(blueprint=_with_value(1))).success


async def test_an_output_that_cannot_be_sent_fails_typed_instead_of_hanging(
    home: Path, tmp_path: Path
) -> None:
    """A node output holding a lone surrogate (what ``surrogateescape`` makes of a
    file name that is not UTF-8) made the worker's reply fail to encode; the error
    was swallowed and the caller waited forever. Since issue 11 such an output fails
    its node (NodeOutputError naming the place) before any reply is written; it was a
    ProtocolError at ``frame.result.outputs``."""
    blueprint = {
        "id": "surrogate",
        "nodes": [
            {"id": "n", "type": "set", "params": {"value": 0xD800}},
            {"id": "chr", "type": "python.function", "params": {"function": "builtins:chr"}},
        ],
    }
    c = create_conductor("ipc", home=home, base_dir=tmp_path, plugins=False)
    try:
        result = await asyncio.wait_for(c.execute(blueprint=blueprint), 30)
        assert result.error is not None and result.error.type == "NodeOutputError"
        assert result.error.node_id == "chr" and "lone surrogate" in result.error.message
        assert (await c.execute(blueprint=_with_value(2))).outputs == 2
    finally:
        await c.close()


async def test_a_template_too_deep_to_parse_is_a_template_problem(
    any_conductor: Conductor,
) -> None:
    """A long run of ``{`` drove Jinja2's recursive parser into RecursionError: an
    untyped error in-process and a 500 over HTTP. Now a problem at its place."""
    problems = await any_conductor.validate(_with_value("{" * 100_000))
    assert [(p.where, p.code) for p in problems] == [("nodes[0].params.value", "template")]


async def test_validating_none_is_a_config_error(any_conductor: Conductor) -> None:
    """``validate(None)`` and ``save_blueprint(None)`` failed a bare ``assert``."""
    with pytest.raises(ConfigError) as caught:
        await any_conductor.validate(None)  # type: ignore[arg-type]
    assert caught.value.where == "blueprint"
    with pytest.raises(ConfigError):
        await any_conductor.save_blueprint(None)  # type: ignore[arg-type]
