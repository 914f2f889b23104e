#!/usr/bin/env bash
# Regenerates the README's screenshots in docs/screenshots/.
#
# Tests never write tracked files: the window tests save their pictures to a temp
# folder ($CONDUCTOR_SCREENSHOTS/conductor-shots). This script runs them with that
# folder pointed at a fresh temp dir, then copies the pictures here, and renders the
# editor pictures with tests/renderer/screenshot.py. Look at each one before committing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export PYTHONPATH="$PWD" QT_QPA_PLATFORM=offscreen CONDUCTOR_SCREENSHOTS="$out"
.venv/bin/python -m pytest -q -p no:cacheprovider tests/renderer/window -m "not slow"
cp "$out"/conductor-shots/*.png docs/screenshots/
.venv/bin/python -m tests.renderer.screenshot
git status --short docs/screenshots
