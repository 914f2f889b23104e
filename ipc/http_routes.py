"""Which HTTP route carries each operation: one table, request type → route.

A :class:`Route` says how a request becomes an HTTP call (verb, path, query, JSON
body, whether it may last as long as a run) and how the answer's bytes become the
operation's reply. The HTTP client (:mod:`ipc.http_client`) looks the request's
type up here and does the rest the same way for every operation, so adding one is
one entry (and the server's route, :mod:`main_process.http.server`).

``wait`` is the one operation with no route of its own: the client follows the
event stream to the terminal event and then asks for the result, so no request
sits idle for the length of a run behind a proxy's timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
from pydantic import TypeAdapter

from app.blueprint import Blueprint
from app.errors import ConfigError, Problem
from app.event_page import EventPage
from app.json_values import validate_json
from app.operations import (
    AnyReply,
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
)
from app.output_handles import EXECUTION_OUTPUTS
from app.results import (
    BlueprintSummary,
    ExecutionResult,
    ExecutionSummary,
    NodeTypeInfo,
    OutputPage,
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
from app.subflow_results import ExecutionLinks, IterationPage
from app.template_preview import TemplatePreview
from app.transport import BlueprintArg, BlueprintData
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
from app.triggers import FireInfo, HeldFire, TriggerInfo, TriggerState

_SUMMARIES: TypeAdapter[list[ExecutionSummary]] = TypeAdapter(list[ExecutionSummary])
_BLUEPRINTS: TypeAdapter[list[BlueprintSummary]] = TypeAdapter(list[BlueprintSummary])
_NODE_TYPES: TypeAdapter[list[NodeTypeInfo]] = TypeAdapter(list[NodeTypeInfo])
_PROBLEMS: TypeAdapter[list[Problem]] = TypeAdapter(list[Problem])
_TRIGGERS: TypeAdapter[list[TriggerInfo]] = TypeAdapter(list[TriggerInfo])
_HELD: TypeAdapter[list[HeldFire]] = TypeAdapter(list[HeldFire])
#: The route verb for each trigger state.
_STATE_VERBS = {
    TriggerState.ENABLED: "enable",
    TriggerState.DISABLED: "disable",
    TriggerState.SUSPENDED: "suspend",
}


def wire_blueprint(blueprint: BlueprintArg) -> BlueprintData:
    """The dict a blueprint travels as; code-defined nodes cannot leave this process."""
    if not isinstance(blueprint, Blueprint):
        return blueprint
    local = [n.id for n in blueprint.nodes if n.function is not None]
    if local:
        raise ConfigError(
            f"nodes {', '.join(map(repr, local))} are defined in code and run only in this "
            "process; use the direct transport, or a registered node type",
            where="blueprint",
        )
    return blueprint.model_dump(mode="json", exclude_none=True)


def _q(value: str) -> str:
    return quote(value, safe="")


def _run_body(request: ExecuteRequest | StartRequest, *, wait: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"inputs": request.inputs, "config": request.config, "wait": wait}
    if isinstance(request, ExecuteRequest) and request.include_node_outputs:
        body["include_node_outputs"] = True
    if request.blueprint is not None:
        body["blueprint"] = wire_blueprint(request.blueprint)
    else:
        body["blueprint_id"] = request.blueprint_id
    return body


def _list_params(request: ListExecutionsRequest) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": request.limit}
    if request.status is not None:
        params["status"] = request.status
    if request.blueprint_id is not None:
        params["blueprint_id"] = request.blueprint_id
    return params


def _execution(method: str) -> Callable[[Any, bytes], AnyReply]:
    def reply(_request: Any, content: bytes) -> AnyReply:
        result = validate_json(ExecutionResult, content)
        return ExecutionReply(method=method, result=result)

    return reply


def _node_output_path(request: NodeOutputRequest) -> str:
    """A node's output route; the execution's ``outputs`` (node id ``""``) has its own."""
    eid = _q(request.execution_id)
    if request.node_id == EXECUTION_OUTPUTS:
        return f"/v1/executions/{eid}/outputs"
    return f"/v1/executions/{eid}/nodes/{_q(request.node_id)}/output"


@dataclass(frozen=True, slots=True)
class Route:
    """How one operation travels over HTTP (see the module docstring)."""

    verb: str
    path: Callable[[Any], str]
    reply: Callable[[Any, bytes], AnyReply]
    body: Callable[[Any], Any] | None = None
    params: Callable[[Any], dict[str, Any]] | None = None
    #: True when the call may last as long as a run (no read timeout).
    long: Callable[[Any], bool] = lambda _request: False


def _iteration_params(request: ListIterationsRequest) -> dict[str, Any]:
    params: dict[str, Any] = {"offset": request.offset, "limit": request.limit}
    if request.status is not None:
        params["status"] = request.status
    if request.output_index is not None:
        params["output_index"] = request.output_index
    return params


ROUTES: dict[type[Any], Route] = {
    ExecuteRequest: Route(
        "POST",
        lambda r: "/v1/executions",
        _execution("execute"),
        body=lambda r: _run_body(r, wait=True),
        long=lambda r: True,
    ),
    StartRequest: Route(
        "POST",
        lambda r: "/v1/executions",
        lambda r, c: StartReply(result=str(orjson.loads(c)["execution_id"])),
        body=lambda r: _run_body(r, wait=False),
    ),
    CancelRequest: Route(
        "POST",
        lambda r: f"/v1/executions/{_q(r.execution_id)}/cancel",
        lambda r, c: CancelReply(result=bool(orjson.loads(c)["cancelled"])),
    ),
    PauseRequest: Route(
        "POST",
        lambda r: f"/v1/executions/{_q(r.execution_id)}/pause",
        lambda r, c: PauseReply(result=bool(orjson.loads(c)["paused"])),
    ),
    ResumeRequest: Route(
        "POST",
        lambda r: f"/v1/executions/{_q(r.execution_id)}/resume",
        _execution("resume"),
        body=lambda r: {"wait": r.wait, "include_node_outputs": r.include_node_outputs},
        long=lambda r: bool(r.wait),
    ),
    GetExecutionRequest: Route(
        "GET",
        lambda r: f"/v1/executions/{_q(r.execution_id)}",
        _execution("get_execution"),
        params=lambda r: {"include_node_outputs": "true"} if r.include_node_outputs else {},
    ),
    NodeOutputRequest: Route(
        "GET",
        _node_output_path,
        lambda r, c: NodeOutputReply(result=validate_json(OutputPage, c)),
        params=lambda r: {"offset": r.offset, "limit": r.limit},
    ),
    ExecutionLinksRequest: Route(
        "GET",
        lambda r: f"/v1/executions/{_q(r.execution_id)}/links",
        lambda r, c: ExecutionLinksReply(result=validate_json(ExecutionLinks, c)),
    ),
    ListIterationsRequest: Route(
        "GET",
        lambda r: f"/v1/executions/{_q(r.execution_id)}/nodes/{_q(r.node_id)}/iterations",
        lambda r, c: IterationPageReply(result=validate_json(IterationPage, c)),
        params=_iteration_params,
    ),
    PreviewTemplateRequest: Route(
        "POST",
        lambda r: "/v1/templates/preview",
        lambda r, c: TemplatePreviewReply(result=TemplatePreview.model_validate_json(c)),
        body=lambda r: r.model_dump(mode="json"),
    ),
    EventPageRequest: Route(
        "GET",
        lambda r: f"/v1/executions/{_q(r.execution_id)}/event-page",
        lambda r, c: EventPageReply(result=validate_json(EventPage, c)),
        params=lambda r: {"after": r.after_seq, "limit": r.limit},
    ),
    ListExecutionsRequest: Route(
        "GET",
        lambda r: "/v1/executions",
        lambda r, c: ExecutionsReply(result=_SUMMARIES.validate_json(c)),
        params=_list_params,
    ),
    ListBlueprintsRequest: Route(
        "GET",
        lambda r: "/v1/blueprints",
        lambda r, c: BlueprintsReply(result=_BLUEPRINTS.validate_json(c)),
    ),
    GetBlueprintRequest: Route(
        "GET",
        lambda r: f"/v1/blueprints/{_q(r.blueprint_id)}",
        lambda r, c: BlueprintReply(result=orjson.loads(c)),
    ),
    SaveBlueprintRequest: Route(
        "PUT",
        lambda r: f"/v1/blueprints/{_q(str(wire_blueprint(r.blueprint).get('id', '')))}",
        lambda r, c: SavedBlueprintReply(result=BlueprintSummary.model_validate_json(c)),
        body=lambda r: wire_blueprint(r.blueprint),
    ),
    DeleteBlueprintRequest: Route(
        "DELETE",
        lambda r: f"/v1/blueprints/{_q(r.blueprint_id)}",
        lambda r, c: DeletedBlueprintReply(),
    ),
    CopyBlueprintRequest: Route(
        "POST",
        lambda r: f"/v1/blueprints/{_q(r.blueprint_id)}/copy",
        lambda r, c: SavedBlueprintReply(
            method="copy_blueprint", result=BlueprintSummary.model_validate_json(c)
        ),
        body=lambda r: {"new_id": r.new_id, "move": r.move, "name": r.name},
    ),
    ExecutionBlueprintRequest: Route(
        "GET",
        lambda r: f"/v1/executions/{_q(r.execution_id)}/blueprint",
        lambda r, c: BlueprintReply(method="execution_blueprint", result=orjson.loads(c)),
    ),
    ValidateRequest: Route(
        "POST",
        lambda r: "/v1/blueprints/validate",
        lambda r, c: ProblemsReply(result=_PROBLEMS.validate_python(orjson.loads(c)["problems"])),
        body=lambda r: wire_blueprint(r.blueprint),
    ),
    NodeTypesRequest: Route(
        "GET",
        lambda r: "/v1/node-types",
        lambda r, c: NodeTypesReply(result=_NODE_TYPES.validate_json(c)),
    ),
    ListTriggersRequest: Route(
        "GET",
        lambda r: "/v1/triggers",
        lambda r, c: TriggersReply(result=_TRIGGERS.validate_json(c)),
    ),
    SetTriggerStateRequest: Route(
        "POST",
        lambda r: f"/v1/triggers/{_q(r.trigger_id)}/{_STATE_VERBS[r.state]}",
        lambda r, c: TriggerReply(result=TriggerInfo.model_validate_json(c)),
    ),
    FireTriggerRequest: Route(
        "POST",
        lambda r: f"/v1/triggers/{_q(r.trigger_id)}/fire",
        lambda r, c: FireReply(result=FireInfo.model_validate_json(c)),
    ),
    HeldFiresRequest: Route(
        "GET",
        lambda r: "/v1/held-fires",
        lambda r, c: HeldFiresReply(result=_HELD.validate_json(c)),
        params=lambda r: {} if r.trigger_id is None else {"trigger_id": r.trigger_id},
    ),
    SettleHeldFireRequest: Route(
        "POST",
        lambda r: f"/v1/held-fires/{r.held_id}/{r.action.value}",
        lambda r, c: FireReply(method="settle_held_fire", result=FireInfo.model_validate_json(c)),
    ),
    ListSecretsRequest: Route(
        "GET",
        lambda r: "/v1/secrets",
        lambda r, c: SecretNamesReply(result=orjson.loads(c)["names"]),
    ),
    SetSecretRequest: Route(
        "PUT",
        lambda r: f"/v1/secrets/{_q(r.name)}",
        lambda r, c: SecretNamesReply(method="set_secret", result=orjson.loads(c)["names"]),
        body=lambda r: {"value": r.value},
    ),
    DeleteSecretRequest: Route(
        "DELETE",
        lambda r: f"/v1/secrets/{_q(r.name)}",
        lambda r, c: SecretDeletedReply(result=bool(orjson.loads(c)["deleted"])),
    ),
}
