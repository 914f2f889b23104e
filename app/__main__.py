"""``python -m app``: the same command line as the ``conductor`` script."""

from __future__ import annotations

from app.cli.entry import main

if __name__ == "__main__":
    main()
