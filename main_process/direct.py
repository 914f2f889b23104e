"""The ``direct`` transport, and the one ``match`` that answers every operation.

:func:`dispatch` turns a request (:mod:`app.operations`) into the engine call and
its reply. The direct transport is that function over an engine in this process;
the pipe worker (:mod:`main_process.worker`) answers its frames with the same
function, so both transports share one behaviour by construction. (The HTTP
server's routes call the same engine methods, one route per operation.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, assert_never

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
from app.secret_operations import (
    DeleteSecretRequest,
    ListSecretsRequest,
    SecretDeletedReply,
    SecretNamesReply,
    SetSecretRequest,
)
from app.subflow_operations import (
    ExecutionLinksReply,
    ExecutionLinksRequest,
    IterationPageReply,
    ListIterationsRequest,
)
from app.transport import Transport
from app.trigger_operations import (
    FireReply,
    FireTriggerRequest,
    HeldFiresReply,
    HeldFiresRequest,
    ListTriggersRequest,
    SettleHeldFireRequest,
    SetTriggerStateRequest,
    TriggerReply,
    TriggersReply,
)
from main_process.engine.client_results import client_execution, client_result, client_wait
from main_process.engine.engine import Engine


async def dispatch(engine: Engine, request: AnyRequest) -> AnyReply:
    """The engine's answer to one request; its errors propagate as raised."""
    match request:
        case ExecuteRequest():
            result = await engine.execute(
                blueprint_id=request.blueprint_id,
                blueprint=request.blueprint,
                inputs=request.inputs,
                config=request.config,
            )
            result = client_result(engine, result, request.include_node_outputs)
            return ExecutionReply(method="execute", result=result)
        case StartRequest():
            execution_id = await engine.start(
                blueprint_id=request.blueprint_id,
                blueprint=request.blueprint,
                inputs=request.inputs,
                config=request.config,
            )
            return StartReply(result=execution_id)
        case WaitRequest():
            result = await client_wait(engine, request.execution_id, request.include_node_outputs)
            return ExecutionReply(method="wait", result=result)
        case CancelRequest():
            return CancelReply(result=await engine.cancel(request.execution_id))
        case PauseRequest():
            return PauseReply(result=await engine.pause(request.execution_id))
        case ResumeRequest():
            result = await engine.resume(request.execution_id, wait=request.wait)
            result = client_result(engine, result, request.include_node_outputs)
            return ExecutionReply(method="resume", result=result)
        case GetExecutionRequest():
            inline = request.include_node_outputs
            result = await client_execution(engine, request.execution_id, inline)
            return ExecutionReply(method="get_execution", result=result)
        case ListExecutionsRequest():
            rows = await engine.list_executions(
                limit=request.limit, status=request.status, blueprint_id=request.blueprint_id
            )
            return ExecutionsReply(result=rows)
        case ListBlueprintsRequest():
            return BlueprintsReply(result=await engine.list_blueprints())
        case GetBlueprintRequest():
            model = await engine.get_blueprint(request.blueprint_id)
            return BlueprintReply(result=model.model_dump(mode="json", exclude_none=True))
        case SaveBlueprintRequest():
            return SavedBlueprintReply(result=await engine.save_blueprint(request.blueprint))
        case DeleteBlueprintRequest():
            await engine.delete_blueprint(request.blueprint_id)
            return DeletedBlueprintReply()
        case CopyBlueprintRequest():
            summary = await engine.blueprint_ops.copy_blueprint(
                request.blueprint_id, request.new_id, move=request.move, name=request.name
            )
            return SavedBlueprintReply(method="copy_blueprint", result=summary)
        case ExecutionBlueprintRequest():
            data = await engine.records.execution_blueprint(request.execution_id)
            return BlueprintReply(method="execution_blueprint", result=data)
        case ValidateRequest():
            return ProblemsReply(result=await engine.validate(request.blueprint))
        case NodeTypesRequest():
            return NodeTypesReply(result=await engine.node_types())
        case NodeOutputRequest():
            page = await engine.node_output(
                request.execution_id, request.node_id, offset=request.offset, limit=request.limit
            )
            return NodeOutputReply(result=page)
        case EventPageRequest():
            events = await engine.records.event_page(
                request.execution_id, after_seq=request.after_seq, limit=request.limit
            )
            return EventPageReply(result=events)
        case PreviewTemplateRequest():
            from main_process.engine.preview import preview_template

            return TemplatePreviewReply(result=await preview_template(engine, request))
        case ListTriggersRequest():
            return TriggersReply(result=await engine.triggers.list())
        case SetTriggerStateRequest():
            info = await engine.triggers.set_state(request.trigger_id, request.state)
            return TriggerReply(result=info)
        case FireTriggerRequest():
            return FireReply(result=await engine.triggers.fire(request.trigger_id))
        case HeldFiresRequest():
            return HeldFiresReply(result=await engine.triggers.held(request.trigger_id))
        case SettleHeldFireRequest():
            fired = await engine.triggers.settle_held(request.held_id, request.action)
            return FireReply(method="settle_held_fire", result=fired)
        case ExecutionLinksRequest():
            return ExecutionLinksReply(result=await engine.subflows.links(request.execution_id))
        case ListIterationsRequest():
            iterations = await engine.subflows.iterations(
                request.execution_id,
                request.node_id,
                offset=request.offset,
                limit=request.limit,
                status=request.status,
                output_index=request.output_index,
            )
            return IterationPageReply(result=iterations)
        case ListSecretsRequest():
            return SecretNamesReply(result=await engine.secrets.names())
        case SetSecretRequest():
            await engine.secrets.set(request.name, request.value)
            return SecretNamesReply(method="set_secret", result=await engine.secrets.names())
        case DeleteSecretRequest():
            return SecretDeletedReply(result=await engine.secrets.delete(request.name))
        case _:
            assert_never(request)


class DirectTransport(Transport):
    """The ``direct`` transport: the engine in this process, called as is."""

    def __init__(self, home: Path | str | None = None, **engine_options: Any) -> None:
        self.engine = Engine(home, **engine_options)

    async def handle(self, request: AnyRequest) -> AnyReply:
        return await dispatch(self.engine, request)

    def events(self, execution_id: str, after_seq: int = 0) -> AsyncIterator[Event]:
        return self.engine.events(execution_id, after_seq)

    async def close(self) -> None:
        await self.engine.close()
