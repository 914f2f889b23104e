"""The automation fields of a blueprint: triggers, a concurrency limit, an error handler.

Shape only, like the rest of :mod:`app.blueprint`; meaning (a cron expression that
parses, a glob, a handler blueprint that exists) is checked by validation, which names
the trigger (``triggers[<name>].cron``). Triggers are outside the content hash: adding a
schedule to a blueprint never blocks resuming its recorded executions. Whether a
trigger is enabled is runtime state kept in the store, never in the file: a trigger
is enabled when first seen in the data dir's ``blueprints/`` folder (putting it
there installs it; see :mod:`app.triggers`), and disabling it there survives every
edit of the file.

A trigger's id is ``<blueprint_id>:<name>``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


#: A trigger's name: part of its id and of a webhook's route.
TRIGGER_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"


class MissedFires(StrEnum):
    """What a schedule does with fires that fell while nothing ran it."""

    SKIP = "skip"
    RUN_ONCE = "run_once"
    RUN_ALL = "run_all"


class OnLimit(StrEnum):
    """What a new execution does when its blueprint is at its concurrency limit."""

    QUEUE = "queue"
    SKIP = "skip"
    CANCEL_OLDEST = "cancel_oldest"


class WebhookRespond(StrEnum):
    """When a webhook's HTTP request is answered."""

    WHEN_FINISHED = "when_finished"  # the execution's outputs (or its failure)
    AT_ONCE = "at_once"  # 202 with the execution id


class WebhookAuth(StrEnum):
    """How a webhook request proves it may start the blueprint."""

    TOKEN = "token"  # the server's bearer token, as every other route
    HMAC = "hmac"  # an HMAC-SHA256 of the body in ``signature_header``
    PATH_TOKEN = "path_token"  # a secret as the route's last segment


HookMethod = Literal["GET", "POST"]
FileEvent = Literal["created", "modified"]


class _TriggerBase(_Spec):
    name: str = Field(pattern=TRIGGER_NAME_PATTERN)
    description: str = ""
    #: Fixed inputs for every fire, beneath what the fire itself brings.
    inputs: dict[str, Any] = Field(default_factory=dict)


class ScheduleTrigger(_TriggerBase):
    """Fires on a cron expression (in ``timezone``) or every ``every`` seconds."""

    kind: Literal["schedule"] = "schedule"
    cron: str | None = None
    every: float | None = Field(default=None, gt=0)
    timezone: str = "UTC"
    missed: MissedFires = MissedFires.SKIP
    #: ``run_all`` runs at most this many missed fires (the newest), so a machine
    #: asleep for a month does not start thousands of executions on waking.
    max_catch_up: int = Field(default=100, ge=1, le=10_000)


class WebhookTrigger(_TriggerBase):
    """Fires on ``GET|POST /v1/hooks/{blueprint_id}/{path}`` of ``conductor serve``."""

    kind: Literal["webhook"] = "webhook"
    #: The route's last part; the trigger's name when not given.
    path: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,128}$")
    methods: list[HookMethod] = Field(default_factory=lambda: list[HookMethod](["POST"]))
    respond: WebhookRespond = WebhookRespond.WHEN_FINISHED
    auth: WebhookAuth = WebhookAuth.TOKEN
    #: For ``hmac`` and ``path_token``: the NAME of a secret (``conductor secrets``)
    #: holding the key or the path token, never the value itself.
    secret: str | None = None
    signature_header: str = "X-Conductor-Signature"
    #: ``when_finished``: seconds to wait before answering 202 with the id instead.
    wait_timeout: float = Field(default=30.0, gt=0, le=3600)


class FileTrigger(_TriggerBase):
    """Fires once per file created or changed in ``folder`` matching ``glob``."""

    kind: Literal["file"] = "file"
    folder: str
    glob: str = "*"
    recursive: bool = False
    events: list[FileEvent] = Field(
        default_factory=lambda: list[FileEvent](["created", "modified"])
    )


TriggerSpec = Annotated[ScheduleTrigger | WebhookTrigger | FileTrigger, Field(discriminator="kind")]


class ConcurrencySpec(_Spec):
    """At most ``limit`` executions of the blueprint run at once, across the processes
    sharing a data dir; ``on_limit`` says what a new one does beyond it."""

    limit: int = Field(ge=1, le=10_000)
    on_limit: OnLimit = OnLimit.QUEUE


def trigger_id(blueprint_id: str, name: str) -> str:
    """The id a trigger is listed, enabled and fired by."""
    return f"{blueprint_id}:{name}"
