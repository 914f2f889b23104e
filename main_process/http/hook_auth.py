"""How a webhook request proves it may start its blueprint.

A webhook trigger says how (``auth``):

* ``token``: the server's bearer token, exactly as every other route
  (:mod:`main_process.http.auth`), compared in constant time.
* ``hmac``: the sender signs the raw body with a shared key; the header named by
  ``signature_header`` holds ``sha256=<hex>`` of HMAC-SHA256(key, body) (GitHub's
  form). Compared with :func:`hmac.compare_digest`.
* ``path_token``: a secret as the route's last segment
  (``/v1/hooks/{blueprint_id}/{path}/{token}``), for senders that can set neither a
  header nor a signature.

For ``hmac`` and ``path_token`` the trigger's ``secret`` is the NAME of a secret
(``conductor secrets``), never the value: :func:`webhook_key` reads it from the data
dir's vault, else from ``$CONDUCTOR_SECRET_<NAME>`` (the fallback for a server
without a vault, and for tests). Missing credentials are 401, wrong ones 403 (a
wrong bearer token is 401, as on every route); a key that is not set anywhere is the
server's misconfiguration (503), never "anyone may".
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

from app.automation_spec import WebhookAuth, WebhookTrigger

log = logging.getLogger(__name__)

#: The environment variable that holds secret NAME when the vault does not.
SECRET_ENV_PREFIX = "CONDUCTOR_SECRET_"
_ENV_NAME = re.compile(r"[^A-Za-z0-9]")
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")


class HookRefused(Exception):
    """A request the trigger's auth refuses: ``status`` 401 (no credentials), 403
    (wrong ones) or 503 (the trigger's key is not set on this server)."""

    def __init__(self, status: int, message: str, where: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.where = where


def webhook_key(data_dir: Path, name: str) -> str | None:
    """The value of secret ``name``: the data dir's vault (``main_process.secrets``, when
    installed), else ``$CONDUCTOR_SECRET_<NAME>`` (non-alphanumerics as ``_``,
    upper-cased); None when neither has it."""
    try:
        value = importlib.import_module("main_process.secrets").Vault(data_dir).get(name)
    except ImportError:
        value = None
    except Exception as exc:  # a vault that cannot be read: the env fallback, and say why
        log.warning("cannot read secret %r from the vault: %s", name, exc)
        value = None
    if value:
        return str(value)
    value = os.environ.get(SECRET_ENV_PREFIX + _ENV_NAME.sub("_", name).upper())
    return value or None


def sign(key: str, body: bytes) -> str:
    """The signature header's value for ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def check_hook_auth(
    trigger: WebhookTrigger,
    *,
    data_dir: Path,
    server_token: str,
    authorization: Sequence[str],
    signature: Sequence[str],
    body: bytes,
    path_token: str | None,
) -> None:
    """Return when the request may fire ``trigger``; raise :class:`HookRefused` if not."""
    match trigger.auth:
        case WebhookAuth.TOKEN:
            if path_token is not None:
                raise HookRefused(404, "this webhook takes no path token", "path")
            _check_bearer(authorization, server_token)
        case WebhookAuth.HMAC:
            if path_token is not None:
                raise HookRefused(404, "this webhook takes no path token", "path")
            header = trigger.signature_header
            if len(signature) != 1:
                raise HookRefused(401, f"the {header} header is missing (or given twice)", header)
            key = _key(trigger, data_dir)
            found = _SIGNATURE.fullmatch(signature[0].strip())
            expected = sign(key, body)[len("sha256=") :]
            given = found.group(1).lower() if found else ""
            if not hmac.compare_digest(given.encode(), expected.encode()):
                raise HookRefused(
                    403, f"the {header} signature does not match the body (sha256=<hex>)", header
                )
        case WebhookAuth.PATH_TOKEN:
            if path_token is None:
                raise HookRefused(401, "this webhook needs its token as the last path part", "path")
            key = _key(trigger, data_dir)
            if not hmac.compare_digest(path_token.encode(), key.encode()):
                raise HookRefused(403, "the path token is wrong", "path")


def bearer_ok(authorization: Sequence[str], token: str) -> bool:
    """One ``Authorization: Bearer <token>`` header with the server's token (the scheme
    in any case), compared in constant time, as :class:`RequestGuard` does."""
    if len(authorization) != 1:
        return False
    scheme, _, credentials = authorization[0].encode().partition(b" ")
    return scheme.lower() == b"bearer" and hmac.compare_digest(credentials.strip(), token.encode())


def _check_bearer(authorization: Sequence[str], token: str) -> None:
    if not bearer_ok(authorization, token):
        raise HookRefused(401, "missing or invalid bearer token", "Authorization")


def _key(trigger: WebhookTrigger, data_dir: Path) -> str:
    name = trigger.secret
    key = webhook_key(data_dir, name) if name else None
    if not key:
        raise HookRefused(
            503,
            f"the webhook's secret {name!r} is not set on this server "
            f"(conductor secrets set {name}, or ${SECRET_ENV_PREFIX}<NAME>)",
            "secret",
        )
    return key
