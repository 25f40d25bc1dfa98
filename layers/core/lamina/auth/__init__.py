"""Credentials and access: Cognito JWTs, API keys, internal service tokens, roles and permissions."""
