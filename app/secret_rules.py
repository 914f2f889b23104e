"""What a secret's name and value may be, and the mask shown in a value's place.

Shared by the engine (which stores and redacts secrets), the CLI and the GUI (which
check a name before sending it), so every transport refuses the same input with the
same :class:`~app.errors.SecretError`.

* Names are identifiers (``{{ secrets.NAME }}`` must be able to read them as an
  attribute), at most 64 characters.
* Values are at least :data:`MIN_VALUE_LENGTH` characters: redaction is by value, and
  replacing every ``a`` or ``42`` in every record would redact everything and
  nothing. A value is never echoed in an error.
"""

from __future__ import annotations

import re
from typing import Final

from app.errors import SecretError

__all__ = ["MASK", "MAX_VALUE_LENGTH", "MIN_VALUE_LENGTH", "check_name", "check_value"]

#: What stands in a secret's value's place wherever it would be recorded or shown.
MASK: Final = "••••"
#: The shortest value a secret may have (see the module docstring).
MIN_VALUE_LENGTH: Final = 4
#: The longest value: a credential, not a document.
MAX_VALUE_LENGTH: Final = 64 * 1024

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def check_name(name: str) -> str:
    """``name`` itself, or SecretError when it is not a secret's name."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        shown = name[:80] if isinstance(name, str) else type(name).__name__
        raise SecretError(
            f"{shown!r} is not a secret name: a letter or '_', then letters, digits or '_', "
            "at most 64 characters",
            where="name",
        )
    return name


def check_value(value: str) -> str:
    """``value`` itself, or SecretError (which never quotes it) when it is refused."""
    if not isinstance(value, str):
        raise SecretError("a secret's value is a string", where="value")
    if len(value) < MIN_VALUE_LENGTH:
        raise SecretError(
            f"a secret's value is at least {MIN_VALUE_LENGTH} characters (redaction is by "
            "value: a shorter one would mask unrelated text)",
            where="value",
        )
    if len(value) > MAX_VALUE_LENGTH:
        raise SecretError(
            f"a secret's value is at most {MAX_VALUE_LENGTH:,} characters", where="value"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SecretError(
            "a secret's value is text (it holds a lone surrogate)", where="value"
        ) from None
    if MASK in value:
        raise SecretError(f"a secret's value may not contain the mask {MASK!r}", where="value")
    return value
