"""Each committed stack file runs the program under mocks; bad config registers nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import (
    AZURE_DEV,
    ROOT,
    VAULT_HA_PRODUCTION,
    VAULT_HA_PRODUCTION_SECRETS,
    Mocks,
    StackRun,
    run_stack,
    stack_config,
    with_imports,
)

from components.settings import SettingsError

LICENSE = {"aidbox-secrets:aidboxLicense": "test-license"}
STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))


def run_file(path: Path, extra: dict | None = None, secret_keys: tuple[str, ...] = ()) -> StackRun:
    stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    # As scripts/import-images.sh leaves a stack with its own registry (registry.imported).
    config = with_imports({**stack_config(path), **(extra or {})}, stack)
    return run_stack(config, secret_keys=secret_keys, stack=stack)


def _secure_values(value: object) -> bool:
    if isinstance(value, dict):
        return "secure" in value or any(_secure_values(v) for v in value.values())
    if isinstance(value, list):
        return any(_secure_values(v) for v in value)
    return False


def test_committed_stack_files_hold_no_secure_values() -> None:
    assert {p.name for p in STACK_FILES} >= {"Pulumi.dev.yaml", "Pulumi.dev-vault.yaml"}
    for path in STACK_FILES:
        assert not _secure_values(stack_config(path)), path.name


def test_dev_stack_is_azure_key_vault() -> None:
    run = run_file(ROOT / "Pulumi.dev.yaml")
    assert run.output("secretStore") == "azure"
    assert run.output("secrets") == {"client-secret": "/run/azure-secrets/client-secret"}
    spec = run.spc().props["spec"]
    assert spec["provider"] == "azure"
    vault = run.one("azure-native:keyvault:Vault")
    assert "enablePurgeProtection" not in vault.props["properties"]
    assert vault.props["tags"]["environment"] == "non-production"


def test_dev_vault_stack_is_hashicorp_vault_in_dev_mode() -> None:
    run = run_file(ROOT / "Pulumi.dev-vault.yaml")
    assert run.output("secretStore") == "vault" and run.output("vaultMode") == "dev"
    assert run.output("secrets") == {"client-secret": "/run/vault-secrets/client-secret"}
    assert run.named("store-chart").props["values"]["server"]["dev"]["enabled"] is True


def test_prod_stack_refuses_to_run_without_a_license() -> None:
    with pytest.raises(SettingsError, match="aidboxLicense"):
        run_file(ROOT / "Pulumi.prod.yaml")


def test_prod_stack_protects_state_and_keeps_aidbox_available() -> None:
    run = run_file(ROOT / "Pulumi.prod.yaml", LICENSE, ("aidbox-secrets:aidboxLicense",))
    for name in ("store-kv-vault", "aks-cluster", "postgres-server-server"):
        resource = run.named(name)
        assert resource.opts is not None and resource.opts.protect is True, name
    vault = run.one("azure-native:keyvault:Vault").props
    assert vault["properties"]["enablePurgeProtection"] is True
    assert vault["tags"]["environment"] == "production"
    deployment = run.k8s("apps/v1:Deployment", "aidbox").props
    assert deployment["spec"]["replicas"] >= 2
    pdb = run.k8s("policy/v1:PodDisruptionBudget", "aidbox").props["spec"]
    assert pdb["maxUnavailable"] == 1
    assert pdb["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels["aidbox-secrets/environment"] == "production"


def test_dev_stacks_are_not_protected() -> None:
    run = run_file(ROOT / "Pulumi.dev.yaml")
    assert run.named("aks-cluster").opts.protect is False
    assert not run.of_type("kubernetes:policy/v1:PodDisruptionBudget")


@pytest.mark.parametrize(
    "config",
    [
        {**AZURE_DEV, "secretStore": "aws"},
        {**AZURE_DEV, "secrets": {}},
        {**AZURE_DEV, "secrets": {"client-secret": {"scope": "Client/"}}},
        {**AZURE_DEV, "rotationPollInterval": "soon"},
        {**AZURE_DEV, "keyVault": {"name": "kv--x"}},
        {
            **AZURE_DEV,
            "secretStore": "vault",
            "vault": {"mode": "ha"},
            "cluster": {"userPool": {"minCount": 1, "maxCount": 2}},
        },
    ],
    ids=["store", "secrets", "scope", "interval", "vault-name", "vault-ha-replicas"],
)
def test_bad_config_fails_before_any_resource_is_registered(config: dict) -> None:
    mocks = Mocks()
    with pytest.raises(SettingsError):
        run_stack(config, mocks=mocks)
    assert mocks.resources == []


def test_an_in_cluster_database_on_production_is_protected_too() -> None:
    # A production stack with the in-cluster database (a shared run).
    assert VAULT_HA_PRODUCTION["production"] is True
    assert VAULT_HA_PRODUCTION["postgres"] == {"mode": "inCluster"}
    run = run_stack(VAULT_HA_PRODUCTION, secret_keys=VAULT_HA_PRODUCTION_SECRETS, stack="prod")
    statefulset = run.named("postgres-statefulset")
    assert statefulset.opts is not None and statefulset.opts.protect is True
    assert not run.of_type("azure-native:dbforpostgresql:Server")


def test_the_default_aidbox_image_is_a_release_upstream_names() -> None:
    """The default is the monthly tag Health Samurai's own chart runs Aidbox with
    (HealthSamurai/helm-charts payerbox/values.yaml: `tag: "2605"`), a release that reads
    BOX_VAULT_CONFIG (2602 or later: HealthSamurai/documentation docs/configuration/
    secret-files.md); production pins one build of that release (YYMM.N) in its stack file."""
    from components.settings.aidbox import DEFAULT_AIDBOX_IMAGE, FIXED_TAG, MONTHLY_TAG, image_tag

    tag = image_tag(DEFAULT_AIDBOX_IMAGE)
    assert tag is not None and MONTHLY_TAG.match(tag) and int(tag) >= 2602, tag
    prod_image = stack_config(ROOT / "Pulumi.prod.yaml")["aidbox-secrets:aidbox"]["image"]
    prod_tag = image_tag(prod_image)
    assert prod_tag is not None and FIXED_TAG.match(prod_tag), prod_image
    assert prod_tag.split(".")[0] == tag, (prod_image, DEFAULT_AIDBOX_IMAGE)
    # docs/aidbox.md ("Image") names the LTS lines the versioning page lists, and no page calls
    # a 2605 build LTS.
    aidbox = " ".join((ROOT / "docs" / "aidbox.md").read_text().split())
    assert "lists 2512 and 2507 as the current LTS lines" in aidbox
    for page in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))):
        text = " ".join(page.read_text().split())
        for claim in ("long-term-support line", "2605 LTS", "2605 is the only LTS line"):
            assert claim not in text, (page.name, claim)
