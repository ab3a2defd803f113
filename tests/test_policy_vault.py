"""The policy pack's Vault rules of issue 19: https on production (`vault-https-production`) and
an HA Vault's snapshots on production (`vault-ha-snapshots-production`), each passing and
failing."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy
from test_policy import RELEASE, only, rules, run

SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
CRONJOB = "kubernetes:batch/v1:CronJob"
PRODUCTION = {"config": {"production": True}}


def external_release(address: str) -> dict[str, Any]:
    values = {"global": {"enabled": False, "externalVaultAddr": address}, "csi": {"enabled": True}}
    return {"name": "vault", "chart": "./charts/vault-0.34.1.tgz", "values": values}


def vault_spc(address: str, provider: str = "vault", **labels: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "aidbox-secrets", "labels": labels},
        "spec": {"provider": provider, "parameters": {"vaultAddress": address, "roleName": "a"}},
    }


# --- vault-https-production ---------------------------------------------------------------------


@pytest.mark.parametrize("address", ["https://vault.example:8200", "HTTPS://vault.example"])
def test_https_vault_passes_on_production(address: str) -> None:
    assert run(rules.validate_vault_https, RELEASE, external_release(address), **PRODUCTION) == []
    assert run(rules.validate_vault_https, SPC, vault_spc(address), **PRODUCTION) == []


@pytest.mark.parametrize("address", ["http://vault.example:8200", " HTTP://vault.example"])
def test_plain_http_vault_chart_is_refused_on_production(address: str) -> None:
    message = only(
        run(rules.validate_vault_https, RELEASE, external_release(address), **PRODUCTION)
    )
    assert "values.global.externalVaultAddr" in message and "plain http" in message
    assert "policy config production: true" in message


def test_plain_http_secret_provider_class_is_refused_when_labelled_production() -> None:
    props = vault_spc("http://vault.example:8200", **{"aidbox-secrets/environment": "production"})
    message = only(run(rules.validate_vault_https, SPC, props))
    assert "spec.parameters.vaultAddress" in message and "production" in message


def test_plain_http_is_allowed_off_production_and_for_other_providers() -> None:
    address = "http://vault.vault:8200"  # a dev Vault in the cluster
    assert run(rules.validate_vault_https, RELEASE, external_release(address)) == []
    assert run(rules.validate_vault_https, SPC, vault_spc(address)) == []
    azure = vault_spc(address, provider="azure")
    assert run(rules.validate_vault_https, SPC, azure, **PRODUCTION) == []


def test_an_unknown_address_is_undecided() -> None:
    props = external_release(UNKNOWN_STRING_VALUE)
    with pytest.raises(UnknownValueError):
        run(rules.validate_vault_https, RELEASE, props, **PRODUCTION)


# --- vault-ha-snapshots-production --------------------------------------------------------------


def resource(resource_type: str, props: dict[str, Any], name: str) -> PolicyResource:
    options = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    return PolicyResource(
        resource_type,
        unknown_checking_proxy(copy.deepcopy(props)),
        f"urn:pulumi:prod::aidbox-secrets::{resource_type}::{name}",
        name,
        options,
        None,
        None,
        [],
        {},
    )


def ha_release() -> PolicyResource:
    values = {"server": {"ha": {"enabled": True, "replicas": 3}}, "csi": {"enabled": True}}
    props = {"name": "vault", "chart": "./charts/vault-0.34.1.tgz", "values": values}
    return resource(RELEASE, props, "store-chart")


def snapshot_job(script: str = "vault operator raft snapshot save /snapshots/x") -> PolicyResource:
    pod = {
        "initContainers": [
            {"name": "snapshot", "command": ["/bin/sh", "-ec"], "args": [script]},
        ],
        "containers": [{"name": "upload", "command": ["/bin/sh", "-ec"], "args": ["az ..."]}],
    }
    props = {"spec": {"jobTemplate": {"spec": {"template": {"spec": pod}}}}}
    return resource(CRONJOB, props, "store-snapshots")


def stack_violations(resources: list[PolicyResource], **kwargs: Any) -> list[str]:
    found: list[str] = []
    rules.validate_vault_ha_snapshots(
        StackValidationArgs(resources, kwargs.get("config"), kwargs.get("stack_tags")),
        lambda message, urn=None: found.append(message),
    )
    return found


def test_production_ha_vault_with_a_snapshot_job_passes() -> None:
    assert stack_violations([ha_release(), snapshot_job()], **PRODUCTION) == []
    # The command split over words and lines still counts.
    spread = snapshot_job("vault operator raft \\\n  snapshot save /snapshots/x")
    assert stack_violations([ha_release(), spread], **PRODUCTION) == []


@pytest.mark.parametrize(
    "kwargs",
    [{"config": {"production": True}}, {"stack_tags": {"environment": "production"}}],
    ids=["policy-config", "stack-tag"],
)
def test_production_ha_vault_without_snapshots_is_refused(kwargs: dict[str, Any]) -> None:
    message = only(stack_violations([ha_release()], **kwargs))
    assert "Release 'store-chart'" in message and "operator raft snapshot save" in message
    other_job = snapshot_job("vault status")
    assert stack_violations([ha_release(), other_job], **kwargs)


def test_off_production_or_without_ha_no_snapshot_is_asked_for() -> None:
    assert stack_violations([ha_release()]) == []
    dev = resource(
        RELEASE, {"chart": "vault", "values": {"server": {"dev": {"enabled": True}}}}, "v"
    )
    assert stack_violations([dev], **PRODUCTION) == []


def test_an_unknown_job_script_is_undecided() -> None:
    with pytest.raises(UnknownValueError):
        stack_violations([ha_release(), snapshot_job(UNKNOWN_STRING_VALUE)], **PRODUCTION)
