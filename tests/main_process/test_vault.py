"""The vault's backends (the encrypted file, the OS keyring through ``keyring``), the
redactor, and ``secrets`` as templates see it."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend as KeyringBase
from keyring.backends import fail

from app.errors import SecretError, SecretNotFoundError, TemplateError
from app.redaction import REDACTOR, Redactor
from app.secret_rules import MASK
from app.templates import compile_template
from main_process.secrets import SecretsView, Vault
from main_process.secrets.file_backend import DATA_FILE, KEY_FILE
from main_process.secrets.keyring_backend import service_name, usable_keyring

REPO = Path(__file__).resolve().parents[2]


class MemoryKeyring(KeyringBase):
    """A keyring backend keeping passwords in a dict (``keyring``'s own interface)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


def test_file_backend_round_trip_with_a_0600_key(home: Path) -> None:
    vault = Vault(home, backend="file")
    assert vault.names() == [] and vault.get("TOKEN") is None
    vault.set("TOKEN", "s3cr3t-value-1")
    vault.set("B_2", "another-one")
    assert vault.backend_name == "file"
    assert vault.names() == ["B_2", "TOKEN"]
    assert Vault(home, backend="file").get("TOKEN") == "s3cr3t-value-1"  # another process
    vault.set("TOKEN", "replaced-value")
    assert vault.get("TOKEN") == "replaced-value"
    assert vault.delete("B_2") is True and vault.delete("B_2") is False
    assert vault.names() == ["TOKEN"]
    for name in (KEY_FILE, DATA_FILE):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name
    assert b"replaced-value" not in (home / DATA_FILE).read_bytes()  # encrypted


def test_a_failed_write_keeps_every_other_secret(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = Vault(home, backend="file")
    vault.set("KEEP", "kept-value")
    before = (home / DATA_FILE).read_bytes()

    def crash(src: Any, dst: Any) -> None:
        raise OSError("disk gone mid-write")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="mid-write"):
        vault.set("NEW", "new-value")
    monkeypatch.undo()
    assert (home / DATA_FILE).read_bytes() == before
    assert Vault(home, backend="file").names() == ["KEEP"]
    assert [p.name for p in home.iterdir() if p.name.endswith(".tmp")] == []


def test_two_processes_writing_at_once_lose_nothing(home: Path) -> None:
    script = (
        "import sys\n"
        "from main_process.secrets import Vault\n"
        "v = Vault(sys.argv[1], backend='file')\n"
        "for i in range(20): v.set(f'{sys.argv[2]}_{i}', f'value-{i:04d}')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(home), prefix], env=env)
        for prefix in ("A", "B")
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    assert len(Vault(home, backend="file").names()) == 40


def test_damaged_or_keyless_files_are_typed_errors(home: Path) -> None:
    Vault(home, backend="file").set("TOKEN", "value-123")
    (home / KEY_FILE).unlink()
    with pytest.raises(SecretError, match="key file"):
        Vault(home, backend="file").names()
    (home / DATA_FILE).write_bytes(b"not a token")
    Vault(home / "other", backend="file").set("X_1", "value-xyz")  # makes another key
    os.replace(home / "other" / KEY_FILE, home / KEY_FILE)
    with pytest.raises(SecretError, match="cannot be decrypted"):
        Vault(home, backend="file").get("TOKEN")


def test_keyring_backend_when_one_is_usable(tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    try:
        a, b = Vault(tmp_path / "a", backend="keyring"), Vault(tmp_path / "b", backend="auto")
        assert (a.backend_name, b.backend_name) == ("keyring", "keyring")
        a.set("TOKEN", "value-in-keyring")
        assert a.get("TOKEN") == "value-in-keyring" and a.names() == ["TOKEN"]
        assert b.names() == [] and b.get("TOKEN") is None  # another data dir
        assert (service_name(tmp_path / "a"), "TOKEN") in memory.store
        assert a.delete("TOKEN") is True and a.delete("TOKEN") is False
        assert a.names() == []
        assert not (tmp_path / "a").exists()  # nothing written to the data dir
        keyring.set_keyring(fail.Keyring())
        assert usable_keyring() is None
        assert (
            Vault(tmp_path / "c", backend="auto").backend_name == "file"
        )  # the fallback, no prompt
        with pytest.raises(Exception, match="no usable OS keyring"):
            _ = Vault(tmp_path / "d", backend="keyring").backend
    finally:
        keyring.set_keyring(previous)


def test_redactor_masks_nested_values_and_keeps_untouched_objects() -> None:
    redactor = Redactor()
    untouched = {"a": [1, "plain"], "b": None}
    assert redactor.value(untouched) is untouched  # inactive: no walk at all
    redactor.add("abc")  # shorter than the minimum: ignored
    assert not redactor.active
    redactor.add("tok-1234")
    redactor.add("tok-1234-long")
    assert redactor.value(untouched) is untouched
    data = {"k": ["x tok-1234-long y", {"tok-1234": 2}], "n": 5}
    assert redactor.value(data) == {"k": [f"x {MASK} y", {MASK: 2}], "n": 5}
    assert redactor.text("TOK-1234 is not the value") == "TOK-1234 is not the value"


def test_log_records_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    REDACTOR.add("logged-secret-9")
    with caplog.at_level(logging.WARNING):
        logging.getLogger("main_process.test").warning("value %s here", "logged-secret-9")
        try:
            raise ValueError("boom logged-secret-9")
        except ValueError:
            logging.getLogger("main_process.test").exception("failed")
    assert "logged-secret-9" not in caplog.text
    assert f"value {MASK} here" in caplog.text and f"boom {MASK}" in caplog.text


def test_templates_read_one_secret_by_name_and_nothing_else(home: Path) -> None:
    vault = Vault(home, backend="file")
    vault.set("TOKEN", "template-value")
    REDACTOR.forget_all()
    context = {"secrets": SecretsView(vault)}
    assert compile_template("{{ secrets.TOKEN }}", "t").render(context) == "template-value"
    assert REDACTOR.active  # a value read for a template is masked from then on
    assert compile_template("{{ secrets['TOKEN'] }}", "t").render(context) == "template-value"
    with pytest.raises(TemplateError) as missing:
        compile_template("{{ secrets.NOPE }}", "t").render(context)
    assert SecretNotFoundError.type_name in missing.value.message
    assert "'NOPE'" in missing.value.message
    for sneaky in ("{{ secrets.items() | list }}", "{{ secrets._vault }}", "{{ secrets | list }}"):
        with pytest.raises(TemplateError):
            compile_template(sneaky, "t").render(context)
