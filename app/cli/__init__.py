"""The ``conductor`` command line (also ``python -m app``).

Kept apart from the engine on purpose: the CLI reaches it only through
:func:`app.api.create_conductor`, so ``CONDUCTOR_API_URL`` can point the same
commands at a ``conductor serve`` elsewhere, and so start-up pays for the engine
only when a command needs one. :mod:`app.cli.main` holds the commands.
"""

from __future__ import annotations
