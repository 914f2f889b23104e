"""The context a node's code receives, and the way back to its execution's environment.

:class:`NodeRunContext` is the engine's :class:`~main_process.nodes.base.NodeContext`:
the execution's id and inputs, the node's attempt and timeout, its upstream outputs,
logging and variables. Kept apart from :mod:`main_process.engine.node_running` (which
re-exports both names) so each module holds one concept.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import NodeFailedError
from app.json_values import loggable
from main_process.runners.straight_line import trust

if TYPE_CHECKING:
    from main_process.engine.node_running import NodeEnv


class NodeRunContext:
    """The :class:`~main_process.nodes.base.NodeContext` a node's code receives."""

    __slots__ = ("_env", "attempt", "node_id", "timeout", "upstream")

    def __init__(
        self,
        env: NodeEnv,
        node_id: str,
        attempt: int,
        upstream: dict[str, Any],
        timeout: float | None = None,
    ) -> None:
        self._env = env
        self.node_id = node_id
        self.attempt = attempt
        self.upstream = upstream
        #: The node's timeout per attempt (evaluations inside the node stop there too).
        self.timeout = timeout

    @property
    def execution_id(self) -> str:
        return self._env.state.execution_id

    @property
    def inputs(self) -> dict[str, Any]:
        return self._env.state.inputs

    @property
    def env(self) -> NodeEnv:
        """The execution's environment (for nodes that start child runs)."""
        return self._env

    @property
    def base_dir(self) -> Path:
        return self._env.base_dir

    @property
    def file_roots(self) -> tuple[Path, ...]:
        return self._env.file_roots

    def log(self, message: str, level: str = "info", **data: Any) -> None:
        env = self._env
        data = loggable(data)
        env.states.log_message(env.state.execution_id, self.node_id, message, level, **data)

    def get_variable(self, key: str, default: Any = None) -> Any:
        return self._env.state.variables.get(key, default)

    def set_variable(self, key: str, value: Any) -> None:
        self._env.states.set_variable(self._env.state.execution_id, key, value)


# Its quick properties may run under a plain function called on the loop (sync_calls).
trust(NodeRunContext, ("execution_id", "inputs", "env", "base_dir", "file_roots"))


def node_env(ctx: object) -> NodeEnv:
    """The environment behind a node's context (nodes that start child runs need it)."""
    if not isinstance(ctx, NodeRunContext):
        raise NodeFailedError("this node needs the engine's own node context")
    return ctx.env
