"""Every production rule refuses on its own: a production stack that meets all rules but one is
refused, naming that rule's key. One case per rule, so dropping any rule turns a test red."""

from __future__ import annotations

from typing import Any

import pytest

from components import images
from components.settings import SettingsError, parse_settings
from components.settings.postgres import DEFAULT_POSTGRES_IMAGE

SECRETS = {"client-secret": {"scope": "Client/basic"}}
SP = {
    "identity": "servicePrincipal",
    "clientId": "11111111-2222-3333-4444-555555555555",  # ids are GUIDs
    "clientSecret": "s",
    "objectId": "66666666-7777-8888-9999-000000000000",
}
EXTERNAL = {
    "mode": "external",
    "address": "https://vault.example:8200",
    "token": "t",
    "egressCidrs": ["198.51.100.7"],
}
CLUSTER = {
    "apiServerAuthorizedRanges": ["203.0.113.0/28"],
    "adminGroupObjectIds": ["0f6b1e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"],
}
# Two pods, reached inside the hospital's network at an address someone else publishes.
AIDBOX = {
    "replicas": 2,
    "image": "healthsamurai/aidboxone:2605.0",
    "internal": {"baseUrl": "https://fhir.example.org"},
}
# Every image any of these stacks runs, as scripts/import-images.sh records them.
IMPORTED = [
    image.source
    for image in images.required(
        aidbox_image=AIDBOX["image"],
        postgres_image=DEFAULT_POSTGRES_IMAGE,
        csi_helm=True,
        azure_provider=True,
        vault_mode="ha",
        vault_snapshots=True,
    )
]
ACR = {"mode": "acr", "imported": IMPORTED}
SUBNETS = (
    "/subscriptions/00000000-0000-0000-0000-000000000009/resourceGroups/rg-net/providers/"
    "Microsoft.Network/virtualNetworks/vnet-platform/subnets/"
)
COMPLIANT: dict[str, dict[str, Any]] = {
    "azure": {
        "production": True,
        "secretStore": "azure",
        "secrets": SECRETS,
        "aidboxLicense": "license",
        "aidbox": AIDBOX,
        "azure": {"identity": "workload"},
        "cluster": CLUSTER,
        "registry": ACR,
    },
    "vault": {
        "production": True,
        "secretStore": "vault",
        "secrets": SECRETS,
        "aidboxLicense": "license",
        "aidbox": AIDBOX,
        "vault": EXTERNAL,
        "cluster": CLUSTER,
        "registry": ACR,
    },
    # An AKS cluster someone else runs: its own hardening is its owners'.
    "azure-existingAks": {
        "production": True,
        "secretStore": "azure",
        "secrets": SECRETS,
        "aidboxLicense": "license",
        "aidbox": AIDBOX,
        "azure": {"identity": "workload"},
        "cluster": {"mode": "existingAks", "name": "aks-platform", "resourceGroup": "rg-platform"},
        "network": {
            "privateEndpointSubnetId": SUBNETS + "endpoints",
            "postgresSubnetId": SUBNETS + "postgres",
            "postgresSubnet": "10.50.9.0/24",
        },
        "registry": {"mode": "external", "server": "acrplatform.azurecr.io", "imported": IMPORTED},
    },
}
SECRET_KEYS = frozenset({"aidboxLicense", "azure", "vault"})
# rule -> (store, keys to change (None removes), key the refusal names)
BROKEN: dict[str, tuple[str, dict[str, Any], str]] = {
    "one Aidbox replica": ("azure", {"aidbox": {**AIDBOX, "replicas": 1}}, "aidbox.replicas"),
    "no license": ("azure", {"aidboxLicense": None}, "aidboxLicense"),
    "purge protection off": (
        "azure",
        {"keyVault": {"purgeProtection": False}},
        "keyVault.purgeProtection",
    ),
    "service principal credentials": ("azure", {"azure": SP}, "azure.identity"),
    "vault dev mode": (
        "vault",
        {"vault": {"mode": "dev"}},
        "vault.mode",
    ),
    "local accounts": (
        "azure",
        {"cluster": {**CLUSTER, "localAccounts": True}},
        "cluster.localAccounts",
    ),
    "API server open to everything": (
        "vault",
        {"cluster": {"apiServerAuthorizedRanges": ["0.0.0.0/0"]}},
        "cluster.apiServerAuthorizedRanges",
    ),
    "API server without ranges": ("azure", {"cluster": {}}, "cluster.apiServerAuthorizedRanges"),
    "no zones": ("azure", {"cluster": {**CLUSTER, "zones": []}}, "cluster.zones"),
    "one zone": ("azure", {"cluster": {**CLUSTER, "zones": ["1"]}}, "cluster.zones"),
    "Free tier": ("azure", {"cluster": {**CLUSTER, "tier": "Free"}}, "cluster.tier"),
    "one system node": (
        "azure",
        {"cluster": {**CLUSTER, "systemPool": {"minCount": 1}}},
        "cluster.systemPool.minCount",
    ),
    "no upgrades": (
        "azure",
        {"cluster": {**CLUSTER, "upgradeChannel": "none"}},
        "cluster.upgradeChannel",
    ),
    "unmanaged node images": (
        "azure",
        {"cluster": {**CLUSTER, "nodeOsUpgradeChannel": "None"}},
        "cluster.nodeOsUpgradeChannel",
    ),
    "no audit log": (
        "vault",
        {"monitoring": {"controlPlaneLogs": ["kube-apiserver"]}},
        "monitoring.controlPlaneLogs",
    ),
    "Key Vault open to everything": (
        "azure",
        {"keyVault": {"allowedRanges": ["0.0.0.0/0"]}},
        "keyVault.allowedRanges",
    ),
    "Aidbox dev mode": ("azure", {"aidbox": {**AIDBOX, "devMode": True}}, "aidbox.devMode"),
    "a development switch in aidbox.env": (
        "vault",
        {"aidbox": {**AIDBOX, "env": {"BOX_SECURITY_DEBUG_SU_ENABLE": True}}},
        "aidbox.env.BOX_SECURITY_DEBUG_SU_ENABLE",
    ),
    "monthly Aidbox tag": (
        "azure",
        {"aidbox": {**AIDBOX, "image": "healthsamurai/aidboxone:2605"}},
        "aidbox.image",
    ),
    "no address users reach": (
        "azure",
        {"aidbox": {**AIDBOX, "internal": None}},
        "aidbox.host",
    ),
    "an in-cluster address": (
        "vault",
        {"aidbox": {**AIDBOX, "internal": {"baseUrl": "https://aidbox.default.svc"}}},
        "aidbox.internal.baseUrl",
    ),
    "the kubelet identity of a cluster this program does not own": (
        "azure-existingAks",
        {"azure": {"identity": "kubelet"}},
        "azure.identity",
    ),
    "nobody administers the cluster": (
        "azure",
        {"cluster": {"apiServerAuthorizedRanges": ["203.0.113.0/28"]}},
        "cluster.clusterAdmins",
    ),
    "egress to anywhere, and no firewall": (
        "azure",
        {"network": {"egress": {"mode": "loadBalancer"}}},
        "network.egress.mode",
    ),
    "no delete locks": ("azure", {"locks": False}, "locks"),
    "no delete locks on the Key Vault and database of a cluster this program does not own": (
        "azure-existingAks",
        {"locks": False},
        "locks",
    ),
    "plain-http Vault": (
        "vault",
        {"vault": {**EXTERNAL, "address": "http://vault.example:8200"}},
        "vault.address",
    ),
    "external Vault without its egress ranges": (
        "vault",
        {"vault": {k: v for k, v in EXTERNAL.items() if k != "egressCidrs"}},
        "vault.egressCidrs",
    ),
    "ha Vault without snapshots": (
        "vault",
        {
            "vault": {"mode": "ha", "snapshots": {"enabled": False}},
            "cluster": {**CLUSTER, "userPool": {"minCount": 3, "maxCount": 3}},
        },
        "vault.snapshots.enabled",
    ),
    "autoscaler floor of one": (
        "azure",
        {
            "aidbox": {
                **AIDBOX,
                "replicas": None,
                "autoscaling": {"minReplicas": 1, "maxReplicas": 3},
            }
        },
        "aidbox.autoscaling.minReplicas",
    ),
    # Issue 21: admission, images, the platform's clock.
    "Azure Policy add-on off": (
        "azure",
        {"cluster": {**CLUSTER, "azurePolicy": False}},
        "cluster.azurePolicy",
    ),
    "Defender off": ("azure", {"cluster": {**CLUSTER, "defender": False}}, "cluster.defender"),
    "image cleaner off": (
        "azure",
        {"cluster": {**CLUSTER, "imageCleaner": False}},
        "cluster.imageCleaner",
    ),
    "Run Command on": ("vault", {"cluster": {**CLUSTER, "runCommand": True}}, "cluster.runCommand"),
    "Kubernetes minor at its end of support": (
        "azure",
        {"cluster": {**CLUSTER, "kubernetesVersion": "1.34"}},
        "cluster.kubernetesVersion",
    ),
    "images from their public registries": (
        "azure",
        {"registry": {"mode": "upstream"}},
        "registry.mode",
    ),
    "images from Docker Hub beside a cluster someone else runs": (
        "azure-existingAks",
        {"registry": {"mode": "upstream"}},
        "registry.mode",
    ),
    "a registry open to the internet": (
        "vault",
        {"registry": {**ACR, "publicNetworkAccess": True}},
        "registry.publicNetworkAccess",
    ),
}


def parse(raw: dict[str, Any], bootstrap: bool = False) -> Any:
    return parse_settings(
        {k: v for k, v in raw.items() if v is not None},
        project="aidbox-secrets",
        stack="prod",
        secret_keys=SECRET_KEYS,
        registry_bootstrap=bootstrap,
    )


@pytest.mark.parametrize("store", COMPLIANT)
def test_a_compliant_production_stack_is_accepted(store: str) -> None:
    assert parse(COMPLIANT[store]).production


@pytest.mark.parametrize(("store", "change", "key"), BROKEN.values(), ids=BROKEN.keys())
def test_each_production_rule_refuses_on_its_own(store: str, change: dict, key: str) -> None:
    raw = {**COMPLIANT[store], **change}
    with pytest.raises(SettingsError) as error:
        parse(raw)
    assert str(error.value).startswith(f"aidbox-secrets:{key} = "), str(error.value)
    # The same change without `production` is accepted: it is the production rule that refused
    # (an image no registry holds yet aside: that is registry.imported's own check).
    assert not parse({**raw, "production": False}, bootstrap=True).production
