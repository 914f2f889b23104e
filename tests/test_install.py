"""``.ci/install`` names every system package Qt's X11 platform plugin needs.

A base Debian image lacks some of them (``libxcb-icccm4``, ``libxcb-keysyms1``), and
then ``conductor`` aborts at start on a machine with a display, with a message that
names another library. The check reads the ``DT_NEEDED`` entries of the plugin's ELF
files (their direct dependencies: what their packages must provide) and asks dpkg
which package holds each; every one must be in ``QT_LIBS`` or be part of every Debian
system (the C and C++ runtimes).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Packages of every Debian system (essential, or required by the Python we run on).
BASE = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}


def needed(path: Path) -> list[str]:
    """The ``DT_NEEDED`` sonames of a little-endian ELF64 shared object."""
    data = path.read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, f"{path}: not ELF64 LE"
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [
        struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)
    ]
    dynamic = next(s for s in sections if s[1] == 6)  # SHT_DYNAMIC
    strtab = sections[dynamic[6]]  # sh_link: the string table of .dynamic
    names = []
    for offset in range(dynamic[4], dynamic[4] + dynamic[5], 16):
        tag, value = struct.unpack_from("<qQ", data, offset)
        if tag == 0:
            break
        if tag == 1:  # DT_NEEDED
            start = strtab[4] + value
            names.append(data[start : data.index(b"\0", start)].decode())
    return names


def install_list() -> set[str]:
    text = (ROOT / ".ci" / "install").read_text()
    match = re.search(r"^QT_LIBS=\((.*?)\)", text, re.M | re.S)
    assert match, "QT_LIBS=(...) not found in .ci/install"
    return set(match.group(1).split())


def test_install_names_every_package_of_the_x11_plugin() -> None:
    if shutil.which("dpkg") is None:
        pytest.skip("not a Debian system: no dpkg to ask")
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    plugin = qt / "plugins" / "platforms" / "libqxcb.so"
    bundled = {p.name for p in (qt / "lib").iterdir()}
    sonames = {
        name
        for elf in (plugin, qt / "lib" / "libQt6XcbQpa.so.6", qt / "lib" / "libQt6Gui.so.6")
        for name in needed(elf)
        if name not in bundled
    }
    assert "libxcb-icccm.so.4" in sonames  # the check reads what it should
    wanted = install_list()
    missing: dict[str, str] = {}
    for soname in sorted(sonames):
        found = subprocess.run(
            ["dpkg", "-S", f"*/{soname}"], capture_output=True, text=True, check=False
        )
        assert found.returncode == 0, f"{soname}: no installed package has it ({found.stderr})"
        package = found.stdout.split(":", 1)[0]
        if package.removesuffix("t64") not in wanted | BASE:
            missing[soname] = package
    assert not missing, f"add to QT_LIBS in .ci/install: {missing}"


def test_install_brings_the_x_server_the_smoke_test_needs() -> None:
    """tests/renderer/test_xvfb_smoke.py opens the window on Xvfb (it skips without)."""
    text = (ROOT / ".ci" / "install").read_text()
    match = re.search(r"^TEST_TOOLS=\((.*?)\)", text, re.M | re.S)
    assert match and "xvfb" in match.group(1).split()
    assert '"${TEST_TOOLS[@]}"' in text  # and installs them with the Qt libraries
