"""The Secrets Store CSI driver: secret volumes mounted read-only, rotation on and frequent."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ..common import MANAGED_CLUSTER_TYPE, Check, has_key, is_true, is_unknown, show
from .helm import helm_chart
from .pods import Container, pod_containers, pod_spec

CSI_DRIVER = "secrets-store.csi.k8s.io"
CSI_DRIVER_CHART = "secrets-store-csi-driver"
AZURE_PROVIDER_CHART = "csi-secrets-store-provider-azure"  # may install the driver as a subchart
MAX_ROTATION_SECONDS = 5 * 60


def validate_csi_volumes_read_only(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    check = Check(args, report_violation)
    found = pod_spec(check)
    if found is not None:
        pod, pod_path = found
        csi_volumes = _csi_volumes(check, pod, pod_path)
        if csi_volumes:
            for container in pod_containers(check, pod, pod_path):
                _check_csi_mounts(check, container, csi_volumes)
    check.finish()


def _csi_volumes(check: Check, pod: Any, pod_path: str) -> set[str]:
    names: set[str] = set()
    for index, volume in check.elements(pod, "volumes"):
        if is_unknown(volume):
            check.undecided(volume)
            continue
        driver = check.get(volume, "csi", "driver")
        if is_unknown(driver):
            check.undecided(driver)
            continue
        if driver != CSI_DRIVER:
            continue
        name = check.get(volume, "name", default="?")
        if is_unknown(name):
            check.undecided(name)
            continue
        names.add(name)
        read_only = check.get(volume, "csi", "readOnly")
        check.expect(
            read_only,
            True,
            f"volume '{name}' ({pod_path}.volumes[{index}]) uses the {CSI_DRIVER} driver "
            f"with csi.readOnly {show(read_only)}; it must be true",
        )
    return names


def _check_csi_mounts(check: Check, container: Container, csi_volumes: set[str]) -> None:
    for index, mount in check.elements(container.value, "volumeMounts"):
        if is_unknown(mount):
            check.undecided(mount)
            continue
        name = check.get(mount, "name")
        if is_unknown(name):
            check.undecided(name)
            continue
        if name not in csi_volumes:
            continue
        where = (
            f"container '{container.name}' mounts secret volume '{name}' at "
            f"{show(check.get(mount, 'mountPath'))} ({container.path}.volumeMounts[{index}])"
        )
        read_only = check.get(mount, "readOnly")
        check.expect(read_only, True, f"{where} with readOnly {show(read_only)}; it must be true")
        for field in ("subPath", "subPathExpr"):
            if has_key(mount, field):
                check.violation(
                    f"{where} with {field} {show(check.get(mount, field))}; a subPath mount is "
                    "never updated, so secret rotation would silently stop: mount the "
                    "directory and point at the file inside it"
                )


# Go's time.ParseDuration units ("\u00b5s" micro sign and "\u03bcs" Greek mu both mean us).
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,
    "\u03bcs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse_go_duration(text: str) -> float | None:
    """Seconds in a Go duration ("30s", "2m", "1h30m", "1.5h", "0"), None if it is not one."""
    text = text.strip()
    if text == "0":
        return 0.0
    total, position = 0.0, 0
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if match is None:
            return None
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    return total if text else None


def _check_rotation(
    check: Check, enabled: Any, interval: Any, enabled_key: str, interval_key: str
) -> None:
    if is_unknown(enabled):
        check.undecided(enabled)
    elif not is_true(enabled):
        check.violation(
            f"{enabled_key} is {show(enabled)}: rotation is off, so a secret changed in the "
            "store never reaches the pod; set it to true"
        )
    if is_unknown(interval):
        check.undecided(interval)
    elif interval is not None:
        seconds = parse_go_duration(interval) if isinstance(interval, str) else None
        if seconds is None:
            check.violation(f"{interval_key} {show(interval)} is not a Go duration like '2m'")
        elif seconds > MAX_ROTATION_SECONDS:
            check.violation(
                f"{interval_key} is {show(interval)}, longer than 5m: a rotated secret may take "
                "that long to reach the pod"
            )


def validate_rotation_interval(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    check = Check(args, report_violation)
    chart = helm_chart(check)
    if chart == CSI_DRIVER_CHART:
        values = check.get(args.props, "values", default={})
        _check_rotation(
            check,
            check.get(values, "enableSecretRotation"),
            check.get(values, "rotationPollInterval"),
            "values.enableSecretRotation",
            "values.rotationPollInterval",
        )
    elif chart == AZURE_PROVIDER_CHART:
        # The provider chart installs the driver as a subchart unless told not to.
        sub = check.get(args.props, "values", CSI_DRIVER_CHART, default={})
        install = check.get(sub, "install", default=True)
        if is_unknown(install):
            check.undecided(install)
        elif is_true(install):
            prefix = f"values['{CSI_DRIVER_CHART}']"
            _check_rotation(
                check,
                check.get(sub, "enableSecretRotation"),
                check.get(sub, "rotationPollInterval"),
                f"{prefix}.enableSecretRotation",
                f"{prefix}.rotationPollInterval",
            )
    elif MANAGED_CLUSTER_TYPE.match(args.resource_type):
        addon = check.get(args.props, "addonProfiles", "azureKeyvaultSecretsProvider")
        enabled = check.get(addon, "enabled")
        if is_unknown(addon) or is_unknown(enabled):
            check.undecided(addon if is_unknown(addon) else enabled)
        elif is_true(enabled):
            prefix = "addonProfiles.azureKeyvaultSecretsProvider.config"
            _check_rotation(
                check,
                check.get(addon, "config", "enableSecretRotation"),
                check.get(addon, "config", "rotationPollInterval"),
                f"{prefix}.enableSecretRotation",
                f"{prefix}.rotationPollInterval",
            )
    check.finish()
