"""An external Vault reviews every pod's token at the API server (issue 19, Vault item 10): its
egress ranges join the authorized ranges of a cluster the program creates, and an existing
cluster that does not admit them stops the run at preview with the command that fixes it."""

from __future__ import annotations

import pulumi
import pytest
from harness import EXISTING_CLUSTER, VAULT_EXTERNAL, Mocks, run_stack

from components.azure.api_server_access import authorized_ranges, uncovered
from components.azure.existing_aks import ClusterFacts, ClusterNeeds, missing

VAULT_EGRESS = ["198.51.100.7", "192.0.2.0/28"]
ADMINS = ["203.0.113.0/28"]
EXTERNAL = {**VAULT_EXTERNAL["vault"], "egressCidrs": VAULT_EGRESS}


def test_the_vault_ranges_join_the_configured_ones() -> None:
    assert authorized_ranges(ADMINS, ["198.51.100.7/32"]) == [*ADMINS, "198.51.100.7/32"]
    # A range the configured ones already cover is not repeated.
    assert authorized_ranges(ADMINS, ["203.0.113.4/32"]) == ADMINS
    # An API server open to any address stays open: the Vault's ranges alone would close it.
    assert authorized_ranges([], ["198.51.100.7/32"]) is None
    assert uncovered([], ["198.51.100.7/32"]) == []
    assert uncovered(["198.51.100.0/24"], ["198.51.100.7/32", "192.0.2.0/28"]) == ["192.0.2.0/28"]


def test_aks_admits_the_external_vault_at_the_api_server() -> None:
    config = {**VAULT_EXTERNAL, "vault": EXTERNAL, "cluster": {"apiServerAuthorizedRanges": ADMINS}}
    run = run_stack(config, secret_keys=["vault"])
    cluster = run.one("azure-native:containerservice:ManagedCluster").props
    assert cluster["apiServerAccessProfile"]["authorizedIPRanges"] == [
        *ADMINS,
        "198.51.100.7/32",
        "192.0.2.0/28",
    ]


def facts(**overrides: object) -> ClusterFacts:
    base = {
        "name": "aks-platform",
        "resource_group": "rg-platform",
        "oidc_issuer_url": "https://oidc",
        "workload_identity": True,
        "key_vault_addon": False,
        "addon_rotation": None,
        "app_routing": False,
        "kubelet_client_id": "c",
        "kubelet_object_id": "o",
        "authorized_ranges": ("203.0.113.0/28",),
        "private": False,
    }
    return ClusterFacts(**{**base, **overrides})  # type: ignore[arg-type]


def test_an_existing_cluster_that_does_not_admit_the_vault_is_told_how() -> None:
    needs = ClusterNeeds(api_server_clients=("198.51.100.7/32",))
    (problem,) = missing(facts(), needs)
    assert "198.51.100.7/32" in problem and "vault.egressCidrs" in problem
    assert problem.endswith(
        "az aks update --resource-group rg-platform --name aks-platform "
        "--api-server-authorized-ip-ranges 203.0.113.0/28,198.51.100.7/32"
    )
    assert missing(facts(authorized_ranges=("198.51.100.0/24",)), needs) == []
    assert missing(facts(authorized_ranges=()), needs) == []  # open to any address
    # A private cluster: no public endpoint to admit them to (docs/configuration.md:
    # `vault.egressCidrs`).
    assert missing(facts(private=True), needs) == []


def test_existing_aks_stops_at_preview_without_the_vault_ranges() -> None:
    cluster = {
        **EXISTING_CLUSTER,
        "apiServerAccessProfile": {"authorizedIPRanges": ADMINS, "enablePrivateCluster": False},
    }
    config = {
        **VAULT_EXTERNAL,
        "vault": EXTERNAL,
        "cluster": {"mode": "existingAks", "name": "aks-platform", "resourceGroup": "rg-platform"},
    }
    with pytest.raises(pulumi.RunError, match="--api-server-authorized-ip-ranges"):
        run_stack(config, secret_keys=["vault"], mocks=Mocks(existing_cluster=cluster))
    admitted = {
        **cluster,
        "apiServerAccessProfile": {
            "authorizedIPRanges": [*ADMINS, "198.51.100.0/24", "192.0.2.0/28"]
        },
    }
    run_stack(config, secret_keys=["vault"], mocks=Mocks(existing_cluster=admitted))
