"""The seed's own API in Python form: ``StateManager`` and ``SimpleExecutor``.

Both are thin: the state manager is the engine's recorder with the seed's
vocabulary and events, the executor runs on the engine. See
:mod:`main_process.seed.state_manager` and :mod:`main_process.seed.simple_executor`.
"""

from main_process.seed.simple_executor import SimpleExecutor, SimpleResult, create_simple_executor
from main_process.seed.state_manager import StateManager, create_state_manager
from main_process.seed.views import Checkpoint, ExecutionState, NodeState

__all__ = [
    "Checkpoint",
    "ExecutionState",
    "NodeState",
    "SimpleExecutor",
    "SimpleResult",
    "StateManager",
    "create_simple_executor",
    "create_state_manager",
]
