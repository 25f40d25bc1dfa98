"""Lamina's shared library: the Lambda layer "core"."""

__version__ = "0.1.0"
