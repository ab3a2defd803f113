"""`external`: an existing Vault; in the cluster only its CSI provider, and the account whose
token that Vault reviews pod tokens with."""

from __future__ import annotations

import base64
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from ... import naming
from ...kubernetes.helm_values import VAULT_CA_FILE, vault_external_values
from .pieces import ca_config_map, vault_release
from .records import CA_CONFIG_MAP, Deployer, KubernetesAuth, Mode, StoreContext


def external_mode(ctx: StoreContext) -> Mode:
    v = ctx.vault
    assert v.address is not None and v.token is not None
    ca_ready: list[pulumi.Resource] = []
    if v.ca_cert_file:
        ca_ready.append(ca_config_map(ctx, read_ca_file(v.ca_cert_file)))
    release = vault_release(
        ctx,
        vault_external_values(
            address=v.address, ca_config_map=CA_CONFIG_MAP if v.ca_cert_file else None
        ),
        ca_ready,
    )
    cluster = ctx.args.cluster
    return Mode(
        release=release,
        address=v.address,
        deployer=Deployer(
            address=v.address,
            token=v.token.output(),
            ca_cert_file=str(Path(v.ca_cert_file).expanduser()) if v.ca_cert_file else None,
        ),
        auth=KubernetesAuth(
            host=cluster.api_server_url,
            ca_cert=cluster.api_server_ca,
            reviewer_jwt=token_reviewer(ctx, release),
        ),
        pod_address=v.address,
        ca_cert_path=VAULT_CA_FILE if v.ca_cert_file else None,
    )


def token_reviewer(ctx: StoreContext, release: k8s.helm.v3.Release) -> pulumi.Output[str]:
    """An external Vault reviews pod tokens through the API server with this account's
    token, so the account may create TokenReviews (system:auth-delegator) and no more.
    Long-lived on purpose (docs/vault.md, "external": the pods' tokens carry the `vault`
    audience, which the API server does not accept as a reviewer's credential)."""
    ns, reviewer = ctx.vault.helm_namespace, naming.VAULT_TOKEN_REVIEWER
    account = k8s.core.v1.ServiceAccount(
        f"{ctx.name}-token-reviewer",
        metadata={"name": reviewer, "namespace": ns},
        opts=ctx.after(release),
    )
    k8s.rbac.v1.ClusterRoleBinding(
        f"{ctx.name}-token-reviewer",
        metadata={"name": reviewer},
        role_ref={
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "system:auth-delegator",
        },
        subjects=[{"kind": "ServiceAccount", "name": reviewer, "namespace": ns}],
        opts=ctx.k8s_opts,
    )
    token = k8s.core.v1.Secret(
        f"{ctx.name}-token-reviewer-token",
        metadata={
            "name": naming.VAULT_TOKEN_REVIEWER_SECRET,
            "namespace": ns,
            "annotations": {"kubernetes.io/service-account.name": reviewer},
        },
        type="kubernetes.io/service-account-token",
        opts=ctx.after(account),
    )
    return pulumi.Output.secret(
        token.data.apply(lambda d: base64.b64decode((d or {}).get("token", "")).decode())
    )


def read_ca_file(path: str) -> str:
    return Path(path).expanduser().read_text()
