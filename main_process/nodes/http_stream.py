"""``http.request`` with ``stream: true``: a JSON Lines (NDJSON) response as a stream.

Each non-blank line of the body is one item, parsed as it arrives, so a response of
millions of lines never sits in memory (the body size limit does not apply: nothing
is held). The request is the same as without ``stream``; the connection stays open
while the items flow and is closed when the stream ends, fails or is cancelled. A
4xx/5xx status (with ``raise_for_status``) and a line that is not JSON fail the node,
the latter naming its line number.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from app.errors import NodeFailedError


async def json_lines(params: Any, ssl_context: Any) -> AsyncIterator[Any]:
    """The response's lines as items (``params`` is the node's HttpParams)."""
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
            finally:
                await response.aclose()
    except httpx.TimeoutException as exc:
        raise NodeFailedError(
            f"{request} timed out after {params.timeout:g} s", where="params.url"
        ) from exc
    except httpx.HTTPError as exc:
        raise NodeFailedError(
            f"{request} failed: {type(exc).__name__}: {exc}", where="params.url"
        ) from exc
