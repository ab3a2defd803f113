"""Helm releases: which chart a `helm.sh/v3:Release` or `helm.sh/v4:Chart` installs."""

from __future__ import annotations

import re

from ..common import Check, is_unknown

HELM_TYPES = frozenset({"kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"})

_ARCHIVE = re.compile(r"^(?P<name>.+?)-v?\d+\.\d+\.\d+[^/]*\.tgz$")


def chart_name(chart: str) -> str:
    """'hashicorp/vault', 'oci://host/charts/vault', 'vault' and a local archive such as
    './charts/vault-0.34.1.tgz' are all 'vault'."""
    base = chart.rstrip("/").rsplit("/", 1)[-1]
    archive = _ARCHIVE.match(base)
    return archive["name"] if archive else base


def helm_chart(check: Check) -> str | None:
    if check.args.resource_type not in HELM_TYPES:
        return None
    chart = check.get(check.args.props, "chart")
    if is_unknown(chart):
        check.undecided(chart)
        return None
    return chart_name(chart) if isinstance(chart, str) else None
