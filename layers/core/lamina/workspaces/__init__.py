"""Durable agent workspaces: a session's files restored from S3 before a turn, checkpointed during it and
synced back after it (`store`), with credentials scoped to the session's prefix (`credentials`)."""
