"""Roots that would hand code execution back to a server without code nodes are
refused before it listens (found in review): the data dir under a root lets a
blueprint rewrite the store or read the token, the home folder lets it write
``~/.bashrc``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.errors import ConfigError
from main_process.file_roots import check_roots_without_code

ROOT = Path(__file__).resolve().parents[2]


def test_a_root_holding_the_data_dir_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="contains the data directory") as caught:
        check_roots_without_code([tmp_path.resolve()], tmp_path / "data", chosen=True)
    assert caught.value.where == "file_roots"


def test_the_home_folder_is_refused_only_when_nobody_chose_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    top = tmp_path / "top"
    (top / "user").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(top / "user"))
    data = tmp_path / "data"
    with pytest.raises(ConfigError, match="holds your home folder"):
        check_roots_without_code([top.resolve()], data, chosen=False)
    check_roots_without_code([top.resolve()], data, chosen=True)
    check_roots_without_code([(top / "user" / "work").resolve()], data, chosen=False)


def test_serve_without_code_nodes_refuses_to_start_from_the_home_folder(tmp_path: Path) -> None:
    user = tmp_path / "user"
    user.mkdir()
    env = {
        **os.environ,
        "HOME": str(user),
        "CONDUCTOR_HOME": str(tmp_path / "data"),
        "CONDUCTOR_TOKEN": "t0k3n",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--port", "0", "--no-code-nodes"],
        cwd=user,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "holds your home folder" in done.stderr
    assert "--file-root" in done.stderr
