"""Which webhook a request names, and what of the request an execution gets.

Only blueprints in the data dir's ``blueprints/`` answer: a bundled example's
triggers are off until the example is copied there (issue 13's decision), and an
invalid file's are off until it is fixed (a warning in the server's log says so). A
blueprint file is parsed once per change (cached by path, mtime and size), so a busy
hook costs a ``stat``, not a parse, per request.

The request becomes two things:

* **inputs**: ``trigger.inputs`` (fixed by the trigger), then the query's and a JSON
  object body's keys that name a declared input (converted to the declared types by
  the engine, a wrong one a 422 naming ``inputs.<name>``); a blueprint that declares
  no inputs gets the whole JSON object;
* **the trigger context** (``{{ trigger.body }}``, ``.query``, ``.headers``,
  ``.method``, ``.id``, ``.path``), recorded in the execution's config. The
  ``Authorization``, ``Cookie`` and signature headers are dropped first, so no
  credential is ever recorded; a path token is not part of ``path``.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson

from app.automation_spec import WebhookTrigger, trigger_id
from app.blueprint import Blueprint
from app.blueprint_files import load_blueprint_file
from app.errors import BlueprintError, BlueprintNotFoundError, ConfigError
from main_process.library import BlueprintLibrary

log = logging.getLogger(__name__)

#: Headers never recorded, whatever the trigger says (plus its signature header).
DROPPED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


class Hook:
    """A webhook trigger and its blueprint, as found for one request."""

    __slots__ = ("blueprint", "trigger")

    def __init__(self, blueprint: Blueprint, trigger: WebhookTrigger) -> None:
        self.blueprint = blueprint
        self.trigger = trigger

    @property
    def id(self) -> str:
        return trigger_id(self.blueprint.id, self.trigger.name)


class HookTable:
    """Finds ``(blueprint_id, path)``'s webhook among the user blueprints."""

    def __init__(self, library: BlueprintLibrary) -> None:
        self._library = library
        self._parsed: dict[Path, tuple[int, int, Blueprint]] = {}

    def find(self, blueprint_id: str, path: str) -> Hook | None:
        """The hook, or None (no such user blueprint, or no webhook at ``path``).
        Blocks (a stat, a parse after a change): run it in a thread."""
        try:
            found = self._library.find(blueprint_id)
        except (BlueprintNotFoundError, ConfigError):  # not an id at all
            return None
        if found is None or found[1] != "user":
            return None
        try:
            blueprint = self._load(found[0])
        except BlueprintError as exc:  # an invalid file's hooks do not answer
            log.warning("webhooks of %s are off: the file is invalid: %s", found[0], exc)
            return None
        for trigger in blueprint.triggers:
            if isinstance(trigger, WebhookTrigger) and (trigger.path or trigger.name) == path:
                return Hook(blueprint, trigger)
        return None

    def _load(self, path: Path) -> Blueprint:
        stat = os.stat(path)
        cached = self._parsed.get(path)
        if cached is not None and cached[:2] == (stat.st_mtime_ns, stat.st_size):
            return cached[2]
        blueprint = load_blueprint_file(path)
        self._parsed[path] = (stat.st_mtime_ns, stat.st_size, blueprint)
        return blueprint


def parse_body(raw: bytes, content_type: str) -> Any:
    """The body as JSON (when it says so or looks like it), a form as a mapping, else
    text; None when empty. A body that claims JSON and is not is a ConfigError."""
    if not raw:
        return None
    kind = content_type.split(";", 1)[0].strip().lower()
    if "json" in kind or (not kind and raw.lstrip()[:1] in (b"{", b"[")):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"the body is not valid JSON: {exc}", where="body") from None
    text = raw.decode("utf-8", errors="replace")
    if kind == "application/x-www-form-urlencoded":
        return dict(parse_qsl(text, keep_blank_values=True))
    return text


def multi_dict(
    items: list[tuple[str, str]], dropped: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Pairs as a mapping: a name given once maps to its value, several times to a list."""
    result: dict[str, Any] = {}
    for name, value in items:
        if name in dropped:
            continue
        if name in result:
            known = result[name]
            result[name] = [*known, value] if isinstance(known, list) else [known, value]
        else:
            result[name] = value
    return result


def trigger_context(
    hook: Hook,
    method: str,
    body: Any,
    query: dict[str, Any],
    headers: list[tuple[str, str]],
) -> dict[str, Any]:
    """What ``{{ trigger.… }}`` sees (and the execution records): no credentials."""
    dropped = DROPPED_HEADERS | {hook.trigger.signature_header.lower()}
    return {
        "id": hook.id,
        "kind": "webhook",
        "path": hook.trigger.path or hook.trigger.name,
        "method": method,
        "body": body,
        "query": query,
        "headers": multi_dict([(k.lower(), v) for k, v in headers], dropped),
        "received_at": time.time(),
    }


def hook_inputs(hook: Hook, body: Any, query: dict[str, Any]) -> dict[str, Any]:
    """The inputs a fire runs with (see the module docs); types are the engine's to check."""
    given = dict(hook.trigger.inputs)
    declared = hook.blueprint.inputs
    if not declared:
        if isinstance(body, dict):
            given.update(body)
        return given
    for source in (query, body if isinstance(body, dict) else {}):
        given.update({key: value for key, value in source.items() if key in declared})
    return given
