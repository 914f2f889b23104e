"""The wire between processes: typed messages, framing, the pipe client and the
HTTP client. Never imports Qt, never imports ``main_process``."""
