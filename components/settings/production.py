"""The production rules: what a production stack must have (replicas, purge protection, the AKS
baseline's must-haves, a pinned Aidbox release, a reachable address, filtered egress, delete
locks, ...). Each broken rule names its key, its value and what is allowed; all are reported at
once, before any resource."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from .. import aks_versions
from .aidbox import FIXED_TAG, check_reachable, image_tag
from .aidbox_env import dev_mode_problems
from .egress import production_egress_problem
from .locks import production_locks_problem
from .monitoring import AUDIT_LOGS
from .reader import Section, SettingsError, fail
from .vault import REGIONS_WITHOUT_ZONES
from .vault_rules import vault_production_checks

if TYPE_CHECKING:
    from .stack import Settings

EVERYWHERE = "0.0.0.0/0"


def production_checks(s: Settings, top: Section, today: date) -> None:
    problems = []
    if s.aidbox.autoscaling and s.aidbox.autoscaling.min_replicas < 2:
        problems.append(
            (
                "aidbox.autoscaling.minReplicas",
                s.aidbox.autoscaling.min_replicas,
                "at least 2 on production",
            )
        )
    elif s.aidbox.replicas < 2 and not s.aidbox.autoscaling:
        problems.append(("aidbox.replicas", s.aidbox.replicas, "at least 2 on production"))
    if s.aidbox.dev_mode:
        problems.append(
            (
                "aidbox.devMode",
                True,
                "never on production: it returns access-policy debug traces to callers",
            )
        )
    if s.azure and not s.azure.key_vault.purge_protection:
        problems.append(("keyVault.purgeProtection", False, "must stay on for production"))
    if s.vault and s.vault.mode == "dev":
        problems.append(("vault.mode", "dev", "dev mode keeps data in memory: use ha or external"))
    if s.vault:
        vault_production_checks(s.vault, s.cluster, top)
    if s.vault and s.vault.mode == "ha":
        if s.vault.replicas < 3:
            problems.append(
                ("vault.replicas", s.vault.replicas, "at least 3 on production (a Raft quorum)")
            )
        if s.location in REGIONS_WITHOUT_ZONES:
            raise SettingsError(
                f"azure-native:location = {s.location!r} is not valid: vault.mode ha on "
                "production spreads Vault over availability zones; choose a region with zones"
            )
    if s.azure and s.azure.identity == "servicePrincipal":
        problems.append(
            ("azure.identity", "servicePrincipal", "use kubelet or workload on production")
        )
    elif s.azure and s.cluster.mode == "existingAks" and s.azure.identity != "workload":
        problems.append(
            (
                "azure.identity",
                s.azure.identity,
                "workload on production with cluster.mode existingAks: the kubelet and add-on "
                "identities of a cluster this program does not own are every workload's on it",
            )
        )
    if not s.aidbox.has_license:
        problems.append(("aidboxLicense", None, "required on production (set it with --secret)"))
    if not s.registry.owned:
        problems.append(
            (
                "registry.mode",
                s.registry.mode,
                "acr (cluster.mode aks) or external on production: images from a registry you "
                "own, never pulled from Docker Hub or another public registry at run time",
            )
        )
    if s.registry.public_network_access:
        problems.append(
            (
                "registry.publicNetworkAccess",
                True,
                "false on production: the nodes pull through the private endpoint, and "
                "`az acr import` goes through Azure Resource Manager",
            )
        )
    if locks := production_locks_problem(s.locks, s.cluster.mode):
        problems.append(locks)
    if s.cluster.mode == "aks":  # a cluster someone else runs is theirs to harden
        problems += cluster_production_problems(s, today)
    # Aidbox's own production settings last: the older rules above keep their order.
    tag = image_tag(s.aidbox.image)
    if tag is not None and not FIXED_TAG.match(tag):
        problems.append(
            (
                "aidbox.image",
                s.aidbox.image,
                "a fixed release tag such as healthsamurai/aidboxone:2605.0 (YYMM.N) or a "
                "digest on production; the YYMM tag moves with every minor release",
            )
        )
    problems += dev_mode_problems(s.aidbox.env)
    problems += check_reachable(s.aidbox)
    for key, value, allowed in problems:
        fail(key, value, allowed)


def cluster_production_problems(s: Settings, today: date) -> list[tuple[str, object, str]]:
    """The AKS baseline's must-haves: Entra ID only, a closed API server, zones, SLA tier,
    upgrades on, a supported Kubernetes minor, audit logs, a Key Vault firewall that does not
    open to everything, and someone to administer the cluster."""
    c, problems = s.cluster, []
    version = aks_versions.production_problem(c.kubernetes_version, today)
    if version:
        problems.append(("cluster.kubernetesVersion", c.kubernetes_version, version))
    if c.local_accounts:
        problems.append(("cluster.localAccounts", True, "off on production: Entra ID only"))
    if not c.private and (
        not c.api_server_authorized_ranges or EVERYWHERE in c.api_server_authorized_ranges
    ):
        problems.append(
            (
                "cluster.apiServerAuthorizedRanges",
                list(c.api_server_authorized_ranges),
                "on production, the CIDRs of your CI runners and administrators (not "
                "0.0.0.0/0, not empty), or cluster.private: true",
            )
        )
    if not c.zones and s.location not in REGIONS_WITHOUT_ZONES:
        problems.append(("cluster.zones", [], f"at least two zones on production in {s.location}"))
    elif len(c.zones) == 1:
        problems.append(("cluster.zones", list(c.zones), "at least two zones on production"))
    if c.tier == "Free":
        problems.append(("cluster.tier", "Free", "Standard or Premium on production (SLA)"))
    if c.system_pool.min_count < 2:
        problems.append(
            ("cluster.systemPool.minCount", c.system_pool.min_count, "at least 2 on production")
        )
    if c.upgrade_channel == "none":
        problems.append(("cluster.upgradeChannel", "none", "patch on production"))
    for key, value, wanted, why in (
        ("azurePolicy", c.azure_policy, True, "the baseline's pod security and image policies"),
        ("defender", c.defender, True, "Defender for Containers' runtime threat detection"),
        ("imageCleaner", c.image_cleaner, True, "unused, vulnerable images removed from nodes"),
        (
            "runCommand",
            c.run_command,
            False,
            "Run Command reaches the cluster around the API server's authorized ranges",
        ),
    ):
        if value != wanted:
            problems.append(
                (f"cluster.{key}", value, f"{str(wanted).lower()} on production: {why}")
            )
    if c.node_os_upgrade_channel in ("None", "Unmanaged"):
        problems.append(
            (
                "cluster.nodeOsUpgradeChannel",
                c.node_os_upgrade_channel,
                "NodeImage or SecurityPatch on production",
            )
        )
    if not set(s.monitoring.control_plane_logs) & set(AUDIT_LOGS):
        problems.append(
            (
                "monitoring.controlPlaneLogs",
                list(s.monitoring.control_plane_logs),
                f"one of {list(AUDIT_LOGS)} on production",
            )
        )
    if egress := production_egress_problem(s.network.egress, s.network.aidbox_egress_cidrs):
        problems.append(egress)
    if s.azure and EVERYWHERE in s.azure.key_vault.allowed_ranges:
        problems.append(
            ("keyVault.allowedRanges", list(s.azure.key_vault.allowed_ranges), "not 0.0.0.0/0")
        )
    if not c.admins:
        problems.append(
            (
                "cluster.clusterAdmins",
                [],
                "on production, at least one Entra ID principal (your platform administrators' "
                "group) in cluster.clusterAdmins or cluster.adminGroupObjectIds: local accounts "
                "are off, so without one only the CI identity could reach the cluster",
            )
        )
    return problems
