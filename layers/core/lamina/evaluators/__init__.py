"""Evaluators: revisioned configurations of a built-in kind (exact match, regex, LLM judge, code, webhook...)."""
