"""The policy pack's image rules (issue 21 #3), each with a passing and a failing case:
production pods and the vendored charts pull only from a registry you own; a production
registry is the baseline's; the kubelet's pull grant is AcrPull on one registry."""

from __future__ import annotations

import copy
from typing import Any

import cases
from test_policy import DEPLOYMENT, RELEASE, ROLE_ASSIGNMENT, SUB, make_args, rules

REGISTRY = "azure-native:containerregistry:Registry"
PROD = {"production": True}
SERVER = "acraidboxsecretsprod1a2b3.azurecr.io"
REGISTRY_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acrx"
)


def violations(validator: Any, resource_type: str, props: dict, config: dict | None = PROD):
    found: list[str] = []
    validator(
        make_args(resource_type, props, name="res", config=config),
        lambda message, urn=None: found.append(message),
    )
    return found


def _deployment(image: str) -> dict[str, Any]:
    container = {"name": "aidbox", "image": image}
    return {"spec": {"template": {"spec": {"containers": [container]}}}}


def test_production_pods_pull_from_a_registry_you_own() -> None:
    check = rules.validate_registry_images
    assert (
        violations(check, DEPLOYMENT, _deployment(f"{SERVER}/healthsamurai/aidboxone:2605.1")) == []
    )
    (problem,) = violations(check, DEPLOYMENT, _deployment("healthsamurai/aidboxone:2605.1"))
    assert "pulls 'healthsamurai/aidboxone:2605.1' on production" in problem
    assert violations(check, DEPLOYMENT, _deployment("postgres:17.6"), config=None) == []
    # The registries you own, named in the policy config, replace "any ACR".
    own = {**PROD, "allowedRegistries": ["registry.example.org/aidbox"]}
    assert violations(check, DEPLOYMENT, _deployment("registry.example.org/aidbox/a:1"), own) == []
    assert violations(check, DEPLOYMENT, _deployment(f"{SERVER}/a:1"), own)


def _release(case: str, name: str) -> dict[str, Any]:
    return copy.deepcopy(cases.run(case).named(name).props)


def test_production_charts_run_their_images_from_the_registry() -> None:
    check = rules.validate_registry_images
    driver = _release("Pulumi.prod.yaml", "csi-driver")
    assert violations(check, RELEASE, driver) == []
    del driver["values"]["linux"]["registrarImage"]
    (problem,) = violations(check, RELEASE, driver)
    assert "chart secrets-store-csi-driver: values.linux.registrarImage.repository is unset" in (
        problem
    )
    vault = _release("vault-ha-acr", "store-chart")
    assert violations(check, RELEASE, vault) == []
    vault["values"]["csi"]["agent"]["image"]["repository"] = "hashicorp/vault"
    (problem,) = violations(check, RELEASE, vault)
    assert "values.csi.agent.image.repository is 'hashicorp/vault'" in problem


def test_the_dev_charts_are_not_judged() -> None:
    driver = _release("Pulumi.dev.yaml", "csi-driver")
    assert violations(rules.validate_registry_images, RELEASE, driver, config=None) == []
    assert violations(rules.validate_registry_images, RELEASE, driver)  # as production: refused


def test_a_production_registry_is_the_baselines() -> None:
    check = rules.validate_container_registry
    good = _release("Pulumi.prod.yaml", "registry-acr")
    assert violations(check, REGISTRY, good) == []
    for field, value, message in (
        ("sku", {"name": "Standard"}, "sku.name is 'Standard'"),
        ("adminUserEnabled", True, "adminUserEnabled is true"),
        ("anonymousPullEnabled", True, "anonymousPullEnabled is true"),
        ("publicNetworkAccess", "Enabled", "publicNetworkAccess is 'Enabled'"),
    ):
        (problem,) = violations(check, REGISTRY, {**good, field: value})
        assert message in problem
    del good["publicNetworkAccess"]  # Azure's default is Enabled
    assert "publicNetworkAccess is unset" in violations(check, REGISTRY, good)[0]
    dev = {**good, "tags": {"environment": "non-production"}, "adminUserEnabled": True}
    assert violations(check, REGISTRY, dev, config=None) == []


def test_the_kubelet_may_pull_from_one_registry_only() -> None:
    check = rules.validate_role_assignment
    grant = {
        "roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{rules.ROLE_ACR_PULL}",
        "principalId": "kubelet",
        "principalType": "ServicePrincipal",
        "scope": REGISTRY_ID,
    }
    assert violations(check, ROLE_ASSIGNMENT, grant, config=None) == []
    broad = {**grant, "scope": f"/subscriptions/{SUB}/resourceGroups/rg"}
    (problem,) = violations(check, ROLE_ASSIGNMENT, broad, config=None)
    assert "it must be scoped to exactly one registry" in problem
