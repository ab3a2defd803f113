"""Settings parsing: defaults, and a clear error for every bad input."""

from __future__ import annotations

from typing import Any

import pytest

from components.settings import Scope, SettingsError, parse_settings

SECRETS = {"client-secret": {"scope": "Client/basic"}}
VAULT_DEV = {"mode": "dev"}
HA = {"mode": "ha"}
THREE_NODES = {"userPool": {"minCount": 3, "maxCount": 3}}
SP_CLIENT = "11111111-2222-3333-4444-555555555555"
SP_OBJECT = "66666666-7777-8888-9999-000000000000"


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
    assert s.aidbox.image.endswith(":2605")
    assert s.azure is not None and s.azure.key_vault.purge_protection is True
    # Derived when the program runs, from the subscription (tests/test_azure_names.py).
    assert s.azure.key_vault.name is None
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
    assert v.policy_path is None  # each reader's policy names its own entries
    assert not v.seed_key_bundle_from_entries
    assert v.secret_api_path == "secret/data/aidbox/client"
    assert v.entry_api_path("client-secret") == "secret/data/aidbox/client/client-secret"
    assert not v.seed_from_combined_entry


def test_scope_without_id_and_other_types() -> None:
    s = parse(azure(secrets={"a": {"scope": "Client"}, "b": {"scope": "TokenIntrospector/ti"}}))
    user = [x.scope for x in s.secrets if not x.managed]
    assert user == [Scope("Client"), Scope("TokenIntrospector", "ti")]


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
        ["rotationPollInterval", "'30'", "a Go duration such as 30s"],
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
    "rotation interval in non-ASCII digits": (
        azure(rotationPollInterval="\u0663\u0660s"),
        ["rotationPollInterval", "'\u0663\u0660s'", "a Go duration such as 30s"],
    ),
    "replicas in non-ASCII digits": (
        azure(aidbox={"replicas": "²"}),
        ["aidbox.replicas", "'²'", "a whole number from 1 to 20"],
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
    "node count moved to the pools": (
        azure(cluster={"nodeCount": 0}),
        ["cluster.nodeCount", "0", "cluster.userPool.minCount"],
    ),
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
    "vault deployer source ranges (removed)": (
        vault(vault={"mode": "dev", "deployerSourceRanges": ["203.0.113.7/32"]}),
        ["vault.deployerSourceRanges", "removed", "service proxy", "pulumi config rm"],
    ),
    "vault dev mode with external address": (
        vault(vault={**VAULT_DEV, "address": "https://vault.example:8200"}),
        ["vault.address", "only for vault.mode external"],
    ),
    "vault unknown mode": (
        vault(vault={"mode": "prod"}),
        ["vault.mode", "'prod'", "['dev', 'ha', 'external']"],
    ),
    "vault dev mode with replicas": (
        vault(vault={**VAULT_DEV, "replicas": 3}),
        ["vault.replicas", "only for vault.mode ha", "uses dev"],
    ),
    "vault ha with an external address": (
        vault(vault={**HA, "address": "https://vault.example:8200"}, cluster=THREE_NODES),
        ["vault.address", "only for vault.mode external", "uses ha"],
    ),
    "vault ha with a CA file (the program makes its CA)": (
        vault(vault={**HA, "caCertFile": "/tmp/ca.pem"}, cluster=THREE_NODES),
        ["vault.caCertFile", "only for vault.mode external"],
    ),
    "vault ha with more replicas than nodes": (
        vault(vault=HA, cluster={"userPool": {"minCount": 1, "maxCount": 2}}),
        ["vault.replicas", "3", "at most cluster.userPool.maxCount (2)", "node of its own"],
    ),
    "vault ha with zero replicas": (
        vault(vault={**HA, "replicas": 0}, cluster=THREE_NODES),
        ["vault.replicas", "0", "from 1 to 9"],
    ),
    "vault external with replicas": (
        vault(vault={"mode": "external", "address": "https://v:8200", "replicas": 3}),
        ["vault.replicas", "only for vault.mode ha"],
    ),
    "vault external without address": (
        vault(vault={"mode": "external"}),
        ["vault.address", "None", "external mode needs the Vault URL"],
    ),
    "vault external with bad address": (
        vault(vault={"mode": "external", "address": "vault.example"}),
        ["vault.address", "'vault.example'", "a URL such as https://vault.example:8200"],
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
        ["vault.policyPath", "covers secret/data/aidbox/client/*"],
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
    "aks add-on with a service principal": (
        azure(azure={"identity": "servicePrincipal"}, csi={"install": "aksAddon"}),
        ["azure.identity", "'servicePrincipal'", "no service-principal mode for the add-on"],
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
        ["aidbox.envFromStore.BOX_LICENSE", "'nope'", "a secret configured in `secrets`"],
    ),
    "env from a program secret": (
        azure(aidbox={"envFromStore": {"BOX_LICENSE": "aidbox-auth-keys"}}),
        ["aidbox.envFromStore.BOX_LICENSE", "'aidbox-auth-keys'", "one of ['client-secret']"],
    ),
    "a secret with neither scope nor mirror that no env reads": (
        azure(secrets={"client-secret": {"scope": "Client/basic"}, "lic": {}}),
        ["secrets.lic.scope", "None", "'<ResourceType>'"],
    ),
    "the database sharing Aidbox's account": (
        azure(postgres={"serviceAccount": "aidbox"}),
        ["postgres.serviceAccount", "'aidbox'", "other than Aidbox's"],
    ),
    "the database on the namespace's default account": (
        azure(postgres={"serviceAccount": "default"}),
        ["postgres.serviceAccount", "'default'", "of the database's own"],
    ),
    "seeding the key bundle in dev mode": (
        vault(vault={"mode": "dev", "seedKeyBundleFromEntries": True}),
        ["vault.seedKeyBundleFromEntries", "only for vault.mode ha or external"],
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
        ["vault.mode", "'dev'", "use ha or external"],
    ),
    "production with ha vault on one replica": (
        vault(production=True, aidbox={"replicas": 2}, vault={**HA, "replicas": 1}),
        ["vault.replicas", "1", "at least 3 on production"],
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
            "clientId": SP_CLIENT,
            "clientSecret": "pw",
            "objectId": SP_OBJECT,
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


PROD_CLUSTER = {
    "apiServerAuthorizedRanges": ["203.0.113.0/28"],
    "adminGroupObjectIds": ["0f6b1e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"],
}
# Two pods of one build, reached at an address someone else publishes inside the network.
PROD_AIDBOX = {
    "replicas": 2,
    "image": "healthsamurai/aidboxone:2605.0",
    "internal": {"baseUrl": "https://fhir.example.org"},
}


def test_production_stack_that_follows_the_rules() -> None:
    s = parse(
        azure(production=True, aidbox=PROD_AIDBOX, aidboxLicense="jwt", cluster=PROD_CLUSTER),
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
        aidbox={**PROD_AIDBOX, "envFromStore": {"BOX_LICENSE": "lic"}},
        cluster=PROD_CLUSTER,
    )
    assert parse(raw).aidbox.has_license


# --------------------------------------------------------------------------------------------
# Input read the way users mean it: contradictions, collisions, target-system syntax, and the
# valid forms users rightly write.
# --------------------------------------------------------------------------------------------

DIGEST = "sha256:" + "0123456789abcdef" * 4
EXTERNAL = {"mode": "external", "address": "https://vault.example:8200", "token": "t"}


def synced(name: str, key: str | None = None, scope: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"kubernetesSecret": {"name": name, **({"key": key} if key else {})}}
    return {**entry, **({"scope": scope} if scope else {})}


# (raw config, secret keys, substrings the message must contain: key, value, what is allowed)
BAD_READING: dict[str, tuple[dict[str, Any], tuple[str, ...], list[str]]] = {
    # Values each valid, contradicting each other
    "cpu request above its limit": (
        azure(aidbox={"cpuRequest": "3", "cpuLimit": "2"}),
        (),
        ["aidbox.cpuRequest", "'3'", "at most aidbox.cpuLimit ('2')", "above its limit"],
    ),
    "cpu request above the default limit, as a number": (
        azure(aidbox={"cpuRequest": 4}),
        (),
        ["aidbox.cpuRequest", "'4'", "at most aidbox.cpuLimit ('2')"],
    ),
    "cpu request above its limit in other units": (
        azure(aidbox={"cpuRequest": "1.5", "cpuLimit": "1200m"}),
        (),
        ["aidbox.cpuRequest", "'1.5'", "aidbox.cpuLimit ('1200m')"],
    ),
    "memory request above its limit (G vs Gi)": (
        azure(aidbox={"memoryRequest": "5G", "memoryLimit": "4Gi"}),
        (),
        ["aidbox.memoryRequest", "'5G'", "at most aidbox.memoryLimit ('4Gi')"],
    ),
    "memory request above the default limit": (
        azure(aidbox={"memoryRequest": "8Gi"}),
        (),
        ["aidbox.memoryRequest", "'8Gi'", "aidbox.memoryLimit ('4Gi')"],
    ),
    "vault dev mode with another KV mount (the dev server mounts only secret/)": (
        vault(vault={**VAULT_DEV, "kvMount": "kv"}),
        (),
        ["vault.kvMount", "'kv'", "'secret' in dev mode"],
    ),
    "vault external mode with deployer source ranges": (
        vault(vault={**EXTERNAL, "deployerSourceRanges": ["203.0.113.7/32"]}),
        ("vault",),
        ["vault.deployerSourceRanges", "(secret)", "removed"],
    ),
    # Names colliding with what Kubernetes reserves or the program creates
    **{
        f"aidbox in {ns}": (azure(namespace=ns), (), ["namespace", f"'{ns}'", "Kubernetes owns"])
        for ns in ("kube-system", "kube-public", "kube-node-lease", "kube-aidbox")
    },
    **{
        f"vault chart in {ns}": (
            vault(vault={**VAULT_DEV, "helmNamespace": ns}),
            (),
            ["vault.helmNamespace", f"'{ns}'", "Kubernetes owns"],
        )
        for ns in ("kube-system", "kube-public", "kube-node-lease", "kube-vault")
    },
    "aidbox in the vault chart's namespace": (
        vault(namespace="vault"),
        (),
        ["vault.helmNamespace", "'vault'", "not Aidbox's namespace ('vault')"],
    ),
    "vault chart in aidbox's namespace": (
        vault(namespace="apps", vault={**VAULT_DEV, "helmNamespace": "apps"}),
        (),
        ["vault.helmNamespace", "'apps'", "a namespace of Vault's own"],
    ),
    **{
        f"synced secret named {name} (the program's own)": (
            azure(secrets={**SECRETS, "x": synced(name)}),
            (),
            ["secrets.x.kubernetesSecret.name", f"'{name}'", "the program does not use itself"],
        )
        for name in ("aidbox", "aidbox-db", "secrets-store-creds")
    },
    "aidbox on the namespace's default service account": (
        azure(aidbox={"serviceAccount": "default"}),
        (),
        ["aidbox.serviceAccount", "'default'", "the namespace's own account"],
    ),
    **{
        f"vault policy named {name} (Vault's own)": (
            vault(vault={**VAULT_DEV, "policyName": name}),
            (),
            ["vault.policyName", f"'{name}'", "not 'root' or 'default'"],
        )
        for name in ("root", "default")
    },
    **{
        f"vault KV mount {mount} (Vault's own)": (
            vault(vault={**EXTERNAL, "kvMount": mount}),
            ("vault",),
            ["vault.kvMount", "(secret)", "not ['sys', 'auth', 'cubbyhole', 'identity']"],
        )
        for mount in ("sys", "auth", "cubbyhole", "identity")
    },
    **{
        f"vault address {address!r}": (
            vault(vault={**EXTERNAL, "address": address}),
            ("vault",),
            ["vault.address", "(secret)", "external mode needs the Vault URL: a URL"],
        )
        for address in (
            "vault.example:8200",
            "ftp://vault.example",
            "https://",
            "https://vault.example:99999",
            "https://vault.example:port",
            "https://user:pw@vault.example",
            "https://vault.example/?token=x",
            "https://vault.example/#x",
            "https://vault example",
        )
    },
    **{
        f"service principal {key} not a GUID": (
            azure(
                azure={
                    "identity": "servicePrincipal",
                    "clientId": SP_CLIENT,
                    "clientSecret": "pw",
                    "objectId": SP_OBJECT,
                    key: "my-app",
                }
            ),
            ("azure",),
            [f"azure.{key}", "(secret)", "a GUID such as"],
        )
        for key in ("clientId", "objectId")
    },
    **{
        f"vault {key} {path!r}": (
            vault(vault={**VAULT_DEV, key: path}),
            (),
            [f"vault.{key}", repr(path), "joined by '/' (no '.' or '..')"],
        )
        for key in ("secretPath", "authMountPath")
        for path in ("aidbox/../x", "/aidbox", "aidbox/", "a b", "a//b", "..", "a*")
    },
    "vault KV mount nested under sys/": (
        vault(vault={**EXTERNAL, "kvMount": "sys/kv"}),
        ("vault",),
        ["vault.kvMount", "(secret)", "a path Vault does not reserve"],
    ),
    "vault CA file with a plain-http address": (
        vault(vault={**EXTERNAL, "address": "http://vault.example:8200", "caCertFile": "ca.pem"}),
        ("vault",),
        ["vault.caCertFile", "(secret)", "only with an https:// vault.address"],
    ),
    "vault auth mount token (Vault's own)": (
        vault(vault={**VAULT_DEV, "authMountPath": "token"}),
        (),
        ["vault.authMountPath", "'token'", "not ['token']"],
    ),
    # Syntax the target system enforces
    **{
        f"synced secret key {key!r}": (
            azure(secrets={**SECRETS, "x": synced("aidbox-env", key)}),
            (),
            ["secrets.x.kubernetesSecret.key", repr(key), "1-253 of letters, digits, '-'"],
        )
        for key in ("a/b", "a b", "..", ".", "..a", "k" * 254, "ключ")
    },
    **{
        f"synced secret name {name!r}": (
            azure(secrets={**SECRETS, "x": synced(name)}),
            (),
            ["secrets.x.kubernetesSecret.name", repr(name), "DNS-1123 subdomain"],
        )
        for name in ("Aidbox_Env", "-env", "env-", "a..b", "a" * 254)
    },
    **{
        f"image {ref!r}": (
            azure(aidbox={"image": ref}),
            (),
            ["aidbox.image", repr(ref), "[registry[:port]/]repository[:tag][@sha256:<64 hex>]"],
        )
        for ref in (
            "healthsamurai/aidboxone:",  # empty tag
            "healthsamurai/aidboxone@sha256:abc123",  # truncated digest
            "healthsamurai/aidboxone@sha256:" + "0" * 65,  # digest too long
            "healthsamurai/aidboxone@sha256:" + "G" * 64,  # not hex
            "healthsamurai/aidboxone@md5:" + "0" * 32,  # not sha256
            "healthsamurai/aidboxone:2602@",  # empty digest
            "HealthSamurai/aidboxone:2602",  # upper-case repository
            "healthsamurai/aidboxone:-2602",  # tag starting with '-'
            "healthsamurai/aidboxone:.2602",  # tag starting with '.'
            "healthsamurai/aidboxone:26 02",
            "healthsamurai/aidboxone:" + "1" * 129,  # tag too long
            "healthsamurai//aidboxone:2602",  # empty path component
            "healthsamurai/aidboxone-:2602",  # separator at the end
            "https://registry.example/aidbox:1",  # a URL, not a reference
            ":2602",
            "@" + DIGEST,
            "registry.example:port/aidbox:1",  # port not a number
            "healthsamurai/aidboxone:2602:1",
            "postgres:latest",
            "postgres",  # no tag: unpinned
            "postgres:stable",
            "healthsamurai/aidboxone:тег",  # tags are ASCII
        )
    },
    "postgres image with an empty tag": (
        azure(postgres={"image": "postgres:"}),
        (),
        ["postgres.image", "'postgres:'", "pin a tag"],
    ),
    **{
        f"vault {key} {name!r}": (
            vault(vault={**VAULT_DEV, key: name}),
            (),
            [f"vault.{key}", repr(name), f"a Vault {kind} name"],
        )
        for key, kind in (("policyName", "policy"), ("roleName", "role"))
        for name in ("-aidbox", "aidbox-", "a b", "a/b", "aidbox*")
    },
    "vault policy name in upper case (Vault lower-cases policy names)": (
        vault(vault={**VAULT_DEV, "policyName": "Aidbox"}),
        (),
        ["vault.policyName", "'Aidbox'", "lower-case letters"],
    ),
    "vault helm namespace not DNS-1123": (
        vault(vault={**VAULT_DEV, "helmNamespace": "Vault"}),
        (),
        ["vault.helmNamespace", "'Vault'", "DNS-1123 label"],
    ),
    # Two secrets aimed at one FHIR resource
    **{
        f"rotation interval {text!r}": (
            azure(rotationPollInterval=text),
            (),
            ["rotationPollInterval", repr(text), "a Go duration such as 30s"],
        )
        for text in ("1.5", "1mm", "h", "10 s", "1d", "5ms", "0", "-30s", "+45s", "24h1ns")
    },
    "two secrets for Client/basic": (
        azure(secrets={"a": {"scope": "Client/basic"}, "b": {"scope": "Client/basic"}}),
        (),
        ["secrets.b.scope", "'Client/basic'", "already the scope of secrets.a", "one secret"],
    ),
    # Quantities Kubernetes refuses, or that mean nothing here
    **{
        f"cpu {value!r}": (
            azure(aidbox={"cpuRequest": value, "cpuLimit": "1e3"}),
            (),
            ["aidbox.cpuRequest", repr(value), "a CPU quantity of at least 1m"],
        )
        for value in (
            "0",
            "-1",
            "0m",
            "0.0001",
            "abc",
            "٤",  # digits are ASCII
            "1.2.3",
            "1 cpu",
            "2 ",
            "1Gb",
            "1e",
            True,
            0,
        )
    },
    **{
        f"memory {value!r}": (
            azure(aidbox={"memoryRequest": value, "memoryLimit": "1Ei"}),
            (),
            ["aidbox.memoryRequest", repr(value), "a byte quantity of at least 1Mi"],
        )
        for value in ("512m", "4000000000m", "0Gi", "-1Gi", "2GB", "2gi", "1Ki", 1000, "", "4 Gi")
    },
    "storage size not a quantity": (
        azure(postgres={"storageSize": "20GB"}),
        (),
        ["postgres.storageSize", "'20GB'", "a byte quantity"],
    ),
}


@pytest.mark.parametrize("raw,secret_keys,expected", BAD_READING.values(), ids=BAD_READING.keys())
def test_input_the_target_would_refuse_is_refused_here(
    raw: dict, secret_keys: tuple[str, ...], expected: list[str]
) -> None:
    with pytest.raises(SettingsError) as error:
        parse(raw, secret_keys)
    message = str(error.value)
    assert message.startswith(("aidbox-secrets:", "azure-native:"))
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


@pytest.mark.parametrize("location", ["west-europe", "West/Europe", "", "  ", "1westeurope", None])
def test_location_azure_would_refuse_is_refused(location: str | None) -> None:
    with pytest.raises(SettingsError) as error:
        parse(azure(), location=location)
    message = str(error.value)
    for part in ("azure-native:location", repr(location), "an Azure region such as westeurope"):
        assert part in message, f"{part!r} not in {message!r}"


# (raw config, secret keys, where the value lands in Settings, what it must be there)
GOOD_READING: dict[str, tuple[dict[str, Any], tuple[str, ...], str, Any]] = {
    **{
        f"cpu {value!r}": (
            azure(aidbox={"cpuRequest": value, "cpuLimit": value}),
            (),
            "aidbox.cpu_request",
            expected,
        )
        for value, expected in (
            (4, "4"),  # `pulumi config set --path aidbox.cpuRequest 4` stores a number
            (0.5, "0.5"),
            ("1.5", "1.5"),
            ("100m", "100m"),
            ("1e3", "1e3"),
            ("+2", "+2"),
            (".5", ".5"),
            ("2.", "2."),
            ("1k", "1k"),
        )
    },
    **{
        f"memory {value!r}": (
            azure(aidbox={"memoryRequest": value, "memoryLimit": value}),
            (),
            "aidbox.memory_request",
            expected,
        )
        for value, expected in (
            ("4G", "4G"),
            ("500M", "500M"),
            ("1.5Gi", "1.5Gi"),
            ("2000000k", "2000000k"),
            ("2e9", "2e9"),
            ("1E", "1E"),  # one exabyte: odd, but a quantity Kubernetes accepts
            (4294967296, "4294967296"),
        )
    },
    "storage as a number of bytes": (
        azure(postgres={"storageSize": 21474836480}),
        (),
        "postgres.storage_size",
        "21474836480",
    ),
    "storage in decimal units": (
        azure(postgres={"storageSize": "100G"}),
        (),
        "postgres.storage_size",
        "100G",
    ),
    "request equal to its limit": (
        azure(aidbox={"cpuRequest": "2", "cpuLimit": "2000m"}),
        (),
        "aidbox.cpu_limit",
        "2000m",
    ),
    "replicas as a number and as digits": (
        azure(aidbox={"replicas": "3"}),
        (),
        "aidbox.replicas",
        3,
    ),
    **{
        f"image {ref!r}": (azure(aidbox={"image": ref}), (), "aidbox.image", ref)
        for ref in (
            "healthsamurai/aidboxone:2602",
            "healthsamurai/aidboxone@" + DIGEST,
            "healthsamurai/aidboxone:2602@" + DIGEST,  # tag and digest: the digest pins
            "healthsamurai/aidboxone:latest@" + DIGEST,
            "myregistry.azurecr.io/health/aidbox:2602",
            "registry.example:5000/aidbox:2602.1-rc_1",
            "localhost:5000/aidbox:1",
            "localhost/aidbox:1",
            "registry:5000/aidbox:1",
            "[2001:db8::1]:5000/aidbox:1",
            "docker.io/library/postgres:17.6",
            "a/b__c/d-e.f:T_" + "x" * 126,
        )
    },
    **{
        f"vault {key} {name!r}": (vault(vault={**VAULT_DEV, key: name}), (), f"vault.{attr}", name)
        for key, attr, name in (
            ("policyName", "policy_name", "aidbox_read"),
            ("policyName", "policy_name", "aidbox.read-only_1"),
            ("roleName", "role_name", "aidbox_role"),
            ("roleName", "role_name", "Aidbox_Role.1"),
            ("roleName", "role_name", "_r"),
        )
    },
    **{
        f"vault address {address!r}": (
            vault(vault={**EXTERNAL, "address": address}),
            ("vault",),
            "vault.address",
            address,
        )
        for address in (
            "https://vault.example:8200",
            "https://vault.example",
            "http://10.0.0.5:8200/",
            "https://gateway.example/vault",  # a path prefix: Vault's client keeps it
            "https://[2001:db8::5]:8200",
        )
    },
    "vault nested auth mount (one per cluster)": (
        vault(vault={**VAULT_DEV, "authMountPath": "kubernetes/aks-prod"}),
        (),
        "vault.auth_mount_path",
        "kubernetes/aks-prod",
    ),
    "vault secret path with dots": (
        vault(vault={**VAULT_DEV, "secretPath": "aidbox/client.v2"}),
        (),
        "vault.secret_api_path",
        "secret/data/aidbox/client.v2",
    ),
    "vault external with a nested KV mount": (
        vault(vault={**EXTERNAL, "kvMount": "team/kv"}),
        ("vault",),
        "vault.secret_api_path",
        "team/kv/data/aidbox/client",
    ),
    "vault external with an older stack's policy path": (
        vault(vault={**EXTERNAL, "kvMount": "team/kv", "policyPath": "team/kv/data/aidbox/*"}),
        ("vault",),
        "vault.policy_path",
        "team/kv/data/aidbox/*",
    ),
    "vault: the key bundle seeded from an older stack's three entries": (
        vault(vault={**EXTERNAL, "seedKeyBundleFromEntries": True}),
        ("vault",),
        "vault.seed_key_bundle_from_entries",
        True,
    ),
    "a postgres service account of its own": (
        azure(postgres={"serviceAccount": "fhir-db"}),
        (),
        "postgres.service_account",
        "fhir-db",
    ),
    "an env-only secret with neither scope nor mirror": (
        azure(
            secrets={"client-secret": {"scope": "Client/basic"}, "lic": {}},
            aidbox={"envFromStore": {"BOX_LICENSE": "lic"}},
        ),
        (),
        "aidbox.env_from_store",
        (("BOX_LICENSE", "lic"),),
    ),
    **{
        f"rotation interval {text!r}": (
            azure(rotationPollInterval=text),
            (),
            "csi.rotation_poll_interval",
            text,
        )
        for text in ("1.5m", "90s", "2m30s", "1h30m", "10000ms", "0.5h", "24h")
    },
    "vault external with another KV mount": (
        vault(vault={**EXTERNAL, "kvMount": "kv"}),
        ("vault",),
        "vault.secret_api_path",
        "kv/data/aidbox/client",
    ),
    "a type-wide Client scope beside Client/basic": (
        azure(secrets={"a": {"scope": "Client"}, "b": {"scope": "Client/basic"}}),
        (),
        "secrets",
        None,
    ),
    "two type-wide Client scopes": (
        azure(secrets={"a": {"scope": "Client"}, "b": {"scope": "Client"}}),
        (),
        "secrets",
        None,
    ),
    "two secrets for one IdentityProvider (it has more than one secret field)": (
        azure(
            secrets={"a": {"scope": "IdentityProvider/idp"}, "b": {"scope": "IdentityProvider/idp"}}
        ),
        (),
        "secrets",
        None,
    ),
    "two Clients": (
        azure(secrets={"a": {"scope": "Client/one"}, "b": {"scope": "Client/two"}}),
        (),
        "secrets",
        None,
    ),
    "synced secret with a dotted name and key": (
        azure(secrets={**SECRETS, "x": synced("aidbox.env", "tls.crt")}),
        (),
        "secrets",
        None,
    ),
    "synced secret key in upper case": (
        azure(secrets={**SECRETS, "x": synced("aidbox-env", "BOX_LICENSE")}),
        (),
        "secrets",
        None,
    ),
    "aidbox and vault each in their own namespace": (
        vault(namespace="aidbox", vault={**VAULT_DEV, "helmNamespace": "vault-system"}),
        (),
        "vault.helm_namespace",
        "vault-system",
    ),
    "a dotted service account name": (
        azure(aidbox={"serviceAccount": "aidbox.api"}),
        (),
        "aidbox.service_account",
        "aidbox.api",
    ),
}


def attribute(settings: Any, path: str) -> Any:
    for part in path.split("."):
        settings = getattr(settings, part)
    return settings


@pytest.mark.parametrize(
    "raw,secret_keys,where,expected", GOOD_READING.values(), ids=GOOD_READING.keys()
)
def test_input_users_rightly_write_is_accepted(
    raw: dict, secret_keys: tuple[str, ...], where: str, expected: Any
) -> None:
    value = attribute(parse(raw, secret_keys), where)
    if expected is not None:
        assert value == expected


@pytest.mark.parametrize(
    "location,expected",
    [
        ("westeurope", "westeurope"),
        ("West Europe", "westeurope"),
        ("East US 2", "eastus2"),
        ("  northeurope ", "northeurope"),
        ("SwedenCentral", "swedencentral"),
    ],
)
def test_location_as_azure_accepts_it(location: str, expected: str) -> None:
    assert parse(azure(), location=location).location == expected


def test_two_secrets_for_one_client_would_put_it_twice() -> None:
    """What the refusal protects: the init Bundle creates each Client/<id> once."""
    from components.aidbox import render

    s = parse(azure(secrets={"a": {"scope": "Client"}, "b": {"scope": "Client/basic"}}))
    bundle = render.init_bundle(s.secrets)
    assert bundle is not None
    assert [e["request"]["ifNoneExist"] for e in bundle["entry"]] == ["_id=basic"]


# A secret value under a key Pulumi holds as secret, put where the settings do not expect it.
LEAK = "s3cr3t-do-not-print"
SECRET_MISPLACED: dict[str, tuple[dict[str, Any], tuple[str, ...], str]] = {
    "secret given as the entry (without .value)": (
        azure(secrets={"client-secret": LEAK}),
        ("secrets",),
        "secrets.client-secret",
    ),
    "secrets given as a string": (azure(secrets=LEAK), ("secrets",), "secrets"),
    "value under a misspelt key": (
        azure(secrets={"client-secret": {"scope": "Client/basic", "valeu": LEAK}}),
        ("secrets",),
        "secrets.client-secret.valeu",
    ),
    "value under the scope key": (
        azure(secrets={"client-secret": {"scope": LEAK, "value": "v"}}),
        ("secrets",),
        "secrets.client-secret.scope",
    ),
    "value as the kubernetesSecret": (
        azure(secrets={"client-secret": {"scope": "Client/basic", "kubernetesSecret": LEAK}}),
        ("secrets",),
        "secrets.client-secret.kubernetesSecret",
    ),
    "value as the synced key": (
        azure(secrets={"client-secret": {"value": "v", **synced("env", LEAK + "/")}}),
        ("secrets",),
        "secrets.client-secret.kubernetesSecret.key",
    ),
    "value not a string": (
        azure(secrets={"client-secret": {"scope": "Client/basic", "value": {"v": LEAK}}}),
        ("secrets",),
        "secrets.client-secret.value",
    ),
    "vault token under a misspelt key": (
        vault(vault={**EXTERNAL, "tokne": LEAK}),
        ("vault",),
        "vault.tokne",
    ),
    "client secret under a misspelt key": (
        azure(
            azure={
                "identity": "servicePrincipal",
                "clientId": SP_CLIENT,
                "clientSecret": "pw",
                "objectId": SP_OBJECT,
                "clientSecrett": LEAK,
            }
        ),
        ("azure",),
        "azure.clientSecrett",
    ),
    "license not a string": (azure(aidboxLicense=[LEAK]), ("aidboxLicense",), "aidboxLicense"),
    "license under a misspelt top-level key": (
        azure(aidboxLicence=LEAK),
        ("aidboxLicence",),
        "aidboxLicence",
    ),
    "a secret top-level key of the wrong type": (
        azure(aidbox=LEAK),
        ("aidbox",),
        "aidbox",
    ),
}


@pytest.mark.parametrize(
    "raw,secret_keys,key", SECRET_MISPLACED.values(), ids=SECRET_MISPLACED.keys()
)
def test_errors_under_a_secret_key_never_print_the_value(
    raw: dict, secret_keys: tuple[str, ...], key: str
) -> None:
    with pytest.raises(SettingsError) as error:
        parse(raw, secret_keys)
    message = str(error.value)
    assert f"aidbox-secrets:{key} = (secret) is not valid: " in message, message
    assert LEAK not in message and "s3cr3t" not in message


def test_values_under_plain_keys_are_shown_beside_a_secret_key() -> None:
    """Only keys Pulumi holds as secrets are hidden: keyVault stays readable in servicePrincipal
    mode, where `azure` is secret."""
    sp = {
        "identity": "servicePrincipal",
        "clientId": SP_CLIENT,
        "clientSecret": "p",
        "objectId": SP_OBJECT,
    }
    with pytest.raises(SettingsError) as error:
        parse(azure(azure=sp, keyVault={"name": "kv"}), ("azure",))
    assert "aidbox-secrets:keyVault.name = 'kv' is not valid" in str(error.value)


def test_external_vault_ca_file_must_exist(tmp_path: Any) -> None:
    external = {"mode": "external", "address": "https://vault.example:8200", "token": "t"}
    missing = str(tmp_path / "vault-ca.pem")
    with pytest.raises(SettingsError) as error:
        parse(vault(vault={**external, "caCertFile": missing}), secret_keys=("vault",))
    assert "vault.caCertFile = (secret)" in str(error.value)  # under a --secret key
    assert "a PEM file that exists" in str(error.value)
    (tmp_path / "vault-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    v = parse(vault(vault={**external, "caCertFile": missing}), secret_keys=("vault",)).vault
    assert v is not None and v.ca_cert_file == missing


def test_ha_vault_on_production_needs_zones_and_three_replicas() -> None:
    cluster = {**THREE_NODES, **PROD_CLUSTER}
    raw = vault(production=True, aidbox=PROD_AIDBOX, aidboxLicense="jwt", vault=HA, cluster=cluster)
    no_zones = {**raw, "cluster": {**cluster, "zones": []}}  # what the cluster can do there
    with pytest.raises(SettingsError) as error:
        parse(no_zones, secret_keys=("aidboxLicense",), location="northcentralus")
    message = str(error.value)
    assert message.startswith("azure-native:location = 'northcentralus'")
    assert "availability zones" in message
    s = parse(raw, secret_keys=("aidboxLicense",), location="westeurope")
    assert s.vault is not None and (s.vault.mode, s.vault.replicas) == ("ha", 3)


def test_ha_vault_token_is_optional_until_init() -> None:
    v = parse(vault(vault=HA, cluster=THREE_NODES)).vault
    assert v is not None and v.token is None and v.replicas == 3
    raw = vault(vault={**HA, "token": "t"}, cluster=THREE_NODES)
    v = parse(raw, secret_keys=("vault",)).vault
    assert v is not None and v.token is not None and v.token.value == "t"
