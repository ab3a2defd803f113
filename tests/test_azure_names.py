"""Global Azure names (Key Vaults, the PostgreSQL flexible server) are unique per deployment:
derived from the subscription and resource group, never from Pulumi's organization (always
`organization` on a self-managed backend). A stack whose state holds a name keeps it, and
everything downstream reads the name from the resource, not from a recomputed value."""

from __future__ import annotations

import random
import string
from typing import Any

from harness import (
    AZURE_DEV,
    AZURE_SIZED,
    VAULT_HA_INIT,
    Mocks,
    StackRun,
    run_stack,
)

from components import naming
from components.azure.roles import KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER, KEY_VAULT_SECRETS_USER

P = "aidbox-secrets"
VAULT = "azure-native:keyvault:Vault"
SERVER = "azure-native:dbforpostgresql:Server"
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
SUB_A = "11111111-1111-1111-1111-111111111111"
SUB_B = "22222222-2222-2222-2222-222222222222"
GROUP = "rg-aidbox-secrets-dev"
# The Azure store with a managed database: both global names in one run.
AZURE_FLEXIBLE = {**AZURE_DEV, "postgres": {"mode": "azureFlexible"}}


# --- pure ---------------------------------------------------------------------------------------


def test_deployment_scope_is_the_resource_group_id_in_lower_case() -> None:
    scope = naming.deployment_scope(SUB_A.upper(), "RG-Clinic")
    assert scope == f"/subscriptions/{SUB_A}/resourcegroups/rg-clinic"
    # Azure ids are case-insensitive: one deployment, one scope, however it is spelled.
    assert scope == naming.deployment_scope(SUB_A, "rg-clinic")


def test_derived_names_differ_across_deployments_and_are_stable_within_one() -> None:
    a, b = naming.deployment_scope(SUB_A, GROUP), naming.deployment_scope(SUB_B, GROUP)
    for derive in (naming.key_vault_name, naming.postgres_server_name):
        assert derive(P, "dev", a) != derive(P, "dev", b)
        assert derive(P, "dev", a) == derive(P, "dev", a)
        assert derive(P, "dev", a) != derive(P, "prod", a)
    # The store's vault and an ha Vault's unseal vault share a resource group.
    assert naming.key_vault_name(P, "dev", a) != naming.key_vault_name(P, "dev-unseal", a)


def test_derived_names_are_valid_for_random_inputs() -> None:
    rng = random.Random(11)
    alphabet = string.ascii_letters + string.digits + "-_."
    for _ in range(1000):
        project = "".join(rng.choices(alphabet, k=rng.randint(1, 60)))
        stack = "".join(rng.choices(alphabet, k=rng.randint(1, 60)))
        scope = naming.deployment_scope(SUB_A, naming.resource_group_name(project, stack))
        assert naming.is_valid_key_vault_name(naming.key_vault_name(project, stack, scope))
        server = naming.postgres_server_name(project, stack, scope)
        assert 3 <= len(server) <= 63 and naming.is_valid_k8s_name(server), server


# --- wiring ------------------------------------------------------------------------------------


def _names(run: StackRun) -> dict[str, Any]:
    return {r.name: r.props.get("vaultName") or r.props.get("serverName") for r in _global(run)}


def _global(run: StackRun) -> list:
    return [*run.of_type(VAULT), *run.of_type(SERVER)]


def test_global_names_come_from_the_subscription_and_resource_group() -> None:
    for config in (AZURE_FLEXIBLE, VAULT_HA_INIT):
        a1 = run_stack(config, secret_keys=["vault"], mocks=Mocks(subscription=SUB_A))
        a2 = run_stack(config, secret_keys=["vault"], mocks=Mocks(subscription=SUB_A))
        b = run_stack(config, secret_keys=["vault"], mocks=Mocks(subscription=SUB_B))
        assert _names(a1) == _names(a2)  # stable for one deployment
        assert set(_names(a1)) == set(_names(b))
        for name, value in _names(a1).items():
            assert value != _names(b)[name], f"{name}: {value} in both subscriptions"
    scope = naming.deployment_scope(SUB_A, GROUP)
    run = run_stack(AZURE_FLEXIBLE, mocks=Mocks(subscription=SUB_A))
    assert run.named("store-kv-vault").props["vaultName"] == naming.key_vault_name(P, "dev", scope)
    assert run.one(SERVER).props["serverName"] == naming.postgres_server_name(P, "dev", scope)
    ha = run_stack(VAULT_HA_INIT, secret_keys=["vault"], mocks=Mocks(subscription=SUB_A))
    unseal = ha.named("store-unseal-vault").props["vaultName"]
    assert unseal == naming.key_vault_name(P, "dev-unseal", scope)


def test_a_configured_key_vault_name_wins() -> None:
    run = run_stack(AZURE_SIZED, mocks=Mocks(subscription=SUB_A))
    vault = run.named("store-kv-vault")
    assert vault.props["vaultName"] == AZURE_SIZED["keyVault"]["name"]
    # Renaming it is then a deliberate replacement, not a change to ignore.
    assert not (vault.opts and vault.opts.ignore_changes)


def test_derived_names_are_kept_where_state_already_holds_them() -> None:
    """A name is an identity: with the derivation changed, an existing stack's Key Vault or
    database server would be replaced (lost secrets, lost data). The engine keeps the stored
    input for an ignored property, so such a stack keeps its name and a new one gets the new."""
    run = run_stack(AZURE_FLEXIBLE)
    assert run.named("store-kv-vault").opts.ignore_changes == ["vaultName"]
    assert "serverName" in run.one(SERVER).opts.ignore_changes
    # The server's private DNS zone is named after the server: it keeps its name too (the
    # server's network settings cannot change).
    assert run.named("postgres-server-dns").opts.ignore_changes == ["privateZoneName"]
    ha = run_stack(VAULT_HA_INIT, secret_keys=["vault"])
    assert ha.named("store-unseal-vault").opts.ignore_changes == ["vaultName"]


class StoredNames(Mocks):
    """What the engine hands back for a stack created before this version: the name its state
    holds, whatever the program now derives."""

    def new_resource(self, args: Any) -> tuple[str, dict]:
        rid, out = super().new_resource(args)
        if args.typ == VAULT:
            out = {**out, "name": f"kv-stored-{args.name.split('-')[1]}"}
            out["properties"] = {**out["properties"], "vaultUri": f"https://{out['name']}.vault/"}
            rid = rid.rsplit("/", 1)[0] + "/" + out["name"]
        elif args.typ == SERVER:
            out = {**out, "name": "psql-stored", "fullyQualifiedDomainName": "psql-stored.pg"}
        return rid, out


def test_everything_downstream_reads_the_name_from_the_resource() -> None:
    run = run_stack(AZURE_FLEXIBLE, mocks=StoredNames())
    stored = "kv-stored-kv"
    assert run.output("keyVaultName") == stored
    assert run.output("keyVaultUri") == f"https://{stored}.vault/"
    assert run.spc().props["spec"]["parameters"]["keyvaultName"] == stored
    for secret in run.of_type("azure-native:keyvault:Secret"):
        assert secret.props["vaultName"] == stored
    grant = run.named("store-kv-kubelet").props
    assert grant["scope"].endswith(f"/vaults/{stored}")
    # The assignment's GUID is the one the stack already holds: no re-created grant.
    assert grant["roleAssignmentName"] == naming.role_assignment_name(
        stored, KEY_VAULT_SECRETS_USER, "kubelet"
    )
    endpoint = run.named("store-kv-endpoint").props
    assert endpoint["privateLinkServiceConnections"][0]["privateLinkServiceId"].endswith(stored)
    for name in ("postgres-server-database", "postgres-server-require-tls"):
        assert run.named(name).props["serverName"] == "psql-stored"
    env = run.k8s("apps/v1:Deployment", "aidbox").props["spec"]["template"]["spec"]
    (container,) = [c for c in env["containers"] if c["name"] == "aidbox"]
    assert {"name": "BOX_DB_HOST", "value": "psql-stored.pg"} in container["env"]

    ha = run_stack(VAULT_HA_INIT, secret_keys=["vault"], mocks=StoredNames())
    unseal = "kv-stored-unseal"
    assert ha.output("vaultUnsealKeyVault") == unseal
    assert (
        f'vault_name = "{unseal}"'
        in ha.named("store-chart").props["values"]["server"]["ha"]["raft"]["config"]
    )
    assert ha.named("store-unseal-key").props["vaultName"] == unseal
    assert ha.named("store-unseal-grant").props["roleAssignmentName"] == (
        naming.role_assignment_name(
            unseal, KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER, "vault-unseal"
        )
    )
