"""Vault's own configuration through pulumi-vault, once the deployer can reach Vault: the
provider, the audit device and KV mount (ha), the KV entries the readers read (one per secret),
the Kubernetes auth backend, and each reader's read policy and role."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_vault as vault

from ... import key_bundle
from ...kubernetes.vault_snapshot import (
    SNAPSHOT_NAME,
    VAULT_TOKEN_MAX_TTL,
    VAULT_TOKEN_TTL,
    snapshot_policy,
)
from ...passwords import seed_value
from ...settings.managed import AUTH_KEYS, RETIRED_SECRETS, Reader
from ...settings.vault import KV_VALUE_KEY
from ..vault_policy import render_policy, render_read_policy
from .records import KubernetesAuth, Mode, StoreContext


def role_name(ctx: StoreContext, index: int, reader: Reader) -> str:
    """The first reader (Aidbox) has the configured names an existing stack has; the others
    their key after them (`aidbox-database`)."""
    return ctx.vault.role_name if index == 0 else f"{ctx.vault.role_name}-{reader.key}"


def configure(
    ctx: StoreContext, mode: Mode, readers: Sequence[Reader]
) -> dict[str, list[pulumi.Resource]]:
    """Per reader, what its SecretProviderClass waits for: the KV entries and its role."""
    assert mode.deployer is not None
    d, v = mode.deployer, ctx.vault
    provider = vault.Provider(
        f"{ctx.name}-vault",
        address=d.address,
        token=pulumi.Output.secret(d.token),
        namespace=v.namespace,
        ca_cert_file=d.ca_cert_file,
        headers=d.headers,
        skip_child_token=True,
        opts=pulumi.ResourceOptions(parent=ctx.store, depends_on=[mode.release, *d.ready]),
    )
    vault_opts = pulumi.ResourceOptions(parent=ctx.store, provider=provider)
    if v.mode == "ha":
        # Every request and response, secrets HMAC'd, to the pod log. Vault answers 500
        # ("failed to audit request") to requests made while an audit device is being enabled,
        # so everything else waits for it.
        audit = vault.Audit(
            f"{ctx.name}-audit",
            type="file",
            path="stdout",
            options={"file_path": "stdout"},
            opts=vault_opts,
        )
        vault_opts = pulumi.ResourceOptions.merge(
            vault_opts, pulumi.ResourceOptions(depends_on=[audit])
        )
    kv_opts = vault_opts
    if v.mode == "ha":
        # A new Vault has no secrets engine (a dev server mounts KV v2 at `secret`; an external
        # Vault must have it already).
        mount = vault.Mount(
            f"{ctx.name}-kv-mount",
            path=v.kv_mount,
            type="kv",
            options={"version": "2"},
            description="aidbox-secrets: secrets Aidbox reads",
            opts=vault_opts,
        )
        kv_opts = pulumi.ResourceOptions.merge(
            vault_opts, pulumi.ResourceOptions(depends_on=[mount])
        )
    entries = kv_secrets(ctx, provider, kv_opts)
    roles = kubernetes_auth(ctx, mode.auth, readers, vault_opts)
    if v.snapshots is not None and v.snapshots.enabled:
        snapshot_role(ctx, roles[0].backend, vault_opts)
    return {reader.key: [*entries, role] for reader, role in zip(readers, roles, strict=True)}


def snapshot_role(
    ctx: StoreContext, backend: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> vault.kubernetes.AuthBackendRole:
    """The snapshot job's login: its ServiceAccount, Vault's audience, a token that may read
    a Raft snapshot and nothing else, for minutes."""
    policy = vault.Policy(
        f"{ctx.name}-snapshot-policy", name=SNAPSHOT_NAME, policy=snapshot_policy(), opts=opts
    )
    return vault.kubernetes.AuthBackendRole(
        f"{ctx.name}-snapshot-role",
        backend=backend,
        role_name=SNAPSHOT_NAME,
        bound_service_account_names=[SNAPSHOT_NAME],
        bound_service_account_namespaces=[ctx.vault.helm_namespace],
        token_policies=[policy.name],
        token_ttl=VAULT_TOKEN_TTL,
        token_max_ttl=VAULT_TOKEN_MAX_TTL,
        audience=ctx.vault.audience,
        opts=opts,
    )


def kv_secrets(
    ctx: StoreContext, provider: vault.Provider, opts: pulumi.ResourceOptions
) -> list[vault.kv.SecretV2]:
    """One KV v2 entry per secret, `<secretPath>/<name>`, its value under `value`: a secret
    added to the config later gets an entry of its own (one shared entry, seeded once, would
    never receive it, and vault-csi-provider fails the whole mount when a key is missing)."""
    v = ctx.vault
    combined = _combined_entry(ctx, provider) if v.seed_from_combined_entry else None
    entries = []
    for spec in ctx.settings.secrets:
        seed = seed_value(ctx.name, spec, ctx.store, ctx.args.seeds)
        if combined is not None:
            # An older stack's single entry holds the values in use, rotations included.
            seed = pulumi.Output.all(combined, seed).apply(
                lambda pair, name=spec.name: pair[0].get(name, pair[1])
            )
        if spec.name == AUTH_KEYS:
            seed = _key_bundle_seed(ctx, provider, seed, combined)
        data = pulumi.Output.secret(seed).apply(lambda value: json.dumps({KV_VALUE_KEY: value}))
        entry_opts = opts
        if v.mode != "dev":
            # The value seeds the entry once: `vault kv put`/`patch` rotations survive the next
            # `pulumi up` and `refresh` (nothing read back, nothing written again).
            entry_opts = pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(ignore_changes=["dataJson"])
            )
        # A dev Vault forgets everything when its pod restarts: `pulumi up --refresh` must see
        # the entry gone and write the seed again (a rotation is reverted too), so dev reads.
        entries.append(
            vault.kv.SecretV2(
                f"{ctx.name}-kv-{spec.name}",
                mount=v.kv_mount,
                name=v.entry_path(spec.name),
                data_json=pulumi.Output.secret(data),
                disable_read=v.mode != "dev" or None,
                # Removed from the config (or destroyed), no version of it stays behind.
                delete_all_versions=True,
                opts=entry_opts,
            )
        )
    return entries


def _key_bundle_seed(
    ctx: StoreContext,
    provider: vault.Provider,
    generated: pulumi.Output[str],
    combined: pulumi.Output[dict] | None,
) -> pulumi.Output[str]:
    """The key bundle's seed: the generated bundle, or on an older stack the keys it uses now,
    from its three entries (vault.seedKeyBundleFromEntries) or its single entry."""
    parts: list[pulumi.Output[str]] = []
    if ctx.vault.seed_key_bundle_from_entries:
        parts = [_entry_value(ctx, provider, name) for name in RETIRED_SECRETS]
    elif combined is not None:
        parts = [combined.apply(lambda d, n=name: str(d.get(n, ""))) for name in RETIRED_SECRETS]
    if not parts:
        return generated
    return pulumi.Output.secret(
        pulumi.Output.all(generated, *parts).apply(
            lambda v: key_bundle.compose(*v[1:]) if all(v[1:]) else v[0]
        )
    )


def _entry_value(ctx: StoreContext, provider: vault.Provider, name: str) -> pulumi.Output[str]:
    """The value of one of the store's entries as it is now (`vault kv get`)."""
    v = ctx.vault
    found = vault.kv.get_secret_v2_output(
        mount=v.kv_mount,
        name=v.entry_path(name),
        opts=pulumi.InvokeOutputOptions(parent=ctx.store, provider=provider),
    )
    return pulumi.Output.secret(found.data.apply(lambda data: str((data or {})[KV_VALUE_KEY])))


def _combined_entry(ctx: StoreContext, provider: vault.Provider) -> pulumi.Output[dict]:
    """The single entry `<secretPath>` an older version of the program kept every secret in."""
    v = ctx.vault
    found = vault.kv.get_secret_v2_output(
        mount=v.kv_mount,
        name=v.secret_path,
        opts=pulumi.InvokeOutputOptions(parent=ctx.store, provider=provider),
    )
    return pulumi.Output.secret(found.data.apply(lambda data: dict(data or {})))


def reader_policy(ctx: StoreContext, index: int, reader: Reader) -> str:
    """Read on exactly the reader's entries; for Aidbox, vault.policyPath instead where an
    older stack set it."""
    v = ctx.vault
    if index == 0 and v.policy_path is not None:
        return render_policy(v.policy_path)
    return render_read_policy([v.entry_api_path(name) for name in reader.secrets])


def kubernetes_auth(
    ctx: StoreContext,
    auth: KubernetesAuth,
    readers: Sequence[Reader],
    opts: pulumi.ResourceOptions,
) -> list[vault.kubernetes.AuthBackendRole]:
    """The auth backend, and per reader a policy and a role bound to its ServiceAccount alone.
    Aidbox's keep the names (and logical names) an existing stack has."""
    v, s = ctx.vault, ctx.settings
    backend = vault.AuthBackend(
        f"{ctx.name}-kubernetes-auth", type="kubernetes", path=v.auth_mount_path, opts=opts
    )
    config = vault.kubernetes.AuthBackendConfig(
        f"{ctx.name}-kubernetes-auth-config",
        backend=backend.path,
        kubernetes_host=auth.host,
        kubernetes_ca_cert=auth.ca_cert,
        token_reviewer_jwt=auth.reviewer_jwt,
        opts=opts,
    )
    roles = []
    for index, reader in enumerate(readers):
        suffix = "" if index == 0 else f"-{reader.key}"
        policy = vault.Policy(
            f"{ctx.name}-policy{suffix}",
            name=v.policy_name if index == 0 else f"{v.policy_name}-{reader.key}",
            policy=reader_policy(ctx, index, reader),
            opts=opts,
        )
        roles.append(
            vault.kubernetes.AuthBackendRole(
                f"{ctx.name}-role{suffix}",
                backend=backend.path,
                role_name=role_name(ctx, index, reader),
                bound_service_account_names=[reader.service_account],
                bound_service_account_namespaces=[s.namespace],
                token_policies=[policy.name],
                token_ttl=3600,
                audience=v.audience,
                opts=pulumi.ResourceOptions.merge(
                    opts, pulumi.ResourceOptions(depends_on=[config])
                ),
            )
        )
    return roles
