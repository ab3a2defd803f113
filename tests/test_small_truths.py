"""Issue 21 #6: monitoring names that fit Azure's limits for the longest cluster name, a
kubelogin `msi` login that names its identity, and workload identity as the default reader of
Key Vault wherever the cluster has it."""

from __future__ import annotations

import re

import pytest
import yaml
from harness import AZURE_DEV, run_stack

from components import naming
from components.settings import SettingsError, parse_settings

SECRETS = {"client-secret": {"scope": "Client/basic"}}
CLIENT = "7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
# The longest stack name that still leaves a cluster name at its 63-character limit.
LONG_STACK = "a-very-long-stack-name-for-the-clinical-data-platform-west"
MONITORED = {**AZURE_DEV, "monitoring": {"prometheus": True, "containerInsights": True}}
# Azure's limits: data collection endpoints 3-44 (letters, digits, '-'), data collection rules
# up to 64, Log Analytics workspaces 4-63 (letters, digits, '-', alphanumeric at both ends).
LIMITS = {
    "azure-native:monitor:DataCollectionEndpoint": ("dataCollectionEndpointName", 44),
    "azure-native:monitor:DataCollectionRule": ("dataCollectionRuleName", 64),
    "azure-native:operationalinsights:Workspace": ("workspaceName", 63),
}
RULE = "azure-native:monitor:DataCollectionRule"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]$")


def parse(raw: dict, **kwargs):
    return parse_settings(raw, project="aidbox-secrets", stack="dev", **kwargs)


def test_monitoring_names_fit_for_the_longest_cluster_name() -> None:
    cluster = naming.cluster_name("aidbox-secrets", LONG_STACK)
    assert len(cluster) == 63
    run = run_stack(MONITORED, stack=LONG_STACK)
    names = []
    for type_, (key, limit) in LIMITS.items():
        for resource in run.of_type(type_):
            name = resource.props[key]
            names.append(name)
            assert len(name) <= limit and _NAME.match(name), (type_, name, len(name))
    assert len(names) == 4  # the workspace, the endpoint and both rules
    assert len(set(names)) == 4, names  # shortened names stay apart


def test_short_monitoring_names_are_kept() -> None:
    """A stack whose names already fit keeps them: a renamed endpoint or rule is a new one."""
    run = run_stack(MONITORED)
    endpoint = run.one("azure-native:monitor:DataCollectionEndpoint")
    assert endpoint.props["dataCollectionEndpointName"] == "MSProm-aks-aidbox-secrets-dev"
    rules = {r.props["dataCollectionRuleName"] for r in run.of_type(RULE)}
    assert rules == {"MSProm-aks-aidbox-secrets-dev", "MSCI-aks-aidbox-secrets-dev"}
    workspace = run.one("azure-native:operationalinsights:Workspace")
    assert workspace.props["workspaceName"] == "log-aks-aidbox-secrets-dev"


def _exec_args(run) -> list[str]:
    provider = run.one("pulumi:providers:kubernetes")
    (user,) = yaml.safe_load(provider.props["kubeconfig"])["users"]
    return user["user"]["exec"]["args"]


def test_msi_login_names_its_identity() -> None:
    cluster = {"kubeloginMode": "msi", "kubeloginClientId": CLIENT}
    args = _exec_args(run_stack({**AZURE_DEV, "cluster": cluster}))
    assert args[args.index("--login") + 1] == "msi"
    assert args[args.index("--client-id") + 1] == CLIENT
    # Without it, kubelogin asks for the VM's only (or system-assigned) identity.
    bare = _exec_args(run_stack({**AZURE_DEV, "cluster": {"kubeloginMode": "msi"}}))
    assert "--client-id" not in bare


def test_existing_cluster_msi_login_names_its_identity() -> None:
    cluster = {
        "mode": "existingAks",
        "name": "aks-platform",
        "resourceGroup": "rg-platform",
        "kubeloginMode": "msi",
        "kubeloginClientId": CLIENT,
    }
    network = {
        "privateEndpointSubnetId": "/subscriptions/00000000-0000-0000-0000-000000000009/"
        "resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pe"
    }
    args = _exec_args(run_stack({**AZURE_DEV, "cluster": cluster, "network": network}))
    assert args[args.index("--client-id") + 1] == CLIENT


@pytest.mark.parametrize(
    ("cluster", "message"),
    [
        (
            {"kubeloginMode": "azurecli", "kubeloginClientId": CLIENT},
            "only with cluster.kubeloginMode msi",
        ),
        ({"kubeloginMode": "msi", "kubeloginClientId": "vm"}, "a GUID"),
    ],
)
def test_kubelogin_client_id_only_for_msi_and_a_guid(cluster: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse({"secretStore": "azure", "secrets": SECRETS, "cluster": cluster})


def test_workload_identity_is_the_default_reader() -> None:
    """aks mode turns workload identity on; an existing cluster is checked for it."""
    settings = parse({"secretStore": "azure", "secrets": SECRETS})
    assert settings.azure is not None and settings.azure.identity == "workload"
    existing = parse(
        {
            "secretStore": "azure",
            "secrets": SECRETS,
            "cluster": {"mode": "existingAks", "name": "aks-a", "resourceGroup": "rg-a"},
            "network": {
                "privateEndpointSubnetId": "/subscriptions/00000000-0000-0000-0000-000000000009/"
                "resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/v/subnets/pe"
            },
        }
    )
    assert existing.azure is not None and existing.azure.identity == "workload"


def test_the_dev_stack_file_keeps_the_kubelet_identity_and_says_why() -> None:
    from harness import ROOT, stack_config

    path = ROOT / "Pulumi.dev.yaml"
    assert stack_config(path)["aidbox-secrets:azure"] == {"identity": "kubelet"}
    assert "can borrow" in path.read_text()  # the caveat, where dev is described
