"""Lamina's local runtime and CLI (`lamina up`): never shipped to Lambda."""
