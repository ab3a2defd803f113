"""`cluster`: the AKS cluster's identity, API server access, node pools, upgrades."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..aks_versions import DEFAULT_MINOR
from .kubeconfig import KubeconfigError, parse_kubeconfig, read_kubeconfig
from .principals import Principal, object_id, parse_principals
from .reader import Section, Sensitive
from .values import GUID_RULE, cidrs, is_guid
from .vault import REGIONS_WITHOUT_ZONES  # one list: the cluster's zones and an `ha` Vault's

# aks: the program creates the cluster; existingAks: a cluster someone else runs, read from
# Azure; kubeconfig: any Kubernetes, Azure untouched.
CLUSTER_MODES = ("aks", "existingAks", "kubeconfig")
MIN_KUBERNETES = (1, 30)  # the CSI driver chart 1.6.0 needs it
TIERS = ("Free", "Standard", "Premium")
# `rapid`/`stable` move the minor version under Pulumi's feet (the next `up` would try to
# go back to the pinned minor, which AKS refuses): only patch upgrades, or none.
UPGRADE_CHANNELS = ("patch", "none")
NODE_OS_CHANNELS = ("NodeImage", "SecurityPatch", "Unmanaged", "None")
KUBELOGIN_MODES = ("azurecli", "workloadidentity", "msi")
NETWORK_POLICY_ENGINES = ("cilium", "calico")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ZONES = ("1", "2", "3")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_UTC_OFFSET = re.compile(r"^[+-](0\d|1[0-4]):(00|30|45)$")
_VERSION = re.compile(r"^(\d+)\.(\d+)(\.\d+)?$")
_VM_SIZE = re.compile(r"^Standard_[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class PoolSettings:
    """One node pool: VM size and the cluster autoscaler's bounds."""

    vm_size: str
    min_count: int
    max_count: int


@dataclass(frozen=True)
class MaintenanceWindow:
    """When AKS may upgrade the cluster and node images: weekly, in UTC plus an offset."""

    day: str = "Sunday"
    start: str = "02:00"
    duration_hours: int = 4
    utc_offset: str = "+00:00"


@dataclass(frozen=True)
class ExistingAks:
    """An AKS cluster this program does not create (cluster.mode existingAks)."""

    name: str
    resource_group: str


@dataclass(frozen=True)
class KubeconfigSource:
    """Any cluster, through a kubeconfig context (cluster.mode kubeconfig): the file's path, or
    its text held as a secret."""

    context: str | None = None
    path: str | None = None
    content: Sensitive | None = None


@dataclass(frozen=True)
class ClusterSettings:
    mode: str = "aks"
    existing: ExistingAks | None = None
    kubeconfig: KubeconfigSource | None = None
    kubernetes_version: str = DEFAULT_MINOR  # components/aks_versions.py
    tier: str = "Standard"
    system_pool: PoolSettings = PoolSettings("Standard_D4s_v5", 3, 4)
    user_pool: PoolSettings = PoolSettings("Standard_D4s_v5", 3, 6)
    zones: tuple[str, ...] = ZONES
    local_accounts: bool = False
    # Cluster admins: groups bound at creation (aadProfile) and principals granted "Azure
    # Kubernetes Service RBAC Cluster Admin" on the cluster. Each admin group is granted too,
    # as the AKS baseline does where Azure RBAC authorizes Entra ID principals.
    admin_group_object_ids: tuple[str, ...] = ()
    cluster_admins: tuple[Principal, ...] = ()
    kubelogin_mode: str = "azurecli"
    kubelogin_client_id: str | None = None  # msi: the VM's identity to sign in as
    api_server_authorized_ranges: tuple[str, ...] = ()
    private: bool = False
    network_policy: str = "cilium"
    upgrade_channel: str = "patch"
    node_os_upgrade_channel: str = "NodeImage"
    maintenance_window: MaintenanceWindow = field(default_factory=MaintenanceWindow)
    # Admission and runtime security (the defaults follow `production`: see parse_cluster).
    azure_policy: bool = False  # the Azure Policy add-on and the baseline's assignments
    defender: bool = False  # Microsoft Defender for Containers' sensor (securityProfile)
    image_cleaner: bool = True  # removes unused, vulnerable images from the nodes
    run_command: bool = True  # `az aks command invoke` (a back door around the API server ranges)

    @property
    def admins(self) -> tuple[Principal, ...]:
        """Everyone granted cluster admin: the admin groups, then cluster.clusterAdmins."""
        groups = tuple(Principal(g, "Group") for g in self.admin_group_object_ids)
        return groups + tuple(p for p in self.cluster_admins if p not in groups)


# What describes a cluster the program creates (cluster.mode aks).
CLUSTER_KEYS = (
    "kubernetesVersion",
    "tier",
    "systemPool",
    "userPool",
    "zones",
    "localAccounts",
    "adminGroupObjectIds",
    "clusterAdmins",
    "kubeloginMode",
    "kubeloginClientId",
    "apiServerAuthorizedRanges",
    "private",
    "networkPolicy",
    "upgradeChannel",
    "nodeOsUpgradeChannel",
    "maintenanceWindow",
    "azurePolicy",
    "defender",
    "imageCleaner",
    "runCommand",
)
EXISTING_AKS_KEYS = ("name", "resourceGroup", "kubeloginMode", "kubeloginClientId")
KUBECONFIG_KEYS = ("kubeconfig", "kubeconfigPath", "context")
_AKS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,61}[A-Za-z0-9]$")
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
MOVED = {
    "nodeCount": "cluster.userPool.minCount / maxCount (the autoscaler's bounds)",
    "vmSize": "cluster.userPool.vmSize (and cluster.systemPool.vmSize)",
}
REMOVED = {
    "deployerPrincipalType": (
        "removed: whoever runs `pulumi up` is granted nothing any more; name your admins in "
        "cluster.clusterAdmins ([{objectId, type: Group|User|ServicePrincipal}]) or "
        "cluster.adminGroupObjectIds, and let the CI bootstrap grant CI's identity "
        "(pulumi config rm --path cluster.deployerPrincipalType)"
    ),
}


def parse_pool(s: Section, name: str, default: PoolSettings, *, system: bool) -> PoolSettings:
    p = s.section(name)
    p.reject_unknown(("vmSize", "minCount", "maxCount"))
    vm_size = p.string("vmSize", default.vm_size) or default.vm_size
    if not _VM_SIZE.match(vm_size):
        p.fail("vmSize", vm_size, "an Azure VM size such as Standard_D4s_v5")
    # A system pool must keep a node for CoreDNS and the other critical add-ons.
    lowest = 1 if system else 0
    min_count = p.integer("minCount", default.min_count, minimum=lowest, maximum=1000)
    max_count = p.integer("maxCount", max(default.max_count, min_count), minimum=1, maximum=1000)
    if min_count > max_count:
        p.fail("minCount", min_count, f"at most {p.key('maxCount')} ({max_count})")
    return PoolSettings(vm_size, min_count, max_count)


def parse_kubelogin(s: Section) -> tuple[str, str | None]:
    """How the Kubernetes provider signs in: the kubelogin login, and for `msi` the client id
    of the VM's managed identity (needed when the VM has more than one)."""
    default = ClusterSettings.kubelogin_mode
    mode = s.string("kubeloginMode", default, choices=KUBELOGIN_MODES) or default
    client_id = s.string("kubeloginClientId")
    if client_id is not None and mode != "msi":
        s.fail(
            "kubeloginClientId",
            client_id,
            f"only with cluster.kubeloginMode msi (it names the VM's managed identity); "
            f"kubeloginMode is {mode!r}",
        )
    if client_id is not None and not is_guid(client_id):
        s.fail("kubeloginClientId", client_id, f"the managed identity's client id: {GUID_RULE}")
    return mode, client_id


def parse_maintenance_window(s: Section) -> MaintenanceWindow:
    w = s.section("maintenanceWindow")
    w.reject_unknown(("day", "start", "durationHours", "utcOffset"))
    default = MaintenanceWindow()
    day = w.string("day", default.day, choices=WEEKDAYS) or default.day
    start = w.string("start", default.start) or default.start
    if not _TIME.match(start):
        w.fail("start", start, "a time of day HH:MM, 24-hour clock, e.g. 02:00")
    offset = w.string("utcOffset", default.utc_offset) or default.utc_offset
    if not _UTC_OFFSET.match(offset):
        w.fail("utcOffset", offset, "+HH:MM or -HH:MM, e.g. +01:00")
    # AKS requires at least 4 hours for the auto-upgrade and node OS schedules.
    hours = w.integer("durationHours", default.duration_hours, minimum=4, maximum=24)
    return MaintenanceWindow(day=day, start=start, duration_hours=hours, utc_offset=offset)


def parse_cluster(
    top: Section, location: str = "westeurope", production: bool = False
) -> ClusterSettings:
    s = top.section("cluster")
    for old, new in MOVED.items():
        if s.has(old):
            s.fail(old, s.data[old], f"moved: use {new}")
    for old, why in REMOVED.items():
        if s.has(old):
            s.fail(old, s.data[old], why)
    mode = s.string("mode", "aks", choices=CLUSTER_MODES) or "aks"
    if mode == "existingAks":
        return parse_existing_aks(s)
    if mode == "kubeconfig":
        return parse_kubeconfig_source(s)
    s.reject_unknown(("mode", *CLUSTER_KEYS))
    d = ClusterSettings()
    version = s.string("kubernetesVersion", d.kubernetes_version)
    assert version is not None
    match = _VERSION.match(version)
    if not match or (int(match[1]), int(match[2])) < MIN_KUBERNETES:
        s.fail("kubernetesVersion", version, "'MAJOR.MINOR' (quoted), 1.30 or newer")
    upgrade = s.string("upgradeChannel", d.upgrade_channel, choices=UPGRADE_CHANNELS)
    if match[3] and upgrade != "none":
        s.fail(
            "kubernetesVersion",
            version,
            f"pin the minor only ('{DEFAULT_MINOR}'): the patch upgrade channel moves the "
            "patch version (or set cluster.upgradeChannel: none)",
        )
    raw_zones = s.data.get("zones")
    if isinstance(raw_zones, list):  # `--path cluster.zones[0] 1` stores a number
        raw_zones = [
            str(z) if isinstance(z, int) and not isinstance(z, bool) else z for z in raw_zones
        ]
    zones = (
        Section(s.path, {"zones": raw_zones}).string_list("zones") if s.has("zones") else d.zones
    )
    for zone in zones:
        if zone not in ZONES:
            s.fail("zones", list(zones), f"a list of zones from {list(ZONES)}, or []")
    if zones and location in REGIONS_WITHOUT_ZONES:
        s.fail(
            "zones",
            list(zones),
            f"{location} has no availability zones: set cluster.zones to []",
        )
    private = s.boolean("private", d.private)
    ranges = cidrs(s, "apiServerAuthorizedRanges")
    if private and ranges:
        s.fail(
            "apiServerAuthorizedRanges",
            list(ranges),
            "a private cluster has no public endpoint to restrict: leave it empty",
        )
    listed = s.string_list("adminGroupObjectIds")
    groups = tuple(dict.fromkeys(object_id(s, "adminGroupObjectIds", g) for g in listed))
    admin_groups = tuple(Principal(g, "Group") for g in groups)
    kubelogin_mode, kubelogin_client_id = parse_kubelogin(s)
    return ClusterSettings(
        kubernetes_version=version,
        tier=s.string("tier", d.tier, choices=TIERS) or d.tier,
        system_pool=parse_pool(s, "systemPool", d.system_pool, system=True),
        user_pool=parse_pool(s, "userPool", d.user_pool, system=False),
        zones=tuple(zones),
        local_accounts=s.boolean("localAccounts", d.local_accounts),
        admin_group_object_ids=groups,
        cluster_admins=parse_principals(s, "clusterAdmins", known=admin_groups),
        kubelogin_mode=kubelogin_mode,
        kubelogin_client_id=kubelogin_client_id,
        api_server_authorized_ranges=ranges,
        private=private,
        network_policy=s.string("networkPolicy", d.network_policy, choices=NETWORK_POLICY_ENGINES)
        or d.network_policy,
        upgrade_channel=upgrade or d.upgrade_channel,
        node_os_upgrade_channel=s.string(
            "nodeOsUpgradeChannel", d.node_os_upgrade_channel, choices=NODE_OS_CHANNELS
        )
        or d.node_os_upgrade_channel,
        maintenance_window=parse_maintenance_window(s),
        # Safe on production, cheap elsewhere: Defender bills per vCore, the policy add-on
        # runs Gatekeeper on the system pool.
        azure_policy=s.boolean("azurePolicy", production),
        defender=s.boolean("defender", production),
        image_cleaner=s.boolean("imageCleaner", d.image_cleaner),
        run_command=s.boolean("runCommand", not production),
    )


def _refuse_other_keys(s: Section, mode: str, allowed: tuple[str, ...]) -> None:
    for name in s.data:
        if name == "mode" or name in allowed:
            continue
        if name in CLUSTER_KEYS or name in EXISTING_AKS_KEYS or name in KUBECONFIG_KEYS:
            s.fail(
                name,
                s.data[name],
                f"not with cluster.mode {mode}: it describes a cluster this program "
                f"{'creates' if name in CLUSTER_KEYS else 'reaches another way'} "
                f"(cluster.mode {mode} takes {list(allowed)})",
            )
    s.reject_unknown(("mode", *allowed))


def parse_existing_aks(s: Section) -> ClusterSettings:
    _refuse_other_keys(s, "existingAks", EXISTING_AKS_KEYS)
    why = "with cluster.mode existingAks (the AKS cluster to deploy into)"
    name = s.required_string("name", why)
    if not _AKS_NAME.match(name):
        s.fail("name", name, "an AKS cluster name: 1-63 letters, digits, '-' and '_'")
    group = s.required_string("resourceGroup", why)
    if not _RESOURCE_GROUP.match(group):
        s.fail("resourceGroup", group, "a resource group name: letters, digits, -_.() (1-90)")
    kubelogin_mode, kubelogin_client_id = parse_kubelogin(s)
    return ClusterSettings(
        mode="existingAks",
        existing=ExistingAks(name, group),
        kubelogin_mode=kubelogin_mode,
        kubelogin_client_id=kubelogin_client_id,
    )


def parse_kubeconfig_source(s: Section) -> ClusterSettings:
    """The kubeconfig is read and its context resolved here, so a wrong path or context stops
    the run before anything is registered."""
    _refuse_other_keys(s, "kubeconfig", KUBECONFIG_KEYS)
    context = s.string("context")
    if s.has("kubeconfig") and s.has("kubeconfigPath"):
        s.fail("kubeconfigPath", s.data["kubeconfigPath"], "not with cluster.kubeconfig: one")
    content = s.sensitive("kubeconfig") if s.has("kubeconfig") else None
    path = None if content else s.string("kubeconfigPath", "~/.kube/config")
    try:
        if content is not None:
            parse_kubeconfig(content.value, context)
        else:
            assert path is not None
            text, base = read_kubeconfig(path)
            parse_kubeconfig(text, context, base)
    except KubeconfigError as error:
        key = "kubeconfig" if content is not None else "kubeconfigPath"
        s.fail(key, content or path, f"a kubeconfig this program can use: {error}")
    return ClusterSettings(
        mode="kubeconfig",
        kubeconfig=KubeconfigSource(context, path, content),
    )
