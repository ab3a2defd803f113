"""The deployer's way to an in-cluster Vault: the Kubernetes API server's service proxy
(Vault has no public endpoint), as a ServiceAccount of the program's own that may only proxy
to the Services in the Vault namespace.

Its token is long-lived on purpose. The Vault provider's configuration is kept in the state,
and `refresh` and `destroy` configure the provider from there without running the program: a
token that expires (the deployer's Entra ID token lasts about an hour) would have expired by
the time a later job reads it, and an `up` running longer than an hour would lose it midway.
The token is as secret as the Vault token beside it (encrypted in the state) and grants no
more than a network path to Vault, where the Vault token is still needed."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ... import naming
from ...kubernetes.target import bearer_header
from .records import StoreContext

# HTTP methods map to these verbs on `services/proxy`; Vault's client sends LIST as GET.
PROXY_VERBS = ["get", "create", "update", "patch", "delete"]


@dataclass(frozen=True)
class ProxyAccount:
    headers: pulumi.Output[list[dict[str, str]]]  # `Authorization: Bearer <token>`, secret
    ready: list[pulumi.Resource]  # what must exist while the Vault provider is used


def proxy_account(ctx: StoreContext) -> ProxyAccount:
    ns, account = ctx.vault.helm_namespace, naming.VAULT_DEPLOYER
    service_account = k8s.core.v1.ServiceAccount(
        f"{ctx.name}-deployer",
        metadata={"name": account, "namespace": ns},
        opts=ctx.after(ctx.namespace),
    )
    role = k8s.rbac.v1.Role(
        f"{ctx.name}-deployer",
        metadata={"name": account, "namespace": ns},
        rules=[{"apiGroups": [""], "resources": ["services/proxy"], "verbs": PROXY_VERBS}],
        opts=ctx.after(ctx.namespace),
    )
    binding = k8s.rbac.v1.RoleBinding(
        f"{ctx.name}-deployer",
        metadata={"name": account, "namespace": ns},
        role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
        subjects=[{"kind": "ServiceAccount", "name": account, "namespace": ns}],
        opts=ctx.after(role, service_account),
    )
    token = k8s.core.v1.Secret(
        f"{ctx.name}-deployer-token",
        metadata={
            "name": naming.VAULT_DEPLOYER_SECRET,
            "namespace": ns,
            "annotations": {"kubernetes.io/service-account.name": account},
        },
        type="kubernetes.io/service-account-token",
        opts=ctx.after(service_account),
    )
    headers = token.data.apply(
        lambda d: [bearer_header(base64.b64decode((d or {}).get("token", "")).decode())]
    )
    return ProxyAccount(headers=pulumi.Output.secret(headers), ready=[binding, token])
