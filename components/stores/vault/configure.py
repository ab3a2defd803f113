"""Vault's own configuration through pulumi-vault, once the deployer can reach Vault: the
provider, the audit device and KV mount (ha), the KV entries Aidbox reads (one per secret), the
Kubernetes auth backend, the read policy and the role."""

from __future__ import annotations

import json

import pulumi
import pulumi_vault as vault

from ...kubernetes.vault_snapshot import (
    SNAPSHOT_NAME,
    VAULT_TOKEN_MAX_TTL,
    VAULT_TOKEN_TTL,
    snapshot_policy,
)
from ...passwords import seed_value
from ...settings.vault import KV_VALUE_KEY
from ..vault_policy import render_policy
from .records import KubernetesAuth, Mode, StoreContext


def configure(ctx: StoreContext, mode: Mode) -> list[pulumi.Resource]:
    """The resources the SecretProviderClass waits for: the KV entries and the role."""
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
    role = kubernetes_auth(ctx, mode.auth, vault_opts)
    if v.snapshots is not None and v.snapshots.enabled:
        snapshot_role(ctx, role.backend, vault_opts)
    return [*kv_secrets(ctx, provider, kv_opts), role]


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


def _combined_entry(ctx: StoreContext, provider: vault.Provider) -> pulumi.Output[dict]:
    """The single entry `<secretPath>` an older version of the program kept every secret in."""
    v = ctx.vault
    found = vault.kv.get_secret_v2_output(
        mount=v.kv_mount,
        name=v.secret_path,
        opts=pulumi.InvokeOutputOptions(parent=ctx.store, provider=provider),
    )
    return pulumi.Output.secret(found.data.apply(lambda data: dict(data or {})))


def kubernetes_auth(
    ctx: StoreContext, auth: KubernetesAuth, opts: pulumi.ResourceOptions
) -> vault.kubernetes.AuthBackendRole:
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
    policy = vault.Policy(
        f"{ctx.name}-policy",
        name=v.policy_name,
        policy=render_policy(v.policy_path),
        opts=opts,
    )
    return vault.kubernetes.AuthBackendRole(
        f"{ctx.name}-role",
        backend=backend.path,
        role_name=v.role_name,
        bound_service_account_names=[v.bound_service_account],
        bound_service_account_namespaces=[s.namespace],
        token_policies=[policy.name],
        token_ttl=3600,
        audience=v.audience,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[config])),
    )
