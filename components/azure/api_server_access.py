"""Who may reach the AKS API server: the configured ranges, plus an external Vault's egress
ranges (it reviews every pod's token there). Pure."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence


def _covered(cidr: str, ranges: Sequence[str]) -> bool:
    network = ipaddress.ip_network(cidr, strict=False)
    return any(
        network.version == other.version and network.subnet_of(other)
        for other in (ipaddress.ip_network(r, strict=False) for r in ranges)
    )


def authorized_ranges(configured: Sequence[str], clients: Sequence[str]) -> list[str] | None:
    """`apiServerAccessProfile.authorizedIPRanges`: None (any address) when nothing is
    configured, since adding the Vault's ranges to an open API server would close it to
    everyone else; otherwise the configured ranges and each client range they do not cover."""
    if not configured:
        return None
    return [*configured, *(c for c in clients if not _covered(c, configured))]


def uncovered(authorized: Sequence[str], clients: Sequence[str]) -> list[str]:
    """The client ranges an existing cluster's authorized ranges do not admit (none when the
    cluster admits any address, i.e. lists no range)."""
    if not authorized:
        return []
    return [c for c in clients if not _covered(c, authorized)]
