"""The principal is tenancy's (`lamina.tenancy.principal`); this name stays for modules not yet moved to it."""

from __future__ import annotations

from lamina.tenancy.principal import Principal, PrincipalKind

__all__ = ["Principal", "PrincipalKind"]
