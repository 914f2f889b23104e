"""The unified API: ``create_conductor`` and the :class:`Conductor` facade.

One set of async methods, whichever way the engine is reached. The facade turns
arguments into their wire form (blueprint models into dicts, config defaults), checks
them once, and hands them to a :class:`~app.transport.Transport` resolved **by dotted
name** — ``app`` never imports the engine, the pipe or the HTTP client until asked.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal, TypeVar

from pydantic import ValidationError

from app.api_args import (
    TRANSPORTS,
    checked_blueprint,
    checked_inputs,
    load_object,
    resolve_transport_name,
)
from app.blueprint import Blueprint
from app.errors import BlueprintError, ConfigError, Problem, TransportError
from app.event_page import EventPage, check_event_page
from app.events import Event
from app.operations import (
    AnyReply,
    AnyRequest,
    BlueprintReply,
    BlueprintsReply,
    CancelReply,
    CancelRequest,
    CopyBlueprintRequest,
    DeleteBlueprintRequest,
    DeletedBlueprintReply,
    EventPageReply,
    EventPageRequest,
    ExecuteRequest,
    ExecutionBlueprintRequest,
    ExecutionReply,
    ExecutionsReply,
    GetBlueprintRequest,
    GetExecutionRequest,
    ListBlueprintsRequest,
    ListExecutionsRequest,
    NodeOutputReply,
    NodeOutputRequest,
    NodeTypesReply,
    NodeTypesRequest,
    PauseReply,
    PauseRequest,
    PreviewTemplateRequest,
    ProblemsReply,
    ResumeRequest,
    SaveBlueprintRequest,
    SavedBlueprintReply,
    StartReply,
    StartRequest,
    TemplatePreviewReply,
    ValidateRequest,
    WaitRequest,
)
from app.output_handles import OutputHandle
from app.output_paging import fetch_output, output_pages
from app.results import (
    MAX_PAGE_LIMIT,
    BlueprintSummary,
    ExecutionConfig,
    ExecutionResult,
    ExecutionSummary,
    NodeTypeInfo,
    OutputPage,
    check_page,
)
from app.secrets_api import SecretsApi
from app.subflow_api import SubflowReads
from app.template_preview import TemplatePreview
from app.transport import BlueprintData, Transport
from app.trigger_api import TriggersApi

R = TypeVar("R", bound=AnyReply)
TransportName = Literal["auto", "direct", "ipc", "http"]


class Conductor:
    """The same async API over every transport.

    ``concurrency`` bounds nodes running at once in one execution; ``timeout``
    bounds a whole ``execute`` (the engine cancels the execution when it passes).
    """

    def __init__(
        self,
        transport: Transport,
        *,
        concurrency: int | None = None,
        timeout: float | None = None,
    ) -> None:
        self.transport = transport
        self.concurrency = concurrency
        self.timeout = timeout
        # Families of operations: child executions, parent links and loop iterations;
        # triggers and their held fires; the engine process's secrets (names only).
        self.subflows = SubflowReads(self._ask)
        self.triggers = TriggersApi(self._ask)
        self.secrets = SecretsApi(self._ask)

    def _config(self, config: ExecutionConfig | dict[str, Any] | None) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.concurrency is not None:
            data["concurrency"] = self.concurrency
        if self.timeout is not None:
            data["timeout"] = self.timeout
        if isinstance(config, ExecutionConfig):
            data.update(config.model_dump(exclude_unset=True))
        elif config:
            data.update(config)
        try:
            checked = ExecutionConfig.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            place = ".".join(str(p) for p in first["loc"])
            raise ConfigError(first["msg"], where=f"config.{place}") from None
        return checked.model_dump(exclude_defaults=True)

    def _target(
        self, blueprint_id: str | None, blueprint: Blueprint | BlueprintData | None
    ) -> tuple[str | None, Blueprint | BlueprintData | None]:
        if (blueprint_id is None) == (blueprint is None):
            raise ConfigError("give exactly one of blueprint_id and blueprint", where="blueprint")
        return blueprint_id, checked_blueprint(blueprint)

    async def _ask(self, request: AnyRequest, reply_type: type[R]) -> R:
        """The transport's reply to ``request``, which must be a ``reply_type``."""
        reply = await self.transport.handle(request)
        if not isinstance(reply, reply_type):
            raise TransportError(
                f"expected a {reply_type.__name__} to a {request.method} request, "
                f"got a {type(reply).__name__}"
            )
        return reply

    async def execute(
        self,
        *,
        blueprint_id: str | None = None,
        blueprint: Blueprint | BlueprintData | None = None,
        inputs: Mapping[str, Any] | None = None,
        config: ExecutionConfig | dict[str, Any] | None = None,
        include_node_outputs: bool = False,
    ) -> ExecutionResult:
        """Run a blueprint to the end. A failed run is a result with ``success=False``;
        only a blueprint that cannot start (invalid, unknown) raises.

        An output over the inline limit (1 MiB) comes as an
        :class:`~app.output_handles.OutputHandle`, read with :meth:`fetch_output` or
        :meth:`node_output`; ``include_node_outputs`` carries every one inline."""
        bp_id, bp = self._target(blueprint_id, blueprint)
        request = ExecuteRequest(
            blueprint_id=bp_id,
            blueprint=bp,
            inputs=checked_inputs(inputs),
            config=self._config(config),
            include_node_outputs=include_node_outputs,
        )
        return (await self._ask(request, ExecutionReply)).result

    async def start(
        self,
        *,
        blueprint_id: str | None = None,
        blueprint: Blueprint | BlueprintData | None = None,
        inputs: Mapping[str, Any] | None = None,
        config: ExecutionConfig | dict[str, Any] | None = None,
    ) -> str:
        """Start a run and return its execution id at once."""
        bp_id, bp = self._target(blueprint_id, blueprint)
        request = StartRequest(
            blueprint_id=bp_id,
            blueprint=bp,
            inputs=checked_inputs(inputs),
            config=self._config(config),
        )
        return (await self._ask(request, StartReply)).result

    def events(self, execution_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        """Recorded events after ``after_seq``, then live ones; ends after the terminal one.

        Events of a kind this version does not know arrive as
        :class:`~app.events.OtherEvent`; skip them.
        """
        return self.transport.events(execution_id, after_seq)

    async def wait(
        self, execution_id: str, *, include_node_outputs: bool = False
    ) -> ExecutionResult:
        """The result once the execution is terminal (``paused`` is not: it keeps waiting);
        large outputs as handles, as for :meth:`execute`."""
        request = WaitRequest(execution_id=execution_id, include_node_outputs=include_node_outputs)
        return (await self._ask(request, ExecutionReply)).result

    async def cancel(self, execution_id: str) -> bool:
        """Stop an execution (running, pending or paused); False when it had already ended."""
        return (await self._ask(CancelRequest(execution_id=execution_id), CancelReply)).result

    async def pause(self, execution_id: str) -> bool:
        """Start no new node of an execution (running ones finish); it shows ``paused``
        until :meth:`resume` continues it in place. False when it was not running."""
        return (await self._ask(PauseRequest(execution_id=execution_id), PauseReply)).result

    async def resume(
        self, execution_id: str, *, wait: bool = True, include_node_outputs: bool = False
    ) -> ExecutionResult:
        """Continue a paused execution, or re-run the nodes of an unfinished one that
        did not complete; with ``wait`` the final result, else the state at once."""
        request = ResumeRequest(
            execution_id=execution_id, wait=wait, include_node_outputs=include_node_outputs
        )
        return (await self._ask(request, ExecutionReply)).result

    async def get_execution(
        self, execution_id: str, *, include_node_outputs: bool = False
    ) -> ExecutionResult:
        """The execution as it is now; large outputs as handles, as for :meth:`execute`."""
        request = GetExecutionRequest(
            execution_id=execution_id, include_node_outputs=include_node_outputs
        )
        return (await self._ask(request, ExecutionReply)).result

    async def node_output(
        self, execution_id: str, node_id: str, *, offset: int = 0, limit: int = 100
    ) -> OutputPage:
        """Items ``[offset, offset + limit)`` of a node's output (``limit`` at most 10,000).

        A GUI or script pages through a large output instead of receiving it whole
        with ``get_execution``; ``total`` tells how far there is to go.
        """
        check_page(offset, limit)
        request = NodeOutputRequest(
            execution_id=execution_id, node_id=node_id, offset=offset, limit=limit
        )
        return (await self._ask(request, NodeOutputReply)).result

    def output_pages(
        self, handle: OutputHandle, *, page: int = MAX_PAGE_LIMIT
    ) -> AsyncIterator[OutputPage]:
        """The pages of the value ``handle`` stands for, in order (``page`` items each)."""
        return output_pages(self.node_output, handle, page)

    async def fetch_output(self, handle: OutputHandle | Any) -> Any:
        """The whole value a handle stands for, read page by page (a value that is not
        a handle is returned as is). Only for values this process can hold: a large
        one is better read with :meth:`output_pages`."""
        if not isinstance(handle, OutputHandle):
            return handle
        return await fetch_output(self.node_output, handle)

    async def preview_template(
        self,
        template: str,
        *,
        execution_id: str | None = None,
        node_id: str | None = None,
        upstream: list[str] | None = None,
    ) -> TemplatePreview:
        """What ``template`` renders to against a recorded execution's data (as the node
        ``node_id`` with these ``upstream`` nodes would see it), rendered in the engine
        with a run's bounds; a template that cannot render is ``ok=False`` with why."""
        request = PreviewTemplateRequest(
            template=template, execution_id=execution_id, node_id=node_id, upstream=upstream or []
        )
        return (await self._ask(request, TemplatePreviewReply)).result

    async def event_page(
        self, execution_id: str, *, after_seq: int = 0, limit: int = 1000
    ) -> EventPage:
        """Recorded events after ``after_seq`` (at most ``limit``, up to 10,000), without
        waiting for more: how time travel reads a run, page by page. ``more`` says the
        page was full; ``live`` that the execution is still running."""
        check_event_page(after_seq, limit)
        request = EventPageRequest(execution_id=execution_id, after_seq=after_seq, limit=limit)
        return (await self._ask(request, EventPageReply)).result

    async def list_executions(
        self, *, limit: int = 50, status: str | None = None, blueprint_id: str | None = None
    ) -> list[ExecutionSummary]:
        request = ListExecutionsRequest(limit=limit, status=status, blueprint_id=blueprint_id)
        return (await self._ask(request, ExecutionsReply)).result

    async def list_blueprints(self) -> list[BlueprintSummary]:
        return (await self._ask(ListBlueprintsRequest(), BlueprintsReply)).result

    async def get_blueprint(self, blueprint_id: str) -> Blueprint:
        request = GetBlueprintRequest(blueprint_id=blueprint_id)
        data = (await self._ask(request, BlueprintReply)).result
        return Blueprint.model_validate(data)

    async def save_blueprint(self, blueprint: Blueprint | BlueprintData) -> BlueprintSummary:
        data = checked_blueprint(blueprint, required=True)
        assert data is not None
        request = SaveBlueprintRequest(blueprint=data)
        return (await self._ask(request, SavedBlueprintReply)).result

    async def delete_blueprint(self, blueprint_id: str) -> None:
        await self._ask(DeleteBlueprintRequest(blueprint_id=blueprint_id), DeletedBlueprintReply)

    async def duplicate_blueprint(
        self, blueprint_id: str, new_id: str, *, name: str | None = None
    ) -> BlueprintSummary:
        """Save a copy of a library blueprint (user or example) under ``new_id``."""
        request = CopyBlueprintRequest(blueprint_id=blueprint_id, new_id=new_id, name=name)
        return (await self._ask(request, SavedBlueprintReply)).result

    async def rename_blueprint(
        self, blueprint_id: str, new_id: str, *, name: str | None = None
    ) -> BlueprintSummary:
        """Give a user blueprint a new id (past executions keep the old one). Refused
        with BlueprintConflictError while another blueprint runs it."""
        request = CopyBlueprintRequest(
            blueprint_id=blueprint_id, new_id=new_id, move=True, name=name
        )
        return (await self._ask(request, SavedBlueprintReply)).result

    async def execution_blueprint(self, execution_id: str) -> Blueprint:
        """The exact blueprint an execution ran (with its layout), as recorded with it,
        whatever the library holds under that id now."""
        request = ExecutionBlueprintRequest(execution_id=execution_id)
        data = (await self._ask(request, BlueprintReply)).result
        return Blueprint.model_validate(data)

    async def validate(self, blueprint: Blueprint | BlueprintData) -> list[Problem]:
        """Every problem, each with its place. A blueprint that cannot even be sent
        (text no JSON writer takes) has that as its problem, not as an error."""
        data = checked_blueprint(blueprint, required=True)
        assert data is not None
        try:
            return (await self._ask(ValidateRequest(blueprint=data), ProblemsReply)).result
        except BlueprintError as exc:
            return list(exc.problems)

    async def node_types(self) -> list[NodeTypeInfo]:
        return (await self._ask(NodeTypesRequest(), NodeTypesReply)).result

    async def close(self) -> None:
        await self.transport.close()

    async def __aenter__(self) -> Conductor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def create_conductor(
    transport: TransportName | str = "auto",
    *,
    api_url: str | None = None,
    token: str | None = None,
    concurrency: int | None = None,
    timeout: float | None = None,
    **options: Any,
) -> Conductor:
    """Create a :class:`Conductor` over the named transport.

    ``options`` go to the transport's constructor (``home=`` for a direct engine's
    data dir, for instance).
    """
    name = resolve_transport_name(transport)
    if name == "http":
        options["api_url"] = api_url or os.environ.get("CONDUCTOR_API_URL")
        options["token"] = token or os.environ.get("CONDUCTOR_TOKEN")
        if not options["api_url"]:
            raise ConfigError("the http transport needs api_url or CONDUCTOR_API_URL")
    elif name == "direct" and concurrency is not None:
        options.setdefault("concurrency", concurrency)
    factory = load_object(TRANSPORTS[name])
    return Conductor(factory(**options), concurrency=concurrency, timeout=timeout)
