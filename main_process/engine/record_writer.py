"""What the state manager writes to the store for each transition.

The state manager changes state in memory and emits events; when it has a store,
this object turns each change into the store's queued writes (rows, spills,
variables, checkpoints) and reads back what only the store still holds. An
in-memory state manager simply has none. All writes are queued to the store's
writer thread: nothing here waits for a disk. What the state manager did not
redact already (inputs, config, variables, checkpoints) is masked here
(:mod:`app.redaction`).
"""

from __future__ import annotations

from typing import Any

from app.redaction import REDACTOR
from main_process.engine.execution_state import Checkpoint, ExecutionState, NodeState
from main_process.store import Store, history
from main_process.store.chunks import NodeRow
from main_process.store.serialization import STREAM_ITEMS, dump_list_to_file, dump_output, dumps

#: "No output given": an output may itself be None.
MISSING: Any = object()

#: A node output as recorded: its JSON (None when spilled), its spill file, its size.
Encoded = tuple[bytes | None, str | None, int]


def encoded_output(
    writer: RecordWriter | None, state: ExecutionState, node_id: str, terminal: bool, output: Any
) -> Encoded | None:
    """A terminal node output's record (None when none, or in memory where it is only
    checked): :class:`~app.json_values.NotJson` for one that is not JSON, on either
    engine, raised before the state manager changes anything."""
    if output is MISSING or not terminal:
        return None
    if writer is None:
        dump_output(output)
        return None
    return writer.encode_output(state, node_id, output)


class RecordWriter:
    """Queues one store's writes for the executions a state manager runs."""

    def __init__(
        self,
        store: Store,
        *,
        owner_id: str,
        owner_pid: int,
        owner_host: str,
        owner_lock: str | None,
    ) -> None:
        self.store = store
        self.owner_id = owner_id
        self.owner_pid = owner_pid
        self.owner_host = owner_host
        #: The lock file this owner holds while it lives (None: none could be made).
        self.owner_lock = owner_lock

    def new_execution(
        self, state: ExecutionState, blueprint_json: bytes | None, source: str | None
    ) -> None:
        blueprint = state.blueprint
        ui = blueprint.ui.model_dump()  # positions, and any other editor data (notes, pins)
        self.store.enqueue_execution(
            state.execution_id,
            {
                "blueprint_id": blueprint.id,
                "blueprint_name": blueprint.name,
                "blueprint_hash": state.blueprint_hash,
                "blueprint_json": (
                    blueprint_json if blueprint_json is not None else blueprint.engine_json()
                ),
                "ui_json": dumps(ui) if any(ui.values()) else None,
                "source": source,
                "inputs_json": dumps(REDACTOR.value(state.inputs)),
                "config_json": dumps(REDACTOR.value(state.config)),
                "status": state.status.value,
                "created_at": state.created_at,
                "owner_id": self.owner_id,
                "owner_pid": self.owner_pid,
                "owner_host": self.owner_host,
                "owner_lock": self.owner_lock,
            },
            insert=True,
        )

    def adopted(self, state: ExecutionState) -> None:
        """An execution loaded from the store runs here again: take ownership."""
        self.store.enqueue_execution(
            state.execution_id,
            {
                "owner_id": self.owner_id,
                "owner_pid": self.owner_pid,
                "owner_host": self.owner_host,
                "owner_lock": self.owner_lock,
                "status": state.status.value,
                "error_json": None,
                "outputs_json": None,
                "finished_at": None,
            },
        )

    def status(self, state: ExecutionState, terminal: bool) -> None:
        fields: dict[str, Any] = {"status": state.status.value, "started_at": state.started_at}
        if terminal:
            fields["finished_at"] = state.finished_at
            fields["error_json"] = None if state.error is None else dumps(state.error.model_dump())
            fields["outputs_json"] = None if state.outputs is None else dumps(state.outputs)
            if state.error_handler_execution is not None:  # in the failure's own write
                fields["error_handler_execution"] = state.error_handler_execution
        self.store.enqueue_execution(state.execution_id, fields)

    def encode_output(self, state: ExecutionState, node_id: str, output: Any) -> Encoded:
        """A node output's record: (JSON, spill file, size). Raises
        :class:`~app.json_values.NotJson` for an output that is not JSON, before
        anything about the node is changed or written (it then fails instead).

        Serialised now — a snapshot, since a downstream node may mutate the object
        it is handed; large outputs are spilled to a file.
        """
        if type(output) is list and len(output) > STREAM_ITEMS:
            path = self.store.spill_path(state.execution_id, node_id)
            return None, str(path), dump_list_to_file(output, path, strict=True)
        output_json = dump_output(output)
        if len(output_json) > self.store.spill_bytes:
            path = self.store.spill_path(state.execution_id, node_id)
            self.store.enqueue_spill(path, output_json)
            return None, str(path), len(output_json)
        return output_json, None, len(output_json)

    def node_outcome(self, state: ExecutionState, node: NodeState, encoded: Encoded | None) -> bool:
        """Write a node's outcome row; True when it had an output (``encoded``, from
        :meth:`encode_output`; its size is set).

        Only terminal states get a row: the event log already holds every
        transition, and the row is what resume reads.
        """
        output_json: bytes | None = None
        output_path: str | None = None
        if encoded is not None:
            output_json, output_path, node.output_size = encoded
        # The terminal event that follows this record gets the next seq.
        self.store.enqueue_node(
            state.execution_id,
            state.seq + 1,
            NodeRow(
                node.node_id,
                node.status,
                node.attempts,
                node.started_at,
                node.finished_at,
                node.port,
                output_json,
                output_path,
                node.output_size,
                node.input_json,
                None if node.error is None else dumps(node.error.model_dump()),
            ),
        )
        return encoded is not None

    def variable(self, execution_id: str, key: str, value: Any) -> None:
        self.store.enqueue_variable(execution_id, key, dumps(REDACTOR.value(value)))

    def stored_variable(self, execution_id: str, key: str, default: Any) -> Any:
        return history.variable(self.store, execution_id, key, default)

    def checkpoint(self, execution_id: str, checkpoint: Checkpoint) -> None:
        self.store.enqueue_checkpoint(
            execution_id,
            checkpoint.checkpoint_id,
            checkpoint.name,
            checkpoint.created_at,
            dumps(REDACTOR.value(checkpoint.snapshot)),
        )

    def stored_checkpoint(self, execution_id: str, checkpoint_id: str) -> dict[str, Any] | None:
        """A checkpoint's snapshot as committed (what is queued is committed first)."""
        self.store.flush_sync()
        return history.checkpoint(self.store, execution_id, checkpoint_id)
