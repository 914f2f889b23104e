"""Blueprint ids are data, never paths: one rule for the URL, the body and the library.

``$`` in a Python regex also matches before a final newline, so ``x\\n`` once passed the
id check and ``PUT /v1/blueprints/x%0A`` wrote (and overwrote) ``x``'s neighbour file.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.errors import BlueprintNotFoundError
from main_process.library import check_id
from tests.main_process.http_harness import AUTH, assert_error, chain


@pytest.mark.parametrize(
    "bad", ["x\n", "x\r\n", "\nx", "x\x00", "../x", ".hidden", "a/b", "a\\b", "", "x" * 201]
)
def test_check_id_refuses_control_characters_and_paths(bad: str) -> None:
    with pytest.raises(BlueprintNotFoundError) as info:
        check_id(bad)
    assert info.value.where == "blueprint_id"


@pytest.mark.parametrize("good", ["x", "my-first", "a.b_c-1", "x" * 200])
def test_check_id_accepts_plain_ids(good: str) -> None:
    assert check_id(good) == good


async def test_put_with_a_newline_in_the_url_id_is_refused(
    client: httpx.AsyncClient, home: Path
) -> None:
    saved = await client.put("/v1/blueprints/x", json=chain(1, "x"), headers=AUTH)
    assert saved.status_code == 200
    before = sorted(p.name for p in (home / "blueprints").iterdir())
    for url_id in ("x%0A", "x%0D%0A", "x%00"):
        body = chain(2, "x")
        body.pop("id")
        response = await client.put(f"/v1/blueprints/{url_id}", json=body, headers=AUTH)
        assert assert_error(response, 400, "ConfigError")["where"] == "path"
    same_body = chain(2, "x\n")
    response = await client.put("/v1/blueprints/x%0A", json=same_body, headers=AUTH)
    assert_error(response, 400, "ConfigError")
    response = await client.put("/v1/blueprints/y", json=chain(2, "y\n"), headers=AUTH)
    assert_error(response, 422, "ConfigError")
    assert sorted(p.name for p in (home / "blueprints").iterdir()) == before
    kept = await client.get("/v1/blueprints/x", headers=AUTH)
    assert len(kept.json()["nodes"]) == 1
