"""The routes of ``conductor serve``: each a thin call into the engine.

Kept apart from :mod:`main_process.http.server` (the app, its guards and the serving
process) because the routes are the API's contract — ``/v1/...``, JSON bodies, one
error shape — and grow with every operation.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Header, Query, Request
from pydantic import TypeAdapter
from starlette.responses import Response, StreamingResponse

from app.errors import ConfigError
from app.event_page import EventPage
from app.events import Event
from app.json_values import model_json
from app.operations import PreviewTemplateRequest
from app.output_handles import EXECUTION_OUTPUTS
from app.results import (
    BlueprintSummary,
    ExecutionResult,
    ExecutionSummary,
    NodeTypeInfo,
    OutputPage,
)
from app.states import ExecutionStatus
from app.subflow_results import ExecutionLinks, IterationPage
from app.template_preview import TemplatePreview
from main_process.engine.client_results import client_execution, client_result, client_wait
from main_process.engine.engine import Engine
from main_process.http.errors import ErrorBody
from main_process.http.events import (
    MAX_SEQ,
    event_list_bytes,
    nothing_more,
    parse_last_event_id,
    recorded_events,
    sse_stream,
)
from main_process.http.schema import (
    CancelledBody,
    CopyBlueprintBody,
    HealthBody,
    PausedBody,
    ResumeRequest,
    StartedBody,
    ValidationBody,
    known_query_only,
    parse_execute_request,
)
from main_process.http.sse_budget import SseBudget, SseEncoder, scope_transport

API_VERSION = "1"
_JSON = "application/json"
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 404, 409, 413, 422, 500)
}
_SUMMARIES: TypeAdapter[list[ExecutionSummary]] = TypeAdapter(list[ExecutionSummary])
_BLUEPRINTS: TypeAdapter[list[BlueprintSummary]] = TypeAdapter(list[BlueprintSummary])
_NODE_TYPES: TypeAdapter[list[NodeTypeInfo]] = TypeAdapter(list[NodeTypeInfo])


def _json(data: bytes | str, status: int = 200) -> Response:
    return Response(data, status, media_type=_JSON)


def routes(engine: Engine, sse_buffer: int, sse_budget: SseBudget | None = None) -> APIRouter:
    """Every ``/v1`` route, closed over one engine (and the budget its event streams share)."""
    budget = sse_budget or SseBudget()
    encoder = SseEncoder()
    r = APIRouter(prefix="/v1", responses=_ERRORS, dependencies=[Depends(known_query_only)])

    @r.get("/health", response_model=HealthBody, tags=["meta"])
    async def health() -> Response:
        body = HealthBody(status="ok", version=API_VERSION, code_nodes=engine.allow_code_nodes)
        return _json(body.model_dump_json())

    @r.get("/node-types", response_model=list[NodeTypeInfo], tags=["blueprints"])
    async def node_types() -> Response:
        return _json(_NODE_TYPES.dump_json(await engine.node_types()))

    @r.get("/blueprints", response_model=list[BlueprintSummary], tags=["blueprints"])
    async def list_blueprints() -> Response:
        return _json(_BLUEPRINTS.dump_json(await engine.list_blueprints()))

    @r.post("/blueprints/validate", response_model=ValidationBody, tags=["blueprints"])
    async def validate(blueprint: Annotated[dict[str, Any], Body()]) -> Response:
        problems = await engine.validate(blueprint)
        return _json(ValidationBody(valid=not problems, problems=problems).model_dump_json())

    @r.post("/blueprints/{blueprint_id}/copy", response_model=BlueprintSummary, tags=["blueprints"])
    async def copy_blueprint(blueprint_id: str, body: CopyBlueprintBody) -> Response:
        summary = await engine.blueprint_ops.copy_blueprint(
            blueprint_id, body.new_id, move=body.move, name=body.name
        )
        return _json(summary.model_dump_json())

    @r.get("/blueprints/{blueprint_id:path}", response_model=dict[str, Any], tags=["blueprints"])
    async def get_blueprint(blueprint_id: str) -> Response:
        model = await engine.get_blueprint(blueprint_id)
        return _json(model.model_dump_json(exclude_none=True))

    @r.put("/blueprints/{blueprint_id:path}", response_model=BlueprintSummary, tags=["blueprints"])
    async def save_blueprint(
        blueprint_id: str, blueprint: Annotated[dict[str, Any], Body()]
    ) -> Response:
        body_id = blueprint.setdefault("id", blueprint_id)
        if body_id != blueprint_id:
            raise ConfigError(
                f"the body's id {body_id!r} differs from the id in the URL {blueprint_id!r}",
                where="id",
            )
        return _json((await engine.save_blueprint(blueprint)).model_dump_json())

    @r.delete("/blueprints/{blueprint_id:path}", status_code=204, tags=["blueprints"])
    async def delete_blueprint(blueprint_id: str) -> Response:
        await engine.delete_blueprint(blueprint_id)
        return Response(status_code=204)

    @r.post(
        "/executions",
        status_code=202,
        tags=["executions"],
        responses={
            200: {"model": ExecutionResult, "description": "with wait: the result"},
            202: {"model": StartedBody, "description": "started"},
        },
    )
    async def start(raw: Request) -> Response:
        request = parse_execute_request(await raw.body())
        if (request.blueprint_id is None) == (request.blueprint is None):
            raise ConfigError("give exactly one of blueprint_id and blueprint", where="blueprint")
        execution_id = await engine.start(
            blueprint_id=request.blueprint_id,
            blueprint=request.blueprint,
            inputs=request.inputs,
            config=request.config.model_dump(exclude_defaults=True),
        )
        if not request.wait:
            return _json(b'{"execution_id":"%s"}' % execution_id.encode(), 202)
        result = await client_wait(engine, execution_id, request.include_node_outputs)
        return _json(model_json(result))

    @r.get("/executions", response_model=list[ExecutionSummary], tags=["executions"])
    async def list_executions(
        limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
        status: ExecutionStatus | None = None,
        blueprint_id: str | None = None,
    ) -> Response:
        found = await engine.list_executions(
            limit=limit, status=status.value if status else None, blueprint_id=blueprint_id
        )
        return _json(_SUMMARIES.dump_json(found))

    @r.get(
        "/executions/{execution_id}/events",
        response_model=list[Event],
        tags=["executions"],
        responses={200: {"content": {"text/event-stream": {}}}, 204: {}},
    )
    async def events(
        request: Request,
        execution_id: str,
        after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> Response:
        resumed = parse_last_event_id(last_event_id)
        after = max(after, resumed or 0)
        if "text/event-stream" not in request.headers.get("accept", ""):
            return _json(event_list_bytes(await recorded_events(engine, execution_id, after)))
        if await nothing_more(engine, execution_id, after):
            return Response(status_code=204)
        return StreamingResponse(
            sse_stream(
                engine,
                execution_id,
                after,
                limit=sse_buffer,
                budget=budget,
                encoder=encoder,
                transport=scope_transport(request.scope),
            ),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @r.post("/executions/{execution_id}/cancel", response_model=CancelledBody, tags=["executions"])
    async def cancel(execution_id: str) -> Response:
        return _json(CancelledBody(cancelled=await engine.cancel(execution_id)).model_dump_json())

    @r.post("/executions/{execution_id}/pause", response_model=PausedBody, tags=["executions"])
    async def pause(execution_id: str) -> Response:
        return _json(PausedBody(paused=await engine.pause(execution_id)).model_dump_json())

    @r.post(
        "/executions/{execution_id}/resume", response_model=ExecutionResult, tags=["executions"]
    )
    async def resume(execution_id: str, request: ResumeRequest | None = None) -> Response:
        wait = request is not None and request.wait
        inline = request is not None and request.include_node_outputs
        result = client_result(engine, await engine.resume(execution_id, wait=wait), inline)
        return _json(model_json(result), 200 if wait else 202)

    @r.get(
        "/executions/{execution_id}/nodes/{node_id}/output",
        response_model=OutputPage,
        tags=["executions"],
    )
    async def node_output(
        execution_id: str, node_id: str, offset: int = 0, limit: int = 100
    ) -> Response:
        # Bounds are the engine's to check, so the error matches the other transports'.
        page = await engine.node_output(execution_id, node_id, offset=offset, limit=limit)
        return _json(model_json(page))

    @r.get("/executions/{execution_id}/outputs", response_model=OutputPage, tags=["executions"])
    async def outputs_page(execution_id: str, offset: int = 0, limit: int = 100) -> Response:
        """The execution's ``outputs`` paged, as ``node_output`` with node id ``""``."""
        page = await engine.node_output(execution_id, EXECUTION_OUTPUTS, offset=offset, limit=limit)
        return _json(model_json(page))

    @r.post("/templates/preview", response_model=TemplatePreview, tags=["blueprints"])
    async def preview(request: PreviewTemplateRequest) -> Response:
        from main_process.engine.preview import preview_template

        return _json((await preview_template(engine, request)).model_dump_json())

    @r.get("/executions/{execution_id}/event-page", response_model=EventPage, tags=["executions"])
    async def event_page(execution_id: str, after: int = 0, limit: int = 1000) -> Response:
        # Bounds are the engine's to check, so the error matches the other transports'.
        page = await engine.records.event_page(execution_id, after_seq=after, limit=limit)
        return _json(model_json(page))

    @r.get("/executions/{execution_id}/links", response_model=ExecutionLinks, tags=["executions"])
    async def execution_links(execution_id: str) -> Response:
        return _json(model_json(await engine.subflows.links(execution_id)))

    @r.get(
        "/executions/{execution_id}/nodes/{node_id}/iterations",
        response_model=IterationPage,
        tags=["executions"],
    )
    async def iterations(
        execution_id: str,
        node_id: str,
        offset: int = 0,
        limit: int = 100,
        status: str | None = None,
        output_index: int | None = None,
    ) -> Response:
        # Bounds are the engine's to check, so the error matches the other transports'.
        page = await engine.subflows.iterations(
            execution_id,
            node_id,
            offset=offset,
            limit=limit,
            status=status,
            output_index=output_index,
        )
        return _json(model_json(page))

    @r.get(
        "/executions/{execution_id}/blueprint", response_model=dict[str, Any], tags=["executions"]
    )
    async def execution_blueprint(execution_id: str) -> Response:
        return _json(orjson.dumps(await engine.records.execution_blueprint(execution_id)))

    @r.get("/executions/{execution_id:path}", response_model=ExecutionResult, tags=["executions"])
    async def get_execution(execution_id: str, include_node_outputs: bool = False) -> Response:
        result = await client_execution(engine, execution_id, include_node_outputs)
        return _json(model_json(result))

    return r
