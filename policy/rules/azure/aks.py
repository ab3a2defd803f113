"""AKS clusters on production: Entra ID only, a network policy engine, zone-redundant pools, a
Kubernetes minor AKS still supports for a while."""

from __future__ import annotations

import re
import runpy
from datetime import date
from pathlib import Path
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ..common import (
    AZURE_NATIVE_TYPE,
    MANAGED_CLUSTER_TYPE,
    Check,
    is_list,
    is_unknown,
    production_check,
    production_reason,
    show,
)

AGENT_POOL_TYPE = re.compile(AZURE_NATIVE_TYPE.format(module="containerservice", name="AgentPool"))
NETWORK_POLICY_ENGINES = ("cilium", "calico", "azure")
# The AKS release calendar the program's settings use (one table): the pack lives in the same
# repository, policy/ beside components/.
AKS_VERSIONS = runpy.run_path(
    str(Path(__file__).resolve().parents[3] / "components" / "aks_versions.py")
)


def kubernetes_version_problem(version: str, today: date) -> str | None:
    return AKS_VERSIONS["production_problem"](version, today)


def _production_cluster(args: ResourceValidationArgs, report_violation: ReportViolation):
    return production_check(args, report_violation, MANAGED_CLUSTER_TYPE)


def validate_aks_local_accounts(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    found = _production_cluster(args, report_violation)
    if not found:
        return
    check, reason = found
    disabled = check.get(args.props, "disableLocalAccounts")
    check.expect(
        disabled,
        True,
        f"disableLocalAccounts is {show(disabled)} on a production cluster ({reason}); it "
        "must be true: the static cluster-admin credential bypasses Entra ID and audit",
    )
    check.finish()


def validate_aks_entra_rbac(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    found = _production_cluster(args, report_violation)
    if not found:
        return
    check, reason = found
    for key in ("managed", "enableAzureRBAC"):
        value = check.get(args.props, "aadProfile", key)
        check.expect(
            value,
            True,
            f"aadProfile.{key} is {show(value)} on a production cluster ({reason}); "
            "Entra ID sign-in with Azure RBAC for Kubernetes authorization is required",
        )
    check.finish()


def validate_aks_network_policy(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    found = _production_cluster(args, report_violation)
    if not found:
        return
    check, reason = found
    engine = check.get(args.props, "networkProfile", "networkPolicy")
    if is_unknown(engine):
        check.undecided(engine)
    elif engine not in NETWORK_POLICY_ENGINES:
        check.violation(
            f"networkProfile.networkPolicy is {show(engine)} on a production cluster "
            f"({reason}); one of {list(NETWORK_POLICY_ENGINES)} is needed, or NetworkPolicies "
            "are not enforced"
        )
    check.finish()


def _check_zones(check: Check, pool: Any, where: str, reason: str) -> None:
    zones = check.get(pool, "availabilityZones")
    if is_unknown(zones):
        check.undecided(zones)
    elif not is_list(zones) or len(zones) < 2:
        check.violation(
            f"{where}.availabilityZones is {show(zones if zones else None)} on production "
            f"({reason}); spread every pool over at least two zones"
        )


def validate_aks_zones(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if AGENT_POOL_TYPE.match(args.resource_type):
        check = Check(args, report_violation)
        reason = production_reason(check)
        if reason:
            _check_zones(check, args.props, "agent pool", reason)
            check.finish()
        return
    found = _production_cluster(args, report_violation)
    if not found:
        return
    check, reason = found
    for index, pool in check.elements(args.props, "agentPoolProfiles"):
        if is_unknown(pool):
            check.undecided(pool)
        else:
            _check_zones(check, pool, f"agentPoolProfiles[{index}]", reason)
    check.finish()


def validate_aks_kubernetes_version(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    found = _production_cluster(args, report_violation)
    if not found:
        return
    check, reason = found
    version = check.get(args.props, "kubernetesVersion")
    if is_unknown(version):
        check.undecided(version)
    elif not isinstance(version, str):
        check.violation(
            f"kubernetesVersion {show(version)} on a production cluster ({reason}); pin a minor "
            "AKS supports (the default is the newest, components/aks_versions.py)"
        )
    else:
        problem = kubernetes_version_problem(version, date.today())
        if problem:
            check.violation(
                f"kubernetesVersion {show(version)} on a production cluster ({reason}): {problem}"
            )
    check.finish()


# Issue 21: what the AKS baseline turns on for admission and runtime security, as
# (path, wanted, why) under the cluster's inputs.
ADMISSION = (
    (("addonProfiles", "azurepolicy", "enabled"), True, "the Azure Policy add-on (Gatekeeper)"),
    (
        ("securityProfile", "defender", "securityMonitoring", "enabled"),
        True,
        "Defender for Containers' runtime threat detection",
    ),
    (("securityProfile", "imageCleaner", "enabled"), True, "unused, vulnerable images removed"),
    (
        ("securityProfile", "workloadIdentity", "enabled"),
        True,
        "workload identity (pods get their own identities, not the kubelet's)",
    ),
    (
        ("apiServerAccessProfile", "disableRunCommand"),
        True,
        "Run Command off (it reaches the cluster around the API server's authorized ranges)",
    ),
)


def validate_aks_admission(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    found = _production_cluster(args, report_violation)
    if not found:
        return
    check, reason = found
    for path, wanted, why in ADMISSION:
        value = check.get(args.props, *path)
        check.expect(
            value,
            wanted,
            f"{'.'.join(path)} is {show(value)} on a production cluster ({reason}); it must "
            f"be {show(wanted)}: {why}",
        )
    check.finish()
