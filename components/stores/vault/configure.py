"""Vault's own configuration through pulumi-vault, once the deployer can reach Vault: the
provider, the audit device and KV mount (ha), the KV secret Aidbox reads, the Kubernetes auth
backend, the read policy and the role."""

from __future__ import annotations

import json

import pulumi
import pulumi_vault as vault

from ...passwords import seed_value
from ..vault_policy import render_policy
from .records import KubernetesAuth, Mode, StoreContext


def configure(ctx: StoreContext, mode: Mode) -> list[pulumi.Resource]:
    """The resources the SecretProviderClass waits for: the KV secret and the role."""
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
        # Every request and response, secrets HMAC'd, to the pod log.
        vault.Audit(
            f"{ctx.name}-audit",
            type="file",
            path="stdout",
            options={"file_path": "stdout"},
            opts=vault_opts,
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
    return [kv_secret(ctx, kv_opts), kubernetes_auth(ctx, mode.auth, vault_opts)]


def kv_secret(ctx: StoreContext, opts: pulumi.ResourceOptions) -> vault.kv.SecretV2:
    v = ctx.vault
    values = {
        spec.name: seed_value(ctx.name, spec, ctx.store, ctx.args.seeds)
        for spec in ctx.settings.secrets
    }
    data = pulumi.Output.all(**values).apply(lambda d: json.dumps(d, sort_keys=True))
    if v.mode == "dev":
        # A dev Vault forgets everything when its pod restarts: `pulumi up --refresh` must see
        # the secret gone and write the seed again (a rotation is reverted too).
        return vault.kv.SecretV2(
            f"{ctx.name}-kv-secret",
            mount=v.kv_mount,
            name=v.secret_path,
            data_json=pulumi.Output.secret(data),
            opts=opts,
        )
    return vault.kv.SecretV2(
        f"{ctx.name}-kv-secret",
        mount=v.kv_mount,
        name=v.secret_path,
        data_json=pulumi.Output.secret(data),
        # The values seed the secret once: `vault kv patch` rotations must survive the next
        # `pulumi up` (and `--refresh`), and Pulumi need not read rotated values back.
        disable_read=True,
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(ignore_changes=["dataJson"])
        ),
    )


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
