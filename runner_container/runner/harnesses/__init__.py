"""Harnesses: programs that run one agent turn in the sandbox and speak NDJSON events on stdout."""
