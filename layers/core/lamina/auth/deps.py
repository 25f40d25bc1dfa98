"""The request dependencies moved to `lamina.api.deps`; this name stays for routes not yet moved to it."""

from __future__ import annotations

from lamina.api.deps import (
    CurrentPrincipal,
    KeysManager,
    MembersManager,
    ProjectDeployer,
    ProjectEditor,
    ProjectScope,
    ProjectsManager,
    ProjectViewer,
    SecretsManager,
    SessionDep,
    current_principal,
    get_session,
)

__all__ = [
    "CurrentPrincipal",
    "KeysManager",
    "MembersManager",
    "ProjectDeployer",
    "ProjectEditor",
    "ProjectScope",
    "ProjectViewer",
    "ProjectsManager",
    "SecretsManager",
    "SessionDep",
    "current_principal",
    "get_session",
]
