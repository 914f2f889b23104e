"""Malformed (and some valid) frames for the worker's pipe, from a seeded RNG.

Every case is one well-framed payload: multiprocessing's length prefix matches the
bytes that follow, because a prefix that lies (says 100, sends 50) puts the stream
out of step for good — no reader can recover, so the framing rules end the
conversation there (see :mod:`ipc.framing`). Everything inside the frame is fair
game: random bytes, truncations, bit flips, JSON of the wrong shape, kinds and
versions nobody speaks, huge ids, deep nesting, invalid UTF-8, frames over the size
limit. Valid requests are mixed in, to prove the worker still answers.

``expect`` says what a correct worker does with the frame:

* ``protocol_error`` — an ``error`` reply carrying a ProtocolError, at once;
* ``reply`` — a ``result`` or ``error`` reply for ``request_id``, possibly later;
* ``silent`` — nothing (a credit or abandon for an id nobody uses);
* ``any`` — a bit-flipped frame may become anything; whatever comes must be typed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from ipc.protocol import KINDS, PROTOCOL_VERSION

Expect = Literal["protocol_error", "reply", "silent", "any"]


@dataclass(frozen=True)
class FrameCase:
    label: str
    payload: bytes
    expect: Expect
    request_id: int | None = None


_SMALL_BLUEPRINT = {"id": "ok", "nodes": [{"id": "a", "type": "set", "params": {"value": 1}}]}


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=True).encode(
        "utf-8", "surrogatepass"
    )


class FrameMaker:
    """Makes :class:`FrameCase` s; ``max_frame_bytes`` is the worker's limit."""

    def __init__(self, seed: int, max_frame_bytes: int) -> None:
        self.rng = random.Random(seed)
        self.max = max_frame_bytes
        self._next_id = 1

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # -- building blocks ---------------------------------------------------------------

    def valid_request(self, rid: int) -> dict[str, Any]:
        """A request that is safe to serve and quick to answer."""
        r = self.rng
        method = r.choice(
            [
                "node_types",
                "list_blueprints",
                "validate",
                "get_execution",
                "wait",
                "get_blueprint",
                "list_executions",
                "cancel",
                "node_output",
                "events",
            ]
        )
        msg: dict[str, Any] = {
            "v": PROTOCOL_VERSION,
            "kind": "request",
            "id": rid,
            "method": method,
        }
        text = r.choice(["x", "", "\x00", "é" * 50, "../x", "no-such-id", "a" * 300])
        match method:
            case "validate":
                msg["blueprint"] = r.choice([_SMALL_BLUEPRINT, {}, {"id": text}, {"nodes": text}])
            case "get_execution" | "wait" | "cancel" | "events":
                msg["execution_id"] = text
            case "get_blueprint":
                msg["blueprint_id"] = text
            case "node_output":
                msg.update(
                    execution_id=text,
                    node_id=text,
                    offset=r.choice([0, -1, 10**9]),
                    limit=r.choice([0, 1, 10**9]),
                )
            case "list_executions":
                msg.update(limit=r.choice([-5, 0, 1, 10**6]), status=r.choice([None, "bogus"]))
        return msg

    def _junk_value(self) -> Any:
        r = self.rng
        return r.choice(
            [
                None,
                True,
                1.5,
                -(2**70),
                2**70,
                "s",
                [],
                {},
                [1, [2, [3]]],
                {"a": {"b": None}},
                "\ud800",
                float("nan"),
                float("inf"),
            ]
        )

    # -- the kinds of frame ------------------------------------------------------------

    def random_bytes(self) -> FrameCase:
        size = self.rng.choice([0, 1, 2, 7, 64, 1000, 20_000])
        return FrameCase("random_bytes", self.rng.randbytes(size), "protocol_error")

    def truncated(self) -> FrameCase:
        rid = self.new_id()
        data = _dumps(self.valid_request(rid))
        cut = self.rng.randrange(0, len(data))
        return FrameCase("truncated", data[:cut], "protocol_error")

    def bit_flip(self) -> FrameCase:
        rid = self.new_id()
        data = bytearray(_dumps(self.valid_request(rid)))
        start = data.index(b'"method"')  # keep v, kind and id: any answer names this request
        for _ in range(self.rng.randint(1, 4)):
            data[self.rng.randrange(start, len(data))] ^= 1 << self.rng.randrange(8)
        return FrameCase("bit_flip", bytes(data), "any", rid)

    def wrong_kind(self) -> FrameCase:
        rid = self.new_id()
        kind = self.rng.choice(
            ["gossip", "", "REQUEST", None, 1, ["request"], "result", "error", "events", "hello"]
        )
        msg: dict[str, Any] = {"v": PROTOCOL_VERSION, "kind": kind, "id": rid}
        if kind in KINDS:  # a kind that only travels from the worker, in some shape
            msg.update(
                self.rng.choice(
                    [
                        {},
                        {"method": "execute", "result": {}},
                        {"pid": 1},
                        {"error": {"type": "X", "message": "m"}},
                    ]
                )
            )
        return FrameCase("wrong_kind", _dumps(msg), "protocol_error")

    def wrong_version(self) -> FrameCase:
        rid = self.new_id()
        msg = self.valid_request(rid)
        version = self.rng.choice([0, 2, -1, 10**30, "1", 1.0, True, None, [1], "missing"])
        if version == "missing":
            del msg["v"]
        else:
            msg["v"] = version
        return FrameCase("wrong_version", _dumps(msg), "protocol_error")

    def wrong_method(self) -> FrameCase:
        rid = self.new_id()
        msg = self.valid_request(rid)
        msg["method"] = self.rng.choice(["exec", "", None, 7, "__init__", "close", "shutdown"])
        return FrameCase("wrong_method", _dumps(msg), "protocol_error")

    def bad_fields(self) -> FrameCase:
        rid = self.new_id()
        msg = self.valid_request(rid)
        fields = [k for k in msg if k not in ("v", "kind", "id", "method")]
        choice = self.rng.randrange(4)
        if choice == 0 or (choice == 1 and not fields):
            msg["unexpected"] = self._junk_value()
            choice = 0
        elif choice == 1:
            msg[self.rng.choice(fields)] = self._junk_value()
        elif choice == 2:
            msg["id"] = self.rng.choice([None, 1.5, [rid], {}])
        else:
            msg.pop("id")
        if choice < 2:  # a junk value may still coerce ("7" for an int): any typed answer
            return FrameCase("bad_fields", _dumps(msg), "any", rid)
        return FrameCase("bad_fields", _dumps(msg), "protocol_error")

    def odd_ids(self) -> FrameCase:
        """Ids pydantic's lax ints accept ("7", 2**70, -1): answered, under that id."""
        n = self.new_id()
        rid = self.rng.choice([2**70 + n, -(2**70) - n, -n])
        msg = self.valid_request(self.new_id())
        msg["id"] = rid
        return FrameCase("odd_id", _dumps(msg), "reply", rid)

    def not_an_object(self) -> FrameCase:
        payload = _dumps(self.rng.choice([[], [1, 2], "request", 1, None, True, 1e308]))
        return FrameCase("not_an_object", payload, "protocol_error")

    def deep(self) -> FrameCase:
        depth = self.rng.choice([100, 1_000, 10_000, 100_000])
        if self.rng.random() < 0.5:
            return FrameCase("deep_json", b"[" * depth + b"]" * depth, "protocol_error")
        rid = self.new_id()
        inner = b'{"k":' * depth + b"1" + b"}" * depth
        frame = (
            b'{"v":%d,"kind":"request","id":%d,"method":"validate","blueprint":{"id":"d",'
            b'"nodes":[{"id":"a","type":"set","params":{"value":%s}}]}}'
            % (PROTOCOL_VERSION, rid, inner)
        )
        if len(frame) > self.max:
            return FrameCase("deep_oversized", frame, "protocol_error")
        return FrameCase("deep_request", frame, "reply", rid)

    def invalid_utf8(self) -> FrameCase:
        rid = self.new_id()
        bad = self.rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf0\x28\x8c\x28", b"\x80"])
        frame = (
            b'{"v":%d,"kind":"request","id":%d,"method":"get_blueprint","blueprint_id":"a%sb"}'
            % (PROTOCOL_VERSION, rid, bad)
        )
        return FrameCase("invalid_utf8", frame, "protocol_error")

    def odd_json(self) -> FrameCase:
        rid = self.new_id()
        base = _dumps(self.valid_request(rid))
        variants: list[Callable[[], bytes]] = [
            lambda: base + b"garbage",
            lambda: b"\xef\xbb\xbf" + base,  # a BOM
            lambda: base.replace(b'"id":', b'"id":%d,"id":' % rid, 1),  # duplicate key
            lambda: base[:-1] + b',"x":NaN}',
            lambda: base[:-1] + b',"x":Infinity}',
            lambda: base + base,
            lambda: b"\x00" * 16,
        ]
        return FrameCase("odd_json", self.rng.choice(variants)(), "any", rid)

    def oversized(self) -> FrameCase:
        rid = self.new_id()
        head = b'{"v":%d,"kind":"request","id":%d,"method":"validate","blueprint":{"id":"' % (
            PROTOCOL_VERSION,
            rid,
        )
        size = self.max + self.rng.choice([1, 1000, 100_000])
        return FrameCase("oversized", head + b"x" * (size - len(head)), "protocol_error")

    def big_allowed(self) -> FrameCase:
        rid = self.new_id()
        msg = {
            "v": PROTOCOL_VERSION,
            "kind": "request",
            "id": rid,
            "method": "validate",
            "blueprint": {"id": "big", "description": "y" * (self.max // 2)},
        }
        return FrameCase("big_allowed", _dumps(msg), "reply", rid)

    def control(self) -> FrameCase:
        rid = 10**9 + self.new_id()  # an id no request uses
        kind = self.rng.choice(["credit", "abandon"])
        msg: dict[str, Any] = {"v": PROTOCOL_VERSION, "kind": kind, "id": rid}
        if kind == "credit":
            msg["batches"] = self.rng.choice([1, 5, 10**30, 0, -3, "2", None])
            ok = isinstance(msg["batches"], int) and msg["batches"] >= 1
            return FrameCase("credit", _dumps(msg), "silent" if ok else "any")
        return FrameCase("abandon", _dumps(msg), "silent")

    def valid(self) -> FrameCase:
        rid = self.new_id()
        return FrameCase("valid", _dumps(self.valid_request(rid)), "reply", rid)

    def cases(self, n: int) -> Iterator[FrameCase]:
        """``n`` cases; every tenth is a valid request, and oversized ones stay rare
        (each costs a megabyte or so of pipe traffic)."""
        makers: list[Callable[[], FrameCase]] = [
            self.random_bytes,
            self.truncated,
            self.bit_flip,
            self.wrong_kind,
            self.wrong_version,
            self.wrong_method,
            self.bad_fields,
            self.not_an_object,
            self.invalid_utf8,
            self.odd_json,
            self.control,
            self.odd_ids,
        ]
        rare: list[Callable[[], FrameCase]] = [self.deep, self.oversized, self.big_allowed]
        for i in range(n):
            if i % 10 == 9:
                yield self.valid()
            elif i % 50 == 7:
                yield self.rng.choice(rare)()
            else:
                yield self.rng.choice(makers)()
