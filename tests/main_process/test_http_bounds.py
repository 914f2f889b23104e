"""Out-of-range numbers in requests are a typed 422, never a 500.

``events?after=`` of 2**63 or more once reached SQLite, which cannot hold it (500).
"""

from __future__ import annotations

import httpx

from tests.main_process.http_harness import AUTH, SSE, assert_error, chain


async def test_event_numbers_past_what_sqlite_holds_are_422(client: httpx.AsyncClient) -> None:
    started = await client.post(
        "/v1/executions", json={"blueprint": chain(1), "wait": True}, headers=AUTH
    )
    eid = started.json()["execution_id"]
    for after in (2**62 + 1, 2**63, 2**64, 10**30):
        response = await client.get(f"/v1/executions/{eid}/events?after={after}", headers=AUTH)
        assert assert_error(response, 422, "ConfigError")["where"] == "query.after"
    header = {**SSE, "Last-Event-ID": str(2**63)}  # what SQLite cannot hold
    response = await client.get(f"/v1/executions/{eid}/events", headers=header)
    assert assert_error(response, 422, "ConfigError")["where"] == "Last-Event-ID"
    fine = await client.get(f"/v1/executions/{eid}/events?after={2**62}", headers=AUTH)
    assert fine.status_code == 200 and fine.json() == []
