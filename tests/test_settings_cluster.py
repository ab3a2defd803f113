"""Settings for the cluster, network, monitoring and Key Vault firewall: defaults, numbers
written as numbers, and bad input refused before any resource, naming key and value."""

from __future__ import annotations

from typing import Any

import pytest

from components.settings import SettingsError, parse_settings

SECRETS = {"client-secret": {"scope": "Client/basic"}}
PROD_OK = {
    "apiServerAuthorizedRanges": ["203.0.113.0/28"],
    "clusterAdmins": [{"objectId": "0f6b1e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b", "type": "Group"}],
}


def parse(raw: dict[str, Any], location: str = "westeurope"):
    return parse_settings(
        {"secretStore": "azure", "secrets": SECRETS, **raw},
        project="aidbox-secrets",
        stack="dev",
        location=location,
        secret_keys=frozenset({"aidboxLicense"}),
    )


def prod(**extra: Any) -> dict[str, Any]:
    cluster = {**PROD_OK, **extra.pop("cluster", {})}
    return {
        "production": True,
        "aidbox": {
            "replicas": 2,
            "image": "healthsamurai/aidboxone:2605.0",
            "internal": {"baseUrl": "https://fhir.example.org"},
        },
        "aidboxLicense": "jwt",
        "cluster": cluster,
        **extra,
    }


def test_defaults_are_the_production_ones() -> None:
    s = parse({})
    c = s.cluster
    assert (c.tier, c.zones, c.local_accounts, c.network_policy) == (
        "Standard",
        ("1", "2", "3"),
        False,
        "cilium",
    )
    assert (c.system_pool.min_count, c.system_pool.max_count) == (3, 4)
    assert (c.upgrade_channel, c.node_os_upgrade_channel, c.kubelogin_mode) == (
        "patch",
        "NodeImage",
        "azurecli",
    )
    assert c.maintenance_window.day == "Sunday" and c.maintenance_window.duration_hours == 4
    assert s.network.ingress_namespaces == ("app-routing-system",)
    assert s.monitoring.prometheus and "kube-audit-admin" in s.monitoring.control_plane_logs
    assert s.azure is not None and s.azure.key_vault.allowed_ranges == ()


def test_numbers_and_addresses_as_users_write_them() -> None:
    s = parse(
        {
            "cluster": {
                "zones": [1, 2],
                "systemPool": {"minCount": "2", "maxCount": 3},
                "apiServerAuthorizedRanges": ["203.0.113.7", "198.51.100.9/24", "203.0.113.7/32"],
                "maintenanceWindow": {"durationHours": "6", "day": "Saturday"},
            },
            "keyVault": {"allowedRanges": "203.0.113.0/28"},
        }
    )
    assert s.cluster.zones == ("1", "2")
    assert (s.cluster.system_pool.min_count, s.cluster.system_pool.max_count) == (2, 3)
    assert s.cluster.api_server_authorized_ranges == ("203.0.113.7/32", "198.51.100.0/24")
    assert s.cluster.maintenance_window.duration_hours == 6
    assert s.azure is not None and s.azure.key_vault.allowed_ranges == ("203.0.113.0/28",)


BAD = {
    "range not a CIDR": (
        {"cluster": {"apiServerAuthorizedRanges": ["my-office"]}},
        ["cluster.apiServerAuthorizedRanges", "'my-office'", "a CIDR such as"],
    ),
    "IPv6 range": (
        {"cluster": {"apiServerAuthorizedRanges": ["2001:db8::/32"]}},
        ["cluster.apiServerAuthorizedRanges", "'2001:db8::/32'", "IPv4"],
    ),
    "subnet with host bits": (
        {"network": {"addressSpace": "10.240.1.0/16"}},
        ["network.addressSpace", "'10.240.1.0/16'", "no host bits"],
    ),
    "private cluster with ranges": (
        {"cluster": {"private": True, "apiServerAuthorizedRanges": ["203.0.113.0/28"]}},
        ["cluster.apiServerAuthorizedRanges", "private cluster"],
    ),
    "min above max": (
        {"cluster": {"userPool": {"minCount": 5, "maxCount": 2}}},
        ["cluster.userPool.minCount", "5", "at most cluster.userPool.maxCount (2)"],
    ),
    "empty system pool": (
        {"cluster": {"systemPool": {"minCount": 0}}},
        ["cluster.systemPool.minCount", "0", "from 1 to 1000"],
    ),
    "bad vm size": (
        {"cluster": {"userPool": {"vmSize": "big"}}},
        ["cluster.userPool.vmSize", "'big'", "Standard_D4s_v5"],
    ),
    "zones in a region without zones": (
        {"cluster": {"zones": ["1", "2"]}, "_location": "westcentralus"},
        ["cluster.zones", "westcentralus has no availability zones"],
    ),
    "unknown zone": ({"cluster": {"zones": ["4"]}}, ["cluster.zones", "['4']"]),
    "maintenance day": (
        {"cluster": {"maintenanceWindow": {"day": "Sundy"}}},
        ["cluster.maintenanceWindow.day", "'Sundy'", "Sunday"],
    ),
    "maintenance start": (
        {"cluster": {"maintenanceWindow": {"start": "25:00"}}},
        ["cluster.maintenanceWindow.start", "'25:00'", "HH:MM"],
    ),
    "maintenance too short": (
        {"cluster": {"maintenanceWindow": {"durationHours": 2}}},
        ["cluster.maintenanceWindow.durationHours", "2", "from 4 to 24"],
    ),
    "maintenance offset": (
        {"cluster": {"maintenanceWindow": {"utcOffset": "CET"}}},
        ["cluster.maintenanceWindow.utcOffset", "'CET'", "+HH:MM"],
    ),
    "patch version with the patch channel": (
        {"cluster": {"kubernetesVersion": "1.34.2"}},
        ["cluster.kubernetesVersion", "'1.34.2'", "pin the minor only"],
    ),
    "minor-moving channel": (
        {"cluster": {"upgradeChannel": "rapid"}},
        ["cluster.upgradeChannel", "'rapid'", "['patch', 'none']"],
    ),
    "kubelogin mode": (
        {"cluster": {"kubeloginMode": "devicecode"}},
        ["cluster.kubeloginMode", "'devicecode'", "azurecli"],
    ),
    "subnet outside the address space": (
        {"network": {"userSubnet": "10.1.0.0/22"}},
        ["network.userSubnet", "'10.1.0.0/22'", "inside network.addressSpace"],
    ),
    "overlapping subnets": (
        {"network": {"postgresSubnet": "10.240.8.0/25"}},
        ["network.postgresSubnet", "does not overlap network.privateEndpointSubnet"],
    ),
    "pod range inside the network": (
        {"network": {"podCidr": "10.240.128.0/17"}},
        ["network.podCidr", "outside network.addressSpace"],
    ),
    "dns outside the service range": (
        {"network": {"dnsServiceIp": "10.1.0.10"}},
        ["network.dnsServiceIp", "'10.1.0.10'", "inside serviceCidr"],
    ),
    "ingress namespace": (
        {"network": {"ingressNamespaces": ["App_Routing"]}},
        ["network.ingressNamespaces", "'App_Routing'"],
    ),
    "control-plane log": (
        {"monitoring": {"controlPlaneLogs": ["kube-everything"]}},
        ["monitoring.controlPlaneLogs", "'kube-everything'"],
    ),
    "key vault range": (
        {"keyVault": {"allowedRanges": ["0.0.0.0/-1"]}},
        ["keyVault.allowedRanges", "'0.0.0.0/-1'"],
    ),
    # Production
    "production API server open to everything": (
        prod(cluster={"apiServerAuthorizedRanges": ["0.0.0.0/0"]}),
        ["cluster.apiServerAuthorizedRanges", "['0.0.0.0/0']", "cluster.private: true"],
    ),
    "production API server without ranges": (
        prod(cluster={"apiServerAuthorizedRanges": []}),
        ["cluster.apiServerAuthorizedRanges", "[]", "not empty"],
    ),
    "production local accounts": (
        prod(cluster={"localAccounts": True}),
        ["cluster.localAccounts", "True", "Entra ID only"],
    ),
    "production without zones": (
        prod(cluster={"zones": []}),
        ["cluster.zones", "at least two zones"],
    ),
    "production Free tier": (prod(cluster={"tier": "Free"}), ["cluster.tier", "'Free'"]),
    "production one system node": (
        prod(cluster={"systemPool": {"minCount": 1}}),
        ["cluster.systemPool.minCount", "1", "at least 2"],
    ),
    "production no upgrades": (
        prod(cluster={"upgradeChannel": "none", "kubernetesVersion": "1.34.2"}),
        ["cluster.upgradeChannel", "'none'"],
    ),
    "production unmanaged node images": (
        prod(cluster={"nodeOsUpgradeChannel": "Unmanaged"}),
        ["cluster.nodeOsUpgradeChannel", "'Unmanaged'"],
    ),
    "production without audit log": (
        prod(monitoring={"controlPlaneLogs": ["guard"]}),
        ["monitoring.controlPlaneLogs", "['guard']", "kube-audit"],
    ),
    "production key vault open": (
        prod(keyVault={"allowedRanges": ["0.0.0.0/0"]}),
        ["keyVault.allowedRanges", "not 0.0.0.0/0"],
    ),
}


@pytest.mark.parametrize("raw,expected", BAD.values(), ids=BAD.keys())
def test_bad_input_is_refused_naming_key_and_value(raw: dict, expected: list[str]) -> None:
    raw = dict(raw)
    location = raw.pop("_location", "westeurope")
    with pytest.raises(SettingsError) as error:
        parse(raw, location=location)
    message = str(error.value)
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_production_passes_with_ranges_or_a_private_cluster() -> None:
    assert parse(prod()).production
    private = prod(cluster={"private": True, "apiServerAuthorizedRanges": []})
    assert parse(private).cluster.private
    # A region without zones: production does not ask for what Azure cannot give.
    assert parse(prod(cluster={"zones": []}), location="westcentralus").cluster.zones == ()


def test_aks_addon_may_use_workload_identity() -> None:
    s = parse({"azure": {"identity": "workload"}, "csi": {"install": "aksAddon"}})
    assert s.azure is not None and s.azure.identity == "workload"


def test_admin_groups_are_guids() -> None:
    group = "00000000-0000-0000-0000-0000000000ad"
    assert parse({"cluster": {"adminGroupObjectIds": [group]}}).cluster.admin_group_object_ids == (
        group,
    )
    with pytest.raises(SettingsError, match=r"cluster.adminGroupObjectIds = 'admins'"):
        parse({"cluster": {"adminGroupObjectIds": ["admins"]}})
