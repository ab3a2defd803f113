"""What an existing cluster has, read from getManagedCluster (cluster.mode existingAks). Azure
answers flags as booleans, and add-on config values as strings ("true"/"false"): each is read
strictly, and anything else stops the run naming the field and the value."""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pytest
from harness import EXISTING_ADDON, EXISTING_CLUSTER, Mocks, run_stack
from pulumi.runtime.rpc import translate_output_properties
from pulumi_azure_native.containerservice import GetManagedClusterResult
from test_cluster_modes import EXISTING_AZURE

from components.azure.existing_aks import ClusterFacts, azure_bool, cluster_facts

ROUTING = {"webAppRouting": {"enabled": True}}
# Every flag the program reads, by its path in the getManagedCluster answer, and the fact it
# sets. A cluster with all of them on: each test turns one off (or garbles it).
FLAGS = {
    "oidcIssuerProfile.enabled": "oidc_issuer_url",
    "securityProfile.workloadIdentity.enabled": "workload_identity",
    "addonProfiles.azureKeyvaultSecretsProvider.enabled": "key_vault_addon",
    "addonProfiles.azureKeyvaultSecretsProvider.config.enableSecretRotation": "addon_rotation",
    "ingressProfile.webAppRouting.enabled": "app_routing",
}
TRUE = (True, "true", "True", "TRUE")
FALSE = (False, "false", "False", "FALSE")
GARBLED = ("yes", "1", "", "enabled", 1, 0)


def answer(path: str | None = None, value: Any = None) -> dict[str, Any]:
    """The getManagedCluster answer with every flag on, `path` set to `value`."""
    cluster = copy.deepcopy({**EXISTING_CLUSTER, "addonProfiles": EXISTING_ADDON})
    cluster["ingressProfile"] = copy.deepcopy(ROUTING)
    if path is not None:
        *parents, leaf = path.split(".")
        node = cluster
        for key in parents:
            node = node[key]
        node[leaf] = value
    return cluster


def facts(cluster: dict[str, Any]) -> ClusterFacts:
    """cluster_facts on the SDK's own result type, built from the answer as an invoke does."""
    result = translate_output_properties(cluster, lambda k: k, GetManagedClusterResult, True)
    return cluster_facts(result, "rg-platform")


def fact_is_on(found: ClusterFacts, name: str) -> bool:
    value = getattr(found, name)
    return value is not None and value is not False


@pytest.mark.parametrize("value", [*TRUE, *FALSE])
def test_azure_bool_reads_booleans_and_their_strings(value: Any) -> None:
    assert azure_bool(value, "x.enabled") is (str(value).lower() == "true")


@pytest.mark.parametrize("value", GARBLED)
def test_azure_bool_refuses_anything_else_naming_field_and_value(value: Any) -> None:
    with pytest.raises(pulumi.RunError, match=rf"x\.enabled = {value!r}.*true or false"):
        azure_bool(value, "x.enabled")


def test_an_absent_flag_is_off() -> None:
    assert azure_bool(None, "x.enabled") is False


def test_every_flag_on() -> None:
    found = facts(answer())
    assert all(fact_is_on(found, fact) for fact in FLAGS.values())
    assert found.addon_rotation == "30s"


@pytest.mark.parametrize("path", FLAGS)
@pytest.mark.parametrize("value", TRUE)
def test_each_flag_reads_true(path: str, value: Any) -> None:
    assert fact_is_on(facts(answer(path, value)), FLAGS[path])


@pytest.mark.parametrize("path", FLAGS)
@pytest.mark.parametrize("value", FALSE)
def test_each_flag_reads_false(path: str, value: Any) -> None:
    found = facts(answer(path, value))
    assert not fact_is_on(found, FLAGS[path]), f"{path} = {value!r} read as on"
    # One flag read, one fact: the add-on's rotation is its config's, even with it off.
    assert all(fact_is_on(found, fact) for p, fact in FLAGS.items() if p != path)


@pytest.mark.parametrize("path", FLAGS)
@pytest.mark.parametrize("value", GARBLED)
def test_a_garbled_flag_stops_the_run_naming_it(path: str, value: Any) -> None:
    with pytest.raises(pulumi.RunError, match=rf"{path} = {value!r}"):
        facts(answer(path, value))


def test_a_cluster_that_does_not_rotate_stops_the_run() -> None:
    """End to end: the add-on's config, as Azure sends it, through the program."""
    config = {**EXISTING_AZURE, "csi": {"install": "aksAddon"}}
    path = "addonProfiles.azureKeyvaultSecretsProvider.config.enableSecretRotation"
    with pytest.raises(Exception, match="does not rotate secrets"):
        run_stack(config, mocks=Mocks(existing_cluster=answer(path, "false")))
    run = run_stack(config, mocks=Mocks(existing_cluster=answer(path, "True")))
    assert run.output("clusterMode") == "existingAks"
