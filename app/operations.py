"""The operations: every request a transport carries, and the reply each one gets.

One model per request, discriminated on ``method``, and one per kind of reply
(``method`` again, and a typed ``result``). They are the seam every transport
shares: the facade (:mod:`app.api`) builds a request and asks its transport to
``handle`` it; the direct transport and the pipe worker answer it with the one
``match`` in :func:`main_process.direct.dispatch`; the pipe wraps it in a frame
(:mod:`ipc.messages`) and the HTTP client maps its type to a route
(:mod:`ipc.http_client`). Adding an operation is a request and a reply here, the
engine method, and its route (a case in ``dispatch``, an HTTP route and the
client's table entry).

Blueprints travel as the model in-process (a code-defined node's function must
survive) and as its plain dict across a process; the ``blueprint`` fields accept
both and leave checking to the engine, so an invalid blueprint is the same
:class:`~app.errors.BlueprintError` with every problem on every transport.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import Field, PlainSerializer, PlainValidator

from app.blueprint import Blueprint
from app.errors import Problem
from app.event_page import EventPage
from app.operation_base import Operation as _Operation
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
from app.template_preview import TemplatePreview
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


def _blueprint_arg(value: Any) -> Blueprint | dict[str, Any]:
    if isinstance(value, Blueprint | dict):
        return value
    raise ValueError(f"a blueprint is an object, not {type(value).__name__}")


def _blueprint_wire(value: Blueprint | dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, Blueprint):
        return value.model_dump(mode="json", exclude_none=True)
    return value


#: A blueprint as an operation carries it: the model in-process, its dict on a wire.
BlueprintValue = Annotated[
    Blueprint | dict[str, Any],
    PlainValidator(_blueprint_arg),
    PlainSerializer(_blueprint_wire),
]


# -- requests --------------------------------------------------------------------------


class _RunParams(_Operation):
    blueprint_id: str | None = None
    blueprint: BlueprintValue | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)


class ExecuteRequest(_RunParams):
    """Run to a terminal state; the result (a failed run is a result, not an error)."""

    method: Literal["execute"] = "execute"
    #: Carry every node output inline, however large (else large ones come as
    #: handles: see :mod:`app.output_handles`).
    include_node_outputs: bool = False


class StartRequest(_RunParams):
    """Start a run; its execution id at once."""

    method: Literal["start"] = "start"


class WaitRequest(_Operation):
    method: Literal["wait"] = "wait"
    execution_id: str
    #: Carry every node output inline, however large (else large ones come as
    #: handles: see :mod:`app.output_handles`).
    include_node_outputs: bool = False


class CancelRequest(_Operation):
    method: Literal["cancel"] = "cancel"
    execution_id: str


class PauseRequest(_Operation):
    """Start no new node (running ones finish); the execution shows ``paused`` until
    resumed or cancelled."""

    method: Literal["pause"] = "pause"
    execution_id: str


class ResumeRequest(_Operation):
    method: Literal["resume"] = "resume"
    execution_id: str
    wait: bool = True
    #: Carry every node output inline, however large (else large ones come as
    #: handles: see :mod:`app.output_handles`).
    include_node_outputs: bool = False


class GetExecutionRequest(_Operation):
    method: Literal["get_execution"] = "get_execution"
    execution_id: str
    #: Carry every node output inline, however large (else large ones come as
    #: handles: see :mod:`app.output_handles`).
    include_node_outputs: bool = False


class ListExecutionsRequest(_Operation):
    method: Literal["list_executions"] = "list_executions"
    limit: int = 50
    status: str | None = None
    blueprint_id: str | None = None


class ListBlueprintsRequest(_Operation):
    method: Literal["list_blueprints"] = "list_blueprints"


class GetBlueprintRequest(_Operation):
    method: Literal["get_blueprint"] = "get_blueprint"
    blueprint_id: str


class SaveBlueprintRequest(_Operation):
    method: Literal["save_blueprint"] = "save_blueprint"
    blueprint: BlueprintValue


class DeleteBlueprintRequest(_Operation):
    method: Literal["delete_blueprint"] = "delete_blueprint"
    blueprint_id: str


class CopyBlueprintRequest(_Operation):
    """Save a library blueprint under ``new_id`` (a duplicate); with ``move`` the old
    id is removed (a rename: past executions keep the id they ran under)."""

    method: Literal["copy_blueprint"] = "copy_blueprint"
    blueprint_id: str
    new_id: str
    move: bool = False
    name: str | None = None


class ExecutionBlueprintRequest(_Operation):
    """The exact blueprint (with its ``ui``) an execution ran, as recorded with it."""

    method: Literal["execution_blueprint"] = "execution_blueprint"
    execution_id: str


class ValidateRequest(_Operation):
    method: Literal["validate"] = "validate"
    blueprint: BlueprintValue


class NodeTypesRequest(_Operation):
    method: Literal["node_types"] = "node_types"


class NodeOutputRequest(_Operation):
    """One page of a node's output; bounds are checked by the engine, so every
    transport reports a bad ``offset``/``limit`` as the same ConfigError."""

    method: Literal["node_output"] = "node_output"
    execution_id: str
    node_id: str
    offset: int = 0
    limit: int = 100


class EventPageRequest(_Operation):
    """A page of the recorded event log (time travel reads by page, never the live
    stream); bounds are checked by the engine, as for ``node_output``."""

    method: Literal["event_page"] = "event_page"
    execution_id: str
    after_seq: int = 0
    limit: int = 1000


class PreviewTemplateRequest(_Operation):
    """Render a template in the engine against a recorded run (the node editor's
    live preview): never in the GUI, bounded like any template."""

    method: Literal["preview_template"] = "preview_template"
    template: str
    execution_id: str | None = None
    node_id: str | None = None
    #: The node's upstream ids in the blueprint being edited (its ``input``).
    upstream: list[str] = Field(default_factory=list)


#: Every request as a plain union (the pipe adds its event subscription to it).
AnyRequest = (
    ExecuteRequest
    | StartRequest
    | WaitRequest
    | CancelRequest
    | PauseRequest
    | ResumeRequest
    | GetExecutionRequest
    | ListExecutionsRequest
    | ListBlueprintsRequest
    | GetBlueprintRequest
    | SaveBlueprintRequest
    | DeleteBlueprintRequest
    | CopyBlueprintRequest
    | ExecutionBlueprintRequest
    | ValidateRequest
    | NodeTypesRequest
    | NodeOutputRequest
    | EventPageRequest
    | PreviewTemplateRequest
    | ListTriggersRequest
    | SetTriggerStateRequest
    | FireTriggerRequest
    | HeldFiresRequest
    | SettleHeldFireRequest
    | ExecutionLinksRequest
    | ListIterationsRequest
    | ListSecretsRequest
    | SetSecretRequest
    | DeleteSecretRequest
)
Request = Annotated[AnyRequest, Field(discriminator="method")]


# -- replies ---------------------------------------------------------------------------


class ExecutionReply(_Operation):
    method: Literal["execute", "wait", "resume", "get_execution"]
    result: ExecutionResult


class StartReply(_Operation):
    method: Literal["start"] = "start"
    result: str


class CancelReply(_Operation):
    """True when the execution was asked to stop; False when it had already ended."""

    method: Literal["cancel"] = "cancel"
    result: bool


class PauseReply(_Operation):
    """True when the execution was paused; False when it was not running."""

    method: Literal["pause"] = "pause"
    result: bool


class ExecutionsReply(_Operation):
    method: Literal["list_executions"] = "list_executions"
    result: list[ExecutionSummary]


class BlueprintsReply(_Operation):
    method: Literal["list_blueprints"] = "list_blueprints"
    result: list[BlueprintSummary]


class BlueprintReply(_Operation):
    method: Literal["get_blueprint", "execution_blueprint"] = "get_blueprint"
    result: dict[str, Any]


class SavedBlueprintReply(_Operation):
    method: Literal["save_blueprint", "copy_blueprint"] = "save_blueprint"
    result: BlueprintSummary


class DeletedBlueprintReply(_Operation):
    method: Literal["delete_blueprint"] = "delete_blueprint"
    result: None = None


class ProblemsReply(_Operation):
    method: Literal["validate"] = "validate"
    result: list[Problem]


class NodeTypesReply(_Operation):
    method: Literal["node_types"] = "node_types"
    result: list[NodeTypeInfo]


class NodeOutputReply(_Operation):
    method: Literal["node_output"] = "node_output"
    result: OutputPage


class EventPageReply(_Operation):
    method: Literal["event_page"] = "event_page"
    result: EventPage


class TemplatePreviewReply(_Operation):
    method: Literal["preview_template"] = "preview_template"
    result: TemplatePreview


AnyReply = (
    ExecutionReply
    | StartReply
    | CancelReply
    | PauseReply
    | ExecutionsReply
    | BlueprintsReply
    | BlueprintReply
    | SavedBlueprintReply
    | DeletedBlueprintReply
    | ProblemsReply
    | NodeTypesReply
    | NodeOutputReply
    | EventPageReply
    | TemplatePreviewReply
    | TriggersReply
    | TriggerReply
    | FireReply
    | HeldFiresReply
    | ExecutionLinksReply
    | IterationPageReply
    | SecretNamesReply
    | SecretDeletedReply
)
Reply = Annotated[AnyReply, Field(discriminator="method")]


def _methods(union: Any) -> tuple[str, ...]:
    names: list[str] = []
    for model in get_args(union):
        for name in get_args(model.model_fields["method"].annotation):
            if name not in names:
                names.append(name)
    return tuple(names)


#: Every method name a request may carry (for explaining a bad frame).
METHODS: tuple[str, ...] = _methods(AnyRequest)
