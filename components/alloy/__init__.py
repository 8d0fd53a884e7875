"""Alloy: every container's logs to Loki, read from the engine's log files, not its socket."""
