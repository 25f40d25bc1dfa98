"""Organizations → workspaces → projects, users, memberships with roles, API keys."""
