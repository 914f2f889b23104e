"""Triggers through a real ``conductor serve``: an ``every`` schedule firing
executions seen over HTTP, the trigger routes (token required on each), held fires,
two servers on one data dir firing each scheduled time once, and the CLI."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.main_process.triggers.helpers import write_blueprint
from tests.main_process.triggers.serve_process import AUTH, ROOT, serving, wait

TID = "pulse:beat"


def _get(client: httpx.Client, path: str, **params: Any) -> Any:
    response = client.get(path, headers=AUTH, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _post(client: httpx.Client, path: str) -> Any:
    response = client.post(path, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def test_serve_fires_an_every_schedule_and_answers_the_trigger_routes(
    home: Path, tmp_path: Path
) -> None:
    write_blueprint(home, "pulse", [{"kind": "schedule", "name": "beat", "every": 1}])
    with (
        serving(home, tmp_path / "serve.log") as served,
        httpx.Client(base_url=served.url, timeout=30) as client,
    ):

        def runs() -> list[dict[str, Any]]:
            return _get(client, "/v1/executions", blueprint_id="pulse", limit=100)

        wait(lambda: len([r for r in runs() if r["status"] == "completed"]) >= 2, what="two runs")
        one = _get(client, f"/v1/executions/{runs()[0]['execution_id']}")
        assert one["config"]["triggered_by"] == TID
        assert one["outputs"]["name"] == "beat"
        [listed] = _get(client, "/v1/triggers")
        assert listed["id"] == TID and listed["state"] == "enabled"
        assert listed["last_outcome"] == "started" and listed["next_fire_at"] is not None

        # Every trigger route needs the token.
        for verb, path in [
            ("GET", "/v1/triggers"),
            ("POST", f"/v1/triggers/{TID}/disable"),
            ("POST", f"/v1/triggers/{TID}/fire"),
            ("GET", "/v1/held-fires"),
            ("POST", "/v1/held-fires/1/release"),
        ]:
            assert client.request(verb, path).status_code == 401, path

        assert _post(client, f"/v1/triggers/{TID}/disable")["state"] == "disabled"
        settled = _settled(runs)
        fired = _post(client, f"/v1/triggers/{TID}/fire")
        assert fired["outcome"] == "started" and fired["execution_id"]
        wait(lambda: len(runs()) == settled + 1, what="the fired run")

        assert _post(client, f"/v1/triggers/{TID}/suspend")["state"] == "suspended"
        wait(lambda: len(_get(client, "/v1/held-fires", trigger_id=TID)) >= 1, what="a held fire")
        _post(client, f"/v1/triggers/{TID}/disable")
        assert len(runs()) == settled + 1  # held, not run
        held = _get(client, "/v1/held-fires")[0]
        released = _post(client, f"/v1/held-fires/{held['id']}/release")
        assert released["outcome"] == "started"
        assert client.post("/v1/triggers/pulse:nope/enable", headers=AUTH).status_code == 404
        assert client.post(f"/v1/held-fires/{held['id']}/release", headers=AUTH).status_code == 404


def _settled(runs: Any) -> int:
    """The number of runs once it stops changing (a fire in flight when the trigger
    was disabled may still start its run)."""
    seen = [len(runs())]

    def still() -> bool:
        time.sleep(1.2)  # longer than the schedule's period
        seen.append(len(runs()))
        return seen[-1] == seen[-2]

    wait(still, what="runs to settle")
    return seen[-1]


def _fires(home: Path) -> list[tuple[float, str, int]]:
    """(scheduled time, outcome, owner pid of its execution) of every fire, read-only."""
    conn = sqlite3.connect(f"file:{home / 'conductor.db'}?mode=ro", uri=True)
    try:
        return conn.execute(
            "SELECT f.scheduled_at, f.outcome, e.owner_pid FROM trigger_fires f"
            " LEFT JOIN executions e ON e.id = f.execution_id WHERE f.trigger_id = ?"
            " ORDER BY f.id",
            (TID,),
        ).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def test_two_servers_on_one_data_dir_fire_each_scheduled_time_once(
    home: Path, tmp_path: Path
) -> None:
    write_blueprint(home, "pulse", [{"kind": "schedule", "name": "beat", "every": 0.5}])
    with serving(home, tmp_path / "a.log") as a, serving(home, tmp_path / "b.log") as b:
        wait(lambda: len(_fires(home)) >= 4, what="fires")
        holder = [f for f in _fires(home) if f[1] == "started"][-1][2]
        victim = a if a.proc.pid == holder else b
        assert victim.proc.pid == holder
        os.kill(victim.proc.pid, signal.SIGKILL)  # the OS releases its lock
        victim.proc.wait()
        count = len(_fires(home))
        wait(lambda: len(_fires(home)) >= count + 4, what="fires after the takeover")
        fires = _fires(home)
    started = [f for f in fires if f[1] == "started"]
    times = [f[0] for f in started]
    assert len(times) == len(set(times)), "a scheduled time fired twice"
    assert {f[2] for f in started[-3:]} == {(a if victim is b else b).proc.pid}


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONDUCTOR_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("CONDUCTOR_API_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_triggers_cli(home: Path) -> None:
    import json

    write_blueprint(home, "pulse", [{"kind": "schedule", "name": "beat", "cron": "0 3 * * *"}])
    listed = _cli(home, "triggers", "list")
    assert listed.returncode == 0, listed.stderr
    assert TID in listed.stdout and "enabled" in listed.stdout and "cron 0 3 * * *" in listed.stdout
    done = _cli(home, "triggers", "disable", TID)
    assert done.returncode == 0 and "disabled" in done.stdout
    rows = json.loads(_cli(home, "triggers", "list", "--json").stdout)
    assert rows[0]["state"] == "disabled"
    fired = _cli(home, "triggers", "fire", TID, "--json")
    assert fired.returncode == 0, fired.stderr
    body = json.loads(fired.stdout)
    assert body["outcome"] == "started"
    shown = json.loads(_cli(home, "show", body["execution_id"], "--json").stdout)
    assert shown["status"] == "completed"
    assert shown["config"]["triggered_by"] == TID
    unknown = _cli(home, "triggers", "enable", "pulse:nope")
    assert unknown.returncode == 2 and "no trigger 'pulse:nope'" in unknown.stderr
    assert _cli(home, "triggers", "suspend", TID).returncode == 0
    assert _cli(home, "triggers", "held").returncode == 0
