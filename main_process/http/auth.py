"""Who may talk to ``conductor serve``, and how much they may send.

The API runs blueprints, and blueprints run code (``python.function``,
``shell.command``), so reaching it is as good as a shell on the machine. Hence:

* A bearer token on every route but ``/v1/health``, ``/openapi.json`` and the
  webhooks under ``/v1/hooks/``, which check their trigger's own auth. It comes
  from the ``serve`` argument, else ``$CONDUCTOR_TOKEN``, else the data dir's
  ``token`` file, which the first serve creates with mode 0600 (so only this
  user's processes — the CLI, scripts — can read it). Tokens are compared as bytes
  with :func:`hmac.compare_digest`, which takes the same time whatever prefix
  matches. A request with two ``Authorization`` headers is refused, so no proxy or
  framework can read a different one than the guard did.
* Loopback by default: binding any other address needs a token the user chose
  explicitly (argument or environment), never a file they may not know exists.
* A body size limit checked before a route reads anything, on the declared
  ``Content-Length`` and again on the bytes actually received (chunked uploads).

The guard is a plain ASGI middleware (no per-request task or copy, unlike
Starlette's ``BaseHTTPMiddleware``): it costs a header lookup per request.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import AuthError, ConfigError, ErrorInfo, TransportError
from app.paths import token_path
from main_process.http.errors import error_bytes

log = logging.getLogger(__name__)

TOKEN_ENV = "CONDUCTOR_TOKEN"
#: Routes anyone may call: liveness checks and the schema that describes the rest.
PUBLIC_PATHS = frozenset({"/v1/health", "/openapi.json"})
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
#: Webhook routes check their own trigger's auth (the bearer token, a signature or a
#: path token: :mod:`main_process.http.hook_auth`); the body limit still applies.
HOOKS_PREFIX = "/v1/hooks/"


@dataclass(frozen=True)
class TokenSource:
    """The token the server checks and where it came from (never the token in logs)."""

    token: str
    origin: str  # "argument", "environment" or "file"
    path: Path | None = None

    @property
    def explicit(self) -> bool:
        """Chosen by the user for this run (argument or environment), not a stored file."""
        return self.origin != "file"

    def describe(self) -> str:
        if self.origin == "file":
            return f"token in {self.path}"
        if self.origin == "environment":
            return f"token from ${TOKEN_ENV}"
        return "token given to serve"


def read_or_create_token_file(path: Path) -> str:
    """The token stored at ``path``; a new random one (mode 0600) when there is none.

    Created with ``O_EXCL`` so two servers starting at once agree on one token, and
    written before anyone can read it with looser permissions. A file that others
    can read is tightened, because the token is only as secret as the file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _stored_token(path)
    except OSError as exc:  # a read-only data dir, a full disk: say what to do instead
        raise ConfigError(
            f"cannot create the token file {path} ({exc.strerror}); give the server a "
            f"token with --token or ${TOKEN_ENV}",
            where="token",
        ) from None
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    return token


def _stored_token(path: Path) -> str:
    """The token in an existing file (tightened to 0600 when others could read it)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("token file %s was readable by others (mode %o); set to 0600", path, mode)
        with contextlib.suppress(OSError):  # a read-only data dir: the warning stands
            path.chmod(0o600)
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise ConfigError(
            f"the token file {path} is empty; delete it to make a new one", where="token"
        ) from None
    return token


def resolve_token(token: str | None = None, home: Path | None = None) -> TokenSource:
    """The server's token: the argument, else ``$CONDUCTOR_TOKEN``, else the token file."""
    if token:
        return TokenSource(token, "argument")
    env = os.environ.get(TOKEN_ENV)
    if env:
        return TokenSource(env, "environment")
    path = token_path(home)
    return TokenSource(read_or_create_token_file(path), "file", path)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (``localhost``, 127/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, source: TokenSource) -> None:
    """Refuse to expose the API beyond this machine on a token the user did not choose."""
    if not is_loopback(host) and not source.explicit:
        raise ConfigError(
            f"refusing to listen on {host!r}: it is reachable from other machines; "
            f"set ${TOKEN_ENV} (or pass a token) to choose the token they must send",
            where="host",
        )


class _BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` when a body outgrows the limit mid-stream.

    An ``HTTPException`` because FastAPI turns any other exception met while reading
    a body into a generic 400; this one reaches the typed 413 handler instead.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class RequestGuard:
    """ASGI middleware: check the bearer token and cap the request body size."""

    def __init__(self, app: ASGIApp, *, token: str, max_body_bytes: int) -> None:
        self.app = app
        self._token = token.encode()
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        path: str = scope["path"]
        if (
            path not in PUBLIC_PATHS
            and not path.startswith(HOOKS_PREFIX)
            and not self._authorized(headers)
        ):
            await _reply(
                send,
                401,
                "missing or invalid bearer token",
                "Authorization",
                kind=AuthError.type_name,
                extra=[(b"www-authenticate", b'Bearer realm="conductor"')],
            )
            return
        if _CONTROL.search(scope["path"]):
            # Starlette's route patterns end in ``$``, which also matches before a final
            # newline: ``/v1/blueprints/x%0A`` would reach the route as id ``x``.
            await _reply(
                send,
                400,
                "the URL path holds a control character; ids are letters, digits, '_', '-', '.'",
                "path",
                kind="ConfigError",
            )
            return
        declared = _header(headers, b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _reply(
                    send,
                    400,
                    "Content-Length is not a number",
                    "Content-Length",
                    kind="ConfigError",
                )
                return
            if size > self.max_body_bytes:
                await self._too_large(send)
                return
        limited = self._limited(receive)
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._too_large(send)

    def _authorized(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """``Bearer <token>`` (the scheme in any case, RFC 7235), compared in constant time."""
        found = [value for key, value in headers if key == b"authorization"]
        if len(found) != 1:
            return False
        scheme, _, credentials = found[0].partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(credentials.strip(), self._token)

    def _limited(self, receive: Receive) -> Receive:
        received = 0
        limit = self.max_body_bytes

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        return limited_receive

    async def _too_large(self, send: Send) -> None:
        await _reply(
            send,
            413,
            f"the request body is larger than {self.max_body_bytes} bytes",
            "body",
            kind="ConfigError",
            extra=[(b"connection", b"close")],
        )


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


async def _reply(
    send: Send,
    status: int,
    message: str,
    where: str,
    *,
    kind: str = TransportError.type_name,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = error_bytes(ErrorInfo(type=kind, message=message, where=where))
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
