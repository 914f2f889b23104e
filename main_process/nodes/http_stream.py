"""``http.request`` with ``stream: true``: a JSON Lines (NDJSON) response as a stream.

Each non-blank line of the body is one item, parsed as it arrives, so a response of
millions of lines never sits in memory (the body size limit does not apply: nothing
is held). The request is the same as without ``stream``; the connection stays open
while the items flow and is closed when the stream ends, fails or is cancelled. A
4xx/5xx status (with ``raise_for_status``) and a line that is not JSON fail the node,
the latter naming its line number.

:func:`sent` is the one way both ``http.request`` modes send their request and name
its transport failures.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from app.errors import NodeFailedError

if TYPE_CHECKING:
    import httpx


@asynccontextmanager
async def sent(params: Any, ssl_context: Any) -> AsyncIterator[httpx.Response]:
    """The node's request sent, its response open for reading (closed after the block);
    a transport failure inside the block — sending or reading the body — fails the
    node with a message naming the method, the URL and what happened."""
    import httpx

    request = f"{params.method} {params.url}"
    try:
        async with httpx.AsyncClient(
            verify=ssl_context, timeout=params.timeout, follow_redirects=True
        ) as client:
            built = client.build_request(
                params.method,
                params.url,
                headers=params.headers,
                params=params.params or None,
                json=params.json_body,
            )
            response = await client.send(built, stream=True)
            try:
                yield response
            finally:
                await response.aclose()
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise NodeFailedError(f"invalid URL {params.url!r}: {exc}", where="params.url") from exc
    except httpx.TimeoutException as exc:
        raise NodeFailedError(
            f"{request} timed out after {params.timeout:g} s", where="params.url"
        ) from exc
    except httpx.ConnectError as exc:
        raise NodeFailedError(
            f"could not connect to {params.url}: {exc or 'connection failed'}", where="params.url"
        ) from exc
    except httpx.HTTPError as exc:
        raise NodeFailedError(
            f"{request} failed: {type(exc).__name__}: {exc}", where="params.url"
        ) from exc


async def json_lines(params: Any, ssl_context: Any) -> AsyncIterator[Any]:
    """The response's lines as items (``params`` is the node's HttpParams)."""
    request = f"{params.method} {params.url}"
    async with sent(params, ssl_context) as response:
        if params.raise_for_status and response.is_error:
            raise NodeFailedError(
                f"{request} returned HTTP {response.status_code} {response.reason_phrase}",
                where="params.url",
            )
        number = 0
        async for line in response.aiter_lines():
            number += 1
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise NodeFailedError(
                    f"{request}: line {number} of the response is not JSON: {exc}",
                    where="params.url",
                ) from None
            yield item
