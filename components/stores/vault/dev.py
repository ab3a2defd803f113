"""`dev`: Vault's in-memory dev server in the cluster."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from ...kubernetes.helm_values import vault_dev_values
from ...passwords import generated_password
from .pieces import through_api_server, vault_release
from .records import (
    DEV_TOKEN_SECRET,
    IN_CLUSTER_API,
    RELEASE_NAME,
    KubernetesAuth,
    Mode,
    StoreContext,
    in_cluster_address,
)


def dev_mode(ctx: StoreContext) -> Mode:
    """In-memory dev server; its root token is generated and reaches the pod only through
    a Kubernetes Secret."""
    ns = ctx.vault.helm_namespace
    root_token = generated_password(f"{ctx.name}-root-token", ctx.store)
    token_secret = k8s.core.v1.Secret(
        f"{ctx.name}-dev-root-token",
        metadata={"name": DEV_TOKEN_SECRET, "namespace": ns},
        type="Opaque",
        string_data={"token": pulumi.Output.secret(root_token)},
        opts=ctx.after(ctx.namespace),
    )
    release = vault_release(
        ctx, vault_dev_values(token_secret=DEV_TOKEN_SECRET, token_key="token"), [token_secret]
    )
    deployer = through_api_server(ctx, scheme="http", service=RELEASE_NAME, token=root_token)
    return Mode(
        release=release,
        address=deployer.address,
        deployer=deployer,
        # Vault runs in the cluster: it reviews tokens with its own ServiceAccount, which the
        # chart binds to system:auth-delegator.
        auth=KubernetesAuth(host=IN_CLUSTER_API),
        pod_address=in_cluster_address(ns),
    )
