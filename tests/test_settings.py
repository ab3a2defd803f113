"""Settings parsing: defaults, and a clear error for every bad input."""

from __future__ import annotations

from typing import Any

import pytest

from components.settings import Scope, SettingsError, parse_settings

SECRETS = {"client-secret": {"scope": "Client/basic"}}
VAULT_DEV = {"mode": "dev", "deployerSourceRanges": ["203.0.113.7/32"]}


def parse(raw: dict[str, Any], secret_keys: tuple[str, ...] = (), **kwargs: Any):
    return parse_settings(
        raw, project="aidbox-secrets", stack="dev", secret_keys=frozenset(secret_keys), **kwargs
    )


def azure(**extra: Any) -> dict[str, Any]:
    return {"secretStore": "azure", "secrets": SECRETS, **extra}


def vault(**extra: Any) -> dict[str, Any]:
    return {"secretStore": "vault", "secrets": SECRETS, "vault": VAULT_DEV, **extra}


def test_azure_defaults() -> None:
    s = parse(azure())
    assert s.secret_store == "azure" and s.vault is None
    assert s.secrets[0].name == "client-secret"
    assert s.secrets[0].scope == Scope("Client", "basic")
    assert s.secrets[0].value is None
    assert s.csi.rotation_poll_interval == "30s"
    assert s.namespace == "default"
    assert s.aidbox.image.endswith(":2602")
    assert s.azure is not None and s.azure.key_vault.purge_protection is True
    assert s.azure.key_vault.name.startswith("kv-aidbox")
    assert s.azure.identity == "kubelet"


def test_vault_defaults() -> None:
    s = parse(vault())
    assert s.azure is None and s.vault is not None
    v = s.vault
    assert (v.auth_mount_path, v.kv_mount, v.secret_path) == (
        "kubernetes",
        "secret",
        "aidbox/client",
    )
    assert (v.policy_name, v.role_name, v.bound_service_account) == ("aidbox", "aidbox", "aidbox")
    assert v.policy_path == "secret/data/aidbox/*"
    assert v.secret_api_path == "secret/data/aidbox/client"


def test_scope_without_id_and_other_types() -> None:
    s = parse(azure(secrets={"a": {"scope": "Client"}, "b": {"scope": "TokenIntrospector/ti"}}))
    assert [x.scope for x in s.secrets] == [Scope("Client"), Scope("TokenIntrospector", "ti")]


def test_secret_value_must_be_a_secret_config_value() -> None:
    raw = azure(secrets={"client-secret": {"scope": "Client/basic", "value": "s3cr3t"}})
    with pytest.raises(SettingsError, match=r"secrets\.client-secret\.value is stored in plain"):
        parse(raw)
    s = parse(raw, secret_keys=("secrets",))
    assert s.secrets[0].value is not None and s.secrets[0].value.value == "s3cr3t"
    assert "s3cr3t" not in repr(s)


def test_license_must_be_secret_and_is_never_shown() -> None:
    with pytest.raises(SettingsError, match="aidboxLicense is stored in plain text"):
        parse(azure(aidboxLicense="jwt"))
    s = parse(azure(aidboxLicense="jwt"), secret_keys=("aidboxLicense",))
    assert s.aidbox.license is not None and "jwt" not in repr(s)


def test_location_is_required() -> None:
    with pytest.raises(SettingsError, match=r"azure-native:location = None"):
        parse(azure(), location=None)


# (raw config, substrings the message must contain: the key, the bad value, what is allowed)
BAD_INPUT = {
    "unknown store": (
        azure(secretStore="aws"),
        ["secretStore", "'aws'", "['azure', 'vault']"],
    ),
    "missing store": ({"secrets": SECRETS}, ["secretStore", "required"]),
    "scope with empty id": (
        azure(secrets={"x": {"scope": "Client/"}}),
        ["secrets.x.scope", "'Client/'", "'<ResourceType>/<id>'"],
    ),
    "scope with empty type": (
        azure(secrets={"x": {"scope": "/basic"}}),
        ["secrets.x.scope", "'/basic'", "ResourceType one of"],
    ),
    "scope with two ids": (
        azure(secrets={"x": {"scope": "Client/a/b"}}),
        ["secrets.x.scope", "'Client/a/b'"],
    ),
    "empty scope": (azure(secrets={"x": {"scope": ""}}), ["secrets.x.scope", "''"]),
    "missing scope": (azure(secrets={"x": {}}), ["secrets.x.scope", "None"]),
    "scope type Aidbox does not resolve": (
        azure(secrets={"x": {"scope": "Patient/pt-1"}}),
        ["secrets.x.scope", "'Patient/pt-1'", "'IdentityProvider'", "'AidboxTopicDestination'"],
    ),
    "scope id not a FHIR id": (
        azure(secrets={"x": {"scope": "Client/a b"}}),
        ["secrets.x.scope", "'Client/a b'", "FHIR id"],
    ),
    "secret name with underscore (Key Vault)": (
        azure(secrets={"client_secret": {"scope": "Client"}}),
        ["secrets.client_secret", "'client_secret'", "lower-case letters, digits and hyphens"],
    ),
    "secret name with slash (file name, Vault key)": (
        azure(secrets={"a/b": {"scope": "Client"}}),
        ["secrets.a/b", "'a/b'"],
    ),
    "secret name with dots": (azure(secrets={"..": {"scope": "Client"}}), ["secrets..", "'..'"]),
    "secret name upper case": (
        azure(secrets={"Client-Secret": {"scope": "Client"}}),
        ["secrets.Client-Secret", "lower-case"],
    ),
    "secret name too long": (
        azure(secrets={"a" * 128: {"scope": "Client"}}),
        ["1-127 characters"],
    ),
    "empty secrets map": (azure(secrets={}), ["secrets", "{}", "at least one secret"]),
    "no secrets": ({"secretStore": "azure"}, ["secrets", "at least one secret"]),
    "key vault name too short": (
        azure(keyVault={"name": "kv"}),
        ["keyVault.name", "'kv'", "3-24 characters"],
    ),
    "key vault name with double hyphen": (
        azure(keyVault={"name": "kv--aidbox"}),
        ["keyVault.name", "'kv--aidbox'", "no '--'"],
    ),
    "key vault name starting with a digit": (
        azure(keyVault={"name": "1vault"}),
        ["keyVault.name", "'1vault'", "starting with a letter"],
    ),
    "key vault name ending with a hyphen": (
        azure(keyVault={"name": "vault-"}),
        ["keyVault.name", "'vault-'"],
    ),
    "key vault name too long": (azure(keyVault={"name": "a" * 25}), ["keyVault.name"]),
    "rotation interval without unit": (
        azure(rotationPollInterval="30"),
        ["rotationPollInterval", "'30'", "30s, 2m or 1h30m"],
    ),
    "rotation interval zero": (azure(rotationPollInterval="0s"), ["rotationPollInterval", "'0s'"]),
    "rotation interval negative": (
        azure(rotationPollInterval="-1m"),
        ["rotationPollInterval", "'-1m'"],
    ),
    "rotation interval words": (
        azure(rotationPollInterval="often"),
        ["rotationPollInterval", "'often'"],
    ),
    "rotation interval too long": (
        azure(rotationPollInterval="25h"),
        ["rotationPollInterval", "from 10s to 24h"],
    ),
    "unpinned image": (
        azure(aidbox={"image": "healthsamurai/aidboxone:latest"}),
        ["aidbox.image", "latest", "pin a tag"],
    ),
    "image without tag": (
        azure(aidbox={"image": "healthsamurai/aidboxone"}),
        ["aidbox.image", "pin a tag"],
    ),
    "image edge": (azure(aidbox={"image": "healthsamurai/aidboxone:edge"}), ["'edge'"]),
    "unknown top-level key": (azure(secretStor="vault"), ["secretStor", "unknown key"]),
    "unknown nested key": (azure(aidbox={"replica": 2}), ["aidbox.replica", "unknown key"]),
    "bad node count": (azure(cluster={"nodeCount": 0}), ["cluster.nodeCount", "0", "1 to 100"]),
    "old kubernetes": (
        azure(cluster={"kubernetesVersion": "1.29"}),
        ["cluster.kubernetesVersion", "'1.29'", "1.30 or newer"],
    ),
    "kubernetes version as a number": (
        azure(cluster={"kubernetesVersion": 1.3}),
        ["cluster.kubernetesVersion", "1.3", "quote numbers"],
    ),
    "bad namespace": (azure(namespace="Aidbox_NS"), ["namespace", "'Aidbox_NS'", "DNS-1123"]),
    # Settings of one store while the other is selected are rejected, both ways.
    "vault settings with azure store": (
        azure(vault=VAULT_DEV),
        ["vault", "other secret store", "'azure'"],
    ),
    "key vault settings with vault store": (
        vault(keyVault={"name": "kv-aidbox"}),
        ["keyVault", "other secret store", "'vault'"],
    ),
    "azure identity with vault store": (
        vault(azure={"identity": "workload"}),
        ["azure", "other secret store"],
    ),
    # Vault
    "vault dev mode without source ranges": (
        vault(vault={"mode": "dev"}),
        ["vault.deployerSourceRanges", "None", "deployer only"],
    ),
    "vault dev mode open to the internet": (
        vault(vault={"mode": "dev", "deployerSourceRanges": ["0.0.0.0/0"]}),
        ["vault.deployerSourceRanges", "'0.0.0.0/0'", "narrower"],
    ),
    "vault dev mode bad CIDR": (
        vault(vault={"mode": "dev", "deployerSourceRanges": ["my laptop"]}),
        ["vault.deployerSourceRanges", "'my laptop'", "CIDR"],
    ),
    "vault dev mode with external address": (
        vault(vault={**VAULT_DEV, "address": "https://vault.example:8200"}),
        ["vault.address", "only for vault.mode external"],
    ),
    "vault unknown mode": (
        vault(vault={"mode": "prod"}),
        ["vault.mode", "'prod'", "['dev', 'external']"],
    ),
    "vault external without address": (
        vault(vault={"mode": "external"}),
        ["vault.address", "None", "external mode needs the Vault URL"],
    ),
    "vault external with bad address": (
        vault(vault={"mode": "external", "address": "vault.example"}),
        ["vault.address", "'vault.example'", "https://host:8200"],
    ),
    "vault external without token": (
        vault(vault={"mode": "external", "address": "https://vault.example:8200"}),
        ["vault.token", "None", "pulumi config set --secret --path vault.token"],
    ),
    "vault policy over the whole mount": (
        vault(vault={**VAULT_DEV, "policyPath": "secret/*"}),
        ["vault.policyPath", "'secret/*'", "read-only access needs"],
    ),
    "vault policy over every secret": (
        vault(vault={**VAULT_DEV, "policyPath": "secret/data/*"}),
        ["vault.policyPath", "'secret/data/*'", "no whole mount"],
    ),
    "vault policy with a glob segment": (
        vault(vault={**VAULT_DEV, "policyPath": "secret/data/+/client"}),
        ["vault.policyPath", "'secret/data/+/client'"],
    ),
    "vault policy not covering the secret": (
        vault(vault={**VAULT_DEV, "policyPath": "secret/data/other/*"}),
        ["vault.policyPath", "covers secret/data/aidbox/client"],
    ),
    "vault policy grants more than read": (
        vault(vault={**VAULT_DEV, "policyCapabilities": ["read", "update"]}),
        ["vault.policyCapabilities", "['read', 'update']", "only ['read']"],
    ),
    "vault role bound to another service account": (
        vault(vault={**VAULT_DEV, "boundServiceAccount": "default"}),
        ["vault.boundServiceAccount", "'default'", "the Aidbox pod runs as ('aidbox')"],
    ),
    "aks add-on with vault": (
        vault(csi={"install": "aksAddon"}),
        ["csi.install", "'aksAddon'", "only the Azure provider"],
    ),
    # Azure identity modes
    "service principal without credentials": (
        azure(azure={"identity": "servicePrincipal"}),
        ["azure.identity", "'servicePrincipal'", "azure.clientSecret"],
    ),
    "unknown identity": (
        azure(azure={"identity": "pod"}),
        ["azure.identity", "'pod'", "['kubelet', 'workload', 'servicePrincipal']"],
    ),
    "aks add-on with workload identity": (
        azure(azure={"identity": "workload"}, csi={"install": "aksAddon"}),
        ["azure.identity", "'workload'", "add-on's own managed identity"],
    ),
    "synced secret key used twice": (
        azure(
            secrets={
                "a": {"scope": "Client/a", "kubernetesSecret": {"name": "aidbox-env", "key": "k"}},
                "b": {"scope": "Client/b", "kubernetesSecret": {"name": "aidbox-env", "key": "k"}},
            }
        ),
        ["secrets.b.kubernetesSecret", "'aidbox-env/k'", "already used by secrets.a"],
    ),
    "env from an unknown secret": (
        azure(aidbox={"envFromStore": {"BOX_LICENSE": "nope"}}),
        ["aidbox.envFromStore.BOX_LICENSE", "'nope'", "with a kubernetesSecret"],
    ),
    "env from a secret that is not synced": (
        azure(aidbox={"envFromStore": {"BOX_LICENSE": "client-secret"}}),
        ["aidbox.envFromStore.BOX_LICENSE", "'client-secret'", "with a kubernetesSecret"],
    ),
    "env var that cannot come from the store": (
        azure(aidbox={"envFromStore": {"BOX_DB_HOST": "client-secret"}}),
        ["aidbox.envFromStore.BOX_DB_HOST", "'BOX_LICENSE'"],
    ),
    # Production rules
    "production with one replica": (
        azure(production=True),
        ["aidbox.replicas", "1", "at least 2 on production"],
    ),
    "production without purge protection": (
        azure(production=True, aidbox={"replicas": 2}, keyVault={"purgeProtection": False}),
        ["keyVault.purgeProtection", "False", "must stay on for production"],
    ),
    "production with dev vault": (
        vault(production=True, aidbox={"replicas": 2}),
        ["vault.mode", "'dev'", "use external"],
    ),
    "production without license": (
        azure(production=True, aidbox={"replicas": 2}),
        ["aidboxLicense", "required on production"],
    ),
}


@pytest.mark.parametrize("raw,expected", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_is_refused_with_a_clear_message(raw: dict, expected: list[str]) -> None:
    with pytest.raises(SettingsError) as error:
        parse(raw)
    message = str(error.value)
    assert message.startswith(("aidbox-secrets:", "azure-native:"))
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_service_principal_credentials_must_be_secret() -> None:
    raw = azure(
        azure={
            "identity": "servicePrincipal",
            "clientId": "id",
            "clientSecret": "pw",
            "objectId": "o",
        }
    )
    with pytest.raises(SettingsError, match=r"azure\.clientId is stored in plain text"):
        parse(raw)
    s = parse(raw, secret_keys=("azure",))
    assert s.azure is not None and s.azure.identity == "servicePrincipal"
    assert "pw" not in repr(s.azure)


def test_external_vault_token_is_secret() -> None:
    raw = vault(vault={"mode": "external", "address": "https://vault.example:8200", "token": "t"})
    with pytest.raises(SettingsError, match=r"vault\.token is stored in plain text"):
        parse(raw)
    v = parse(raw, secret_keys=("vault",)).vault
    assert v is not None and v.token is not None and v.token.value == "t"


def test_production_stack_that_follows_the_rules() -> None:
    s = parse(
        azure(production=True, aidbox={"replicas": 2}, aidboxLicense="jwt"),
        secret_keys=("aidboxLicense",),
    )
    assert s.production and s.aidbox.replicas == 2


def test_license_from_store_and_config_is_a_contradiction() -> None:
    raw = azure(
        secrets={"lic": {"kubernetesSecret": {"name": "aidbox-store"}}},
        aidbox={"envFromStore": {"BOX_LICENSE": "lic"}},
        aidboxLicense="jwt",
    )
    with pytest.raises(SettingsError, match="keep the license in one place"):
        parse(raw, secret_keys=("aidboxLicense",))
    s = parse({**raw, "aidboxLicense": None})
    assert s.secrets[0].scope is None  # mirrored into a Secret only: no FHIR scope needed
    assert s.aidbox.env_from_store == (("BOX_LICENSE", "lic"),)


def test_production_accepts_a_license_from_the_store() -> None:
    raw = azure(
        production=True,
        secrets={**SECRETS, "lic": {"kubernetesSecret": {"name": "aidbox-store"}}},
        aidbox={"replicas": 2, "envFromStore": {"BOX_LICENSE": "lic"}},
    )
    assert parse(raw).aidbox.has_license
