"""Production pods pull only from a registry you own: every container image, and every image the
vendored charts run (their values), is under an allowed registry."""

from __future__ import annotations

import re
import runpy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ..common import Check, is_unknown, production_reason, show
from .helm import helm_chart
from .pods import workload_containers

# Any Azure Container Registry by default (the program's own is `acr<...>.azurecr.io`); the
# policy config's allowedRegistries replaces it with the hosts (or host/path prefixes) you own.
ACR_HOST = re.compile(r"^[a-z0-9]{5,50}\.azurecr\.io/")
# The images each vendored chart runs (components/versions.py, one list for the program and the
# pack): their values keys must point at your registry too, or the chart's defaults (Docker Hub,
# registry.k8s.io, MCR) are pulled.
_VERSIONS = runpy.run_path(str(Path(__file__).resolve().parents[3] / "components" / "versions.py"))
CHART_IMAGES: dict[str, tuple[str, ...]] = {
    chart.name: tuple(image.values_key for image in chart.images) for chart in _VERSIONS["CHARTS"]
}
# The Vault chart runs its server only in dev and ha (not with global.enabled false).
SERVER_ONLY = {"vault": ("server.image",)}


def allowed(image: str, registries: Sequence[str]) -> bool:
    if not registries:
        return bool(ACR_HOST.match(image))
    return any(image.startswith(r.rstrip("/") + "/") for r in registries)


def _registries(check: Check) -> list[str]:
    config = check.args.get_config() or {}
    found = config.get("allowedRegistries") or []
    return [r for r in found if isinstance(r, str)]


def _vault_runs_server(check: Check, values: Any) -> bool | None:
    enabled = check.get(values, "global", "enabled", default=True)
    if is_unknown(enabled):
        check.undecided(enabled)
        return None
    return enabled is not False


def _chart_images(check: Check, chart: str, values: Any) -> list[tuple[str, Any]]:
    keys = list(CHART_IMAGES.get(chart, ()))
    if chart in SERVER_ONLY and not _vault_runs_server(check, values):
        keys = [k for k in keys if k not in SERVER_ONLY[chart]]
    return [(key, check.get(values, *key.split("."), "repository")) for key in keys]


def validate_registry_images(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    check = Check(args, report_violation)
    reason = production_reason(check)
    if not reason:
        return
    registries = _registries(check)
    where = "a registry you own (any <name>.azurecr.io, or policy config allowedRegistries)"
    for container in workload_containers(check):
        image = check.get(container.value, "image")
        if is_unknown(image):
            check.undecided(image)
        elif not (isinstance(image, str) and allowed(image, registries)):
            check.violation(
                f"{container.label} pulls {show(image)} on production ({reason}); pull it from "
                f"{where}: copy it there (scripts/import-images.sh)"
            )
    chart = helm_chart(check)
    if chart is not None:
        values = check.get(args.props, "values", default={})
        if is_unknown(values):
            check.undecided(values)
        elif isinstance(values, Mapping):
            for key, repository in _chart_images(check, chart, values):
                if is_unknown(repository):
                    check.undecided(repository)
                elif not (isinstance(repository, str) and allowed(repository, registries)):
                    check.violation(
                        f"chart {chart}: values.{key}.repository is {show(repository)} on "
                        f"production ({reason}), so the chart's default image is pulled; set it "
                        f"to {where}"
                    )
    check.finish()
