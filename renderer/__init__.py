"""The Qt GUI (the renderer process). Talks to the engine only through ``ipc``."""
