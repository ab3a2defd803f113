"""HashiCorp Vault as the secret store: a Vault (dev in-cluster, or external), its CSI provider,
and the KV secret, Kubernetes auth, policy and role Aidbox reads through, via pulumi-vault."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_vault as vault

from .. import naming
from ..azure.aks import AksCluster
from ..kubernetes.helm import helm_release
from ..kubernetes.helm_values import vault_chart_values
from ..passwords import generated_password, seed_value
from ..settings import Settings
from ..versions import VAULT
from .binding import StoreBinding
from .parameters import vault_parameters
from .vault_policy import render_policy

MOUNT_DIR = "/run/vault-secrets"
RELEASE_NAME = naming.VAULT_RELEASE
VAULT_PORT = 8200
IN_CLUSTER_API = "https://kubernetes.default.svc"


def in_cluster_address(namespace: str) -> str:
    return f"http://{RELEASE_NAME}.{namespace}:{VAULT_PORT}"


def load_balancer_address(status: object) -> str:
    ingress = status.load_balancer.ingress[0]  # type: ignore[attr-defined]
    return f"http://{ingress.ip or ingress.hostname}:{VAULT_PORT}"


@dataclass(frozen=True)
class HashiCorpVaultStoreArgs:
    settings: Settings
    cluster: AksCluster


@dataclass(frozen=True)
class _KubernetesAuth:
    """What Vault's Kubernetes auth needs to review service-account tokens."""

    host: pulumi.Input[str]
    ca_cert: pulumi.Input[str] | None = None
    reviewer_jwt: pulumi.Input[str] | None = None


class HashiCorpVaultStore(pulumi.ComponentResource):
    address: pulumi.Output[str]  # how the deployer reaches Vault
    binding: StoreBinding

    def __init__(
        self, name: str, args: HashiCorpVaultStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:stores:HashiCorpVaultStore", name, None, opts)
        s = args.settings
        v = s.vault
        assert v is not None
        self._name, self._settings, self._v, self._cluster = name, s, v, args.cluster
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.cluster.provider)

        if v.mode == "dev":
            root_token = generated_password(f"{name}-root-token", self)
            values = pulumi.Output.secret(root_token).apply(
                lambda token: _with_root_token(
                    vault_chart_values(dev=True, external_address=None), token
                )
            )
            release = self._release(values, k8s_opts)
            self.address = self._deployer_service(release, k8s_opts)
            token: pulumi.Input[str] = root_token
            pod_address = in_cluster_address(v.helm_namespace)
            # Vault runs in the cluster: it reviews tokens with its own ServiceAccount,
            # which the chart binds to system:auth-delegator.
            auth = _KubernetesAuth(host=IN_CLUSTER_API)
        else:
            assert v.address is not None and v.token is not None
            release = self._release(
                vault_chart_values(dev=False, external_address=v.address), k8s_opts
            )
            self.address = pulumi.Output.from_input(v.address)
            token = v.token.output()
            pod_address = v.address
            auth = _KubernetesAuth(
                host=args.cluster.api_server_url,
                ca_cert=args.cluster.api_server_ca,
                reviewer_jwt=self._token_reviewer(release, k8s_opts),
            )

        provider = vault.Provider(
            f"{name}-vault",
            address=self.address,
            token=pulumi.Output.secret(token),
            namespace=v.namespace,
            ca_cert_file=v.ca_cert_file,
            skip_child_token=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[release]),
        )
        vault_opts = pulumi.ResourceOptions(parent=self, provider=provider)
        secret = self._kv_secret(vault_opts)
        role = self._kubernetes_auth(auth, vault_opts)
        names = [spec.name for spec in s.secrets]
        self.binding = StoreBinding(
            provider="vault",
            mount_dir=MOUNT_DIR,
            parameters=pulumi.Output.from_input(
                vault_parameters(
                    address=pod_address,
                    role_name=v.role_name,
                    names=names,
                    secret_api_path=v.secret_api_path,
                    auth_mount_path=v.auth_mount_path,
                    namespace=v.namespace,
                    audience=v.audience,
                )
            ),
            ready=[release, secret, role],
            exports={"vaultAddress": self.address, "vaultMode": v.mode},
        )
        self.register_outputs({"vaultAddress": self.address})

    def _release(
        self, values: pulumi.Input[dict], opts: pulumi.ResourceOptions
    ) -> k8s.helm.v3.Release:
        return helm_release(
            f"{self._name}-chart",
            VAULT,
            release_name=RELEASE_NAME,
            namespace=self._v.helm_namespace,
            values=values,
            opts=opts,
        )

    def _deployer_service(
        self, release: k8s.helm.v3.Release, opts: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        """A LoadBalancer only the deployer's CIDRs reach, so pulumi-vault can configure Vault.
        The chart's own Service stays ClusterIP for the pods."""
        service = k8s.core.v1.Service(
            f"{self._name}-deployer-api",
            metadata={"name": naming.VAULT_DEPLOYER_SERVICE, "namespace": self._v.helm_namespace},
            spec={
                "type": "LoadBalancer",
                "loadBalancerSourceRanges": list(self._v.deployer_source_ranges),
                "selector": {
                    "app.kubernetes.io/name": "vault",
                    "app.kubernetes.io/instance": RELEASE_NAME,
                    "component": "server",
                },
                "ports": [{"name": "http", "port": VAULT_PORT, "targetPort": VAULT_PORT}],
            },
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[release])),
        )
        return service.status.apply(load_balancer_address)

    def _token_reviewer(
        self, release: k8s.helm.v3.Release, opts: pulumi.ResourceOptions
    ) -> pulumi.Output[str]:
        """An external Vault reviews pod tokens through the API server with this account's
        token, so the account may create TokenReviews (system:auth-delegator) and no more."""
        ns, reviewer = self._v.helm_namespace, naming.VAULT_TOKEN_REVIEWER
        after_release = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[release])
        )
        account = k8s.core.v1.ServiceAccount(
            f"{self._name}-token-reviewer",
            metadata={"name": reviewer, "namespace": ns},
            opts=after_release,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{self._name}-token-reviewer",
            metadata={"name": reviewer},
            role_ref={
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:auth-delegator",
            },
            subjects=[{"kind": "ServiceAccount", "name": reviewer, "namespace": ns}],
            opts=opts,
        )
        token = k8s.core.v1.Secret(
            f"{self._name}-token-reviewer-token",
            metadata={
                "name": naming.VAULT_TOKEN_REVIEWER_SECRET,
                "namespace": ns,
                "annotations": {"kubernetes.io/service-account.name": reviewer},
            },
            type="kubernetes.io/service-account-token",
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[account])),
        )
        return pulumi.Output.secret(
            token.data.apply(lambda d: base64.b64decode((d or {}).get("token", "")).decode())
        )

    def _kv_secret(self, opts: pulumi.ResourceOptions) -> vault.kv.SecretV2:
        values = {spec.name: seed_value(self._name, spec, self) for spec in self._settings.secrets}
        data = pulumi.Output.all(**values).apply(lambda d: json.dumps(d, sort_keys=True))
        return vault.kv.SecretV2(
            f"{self._name}-kv-secret",
            mount=self._v.kv_mount,
            name=self._v.secret_path,
            data_json=pulumi.Output.secret(data),
            # The values seed the secret once: `vault kv patch` rotations must survive the next
            # `pulumi up` (and `--refresh`), and Pulumi need not read rotated values back.
            disable_read=True,
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(ignore_changes=["dataJson"])
            ),
        )

    def _kubernetes_auth(
        self, auth: _KubernetesAuth, opts: pulumi.ResourceOptions
    ) -> vault.kubernetes.AuthBackendRole:
        v, s = self._v, self._settings
        backend = vault.AuthBackend(
            f"{self._name}-kubernetes-auth", type="kubernetes", path=v.auth_mount_path, opts=opts
        )
        config = vault.kubernetes.AuthBackendConfig(
            f"{self._name}-kubernetes-auth-config",
            backend=backend.path,
            kubernetes_host=auth.host,
            kubernetes_ca_cert=auth.ca_cert,
            token_reviewer_jwt=auth.reviewer_jwt,
            opts=opts,
        )
        policy = vault.Policy(
            f"{self._name}-policy",
            name=v.policy_name,
            policy=render_policy(v.policy_path),
            opts=opts,
        )
        return vault.kubernetes.AuthBackendRole(
            f"{self._name}-role",
            backend=backend.path,
            role_name=v.role_name,
            bound_service_account_names=[v.bound_service_account],
            bound_service_account_namespaces=[s.namespace],
            token_policies=[policy.name],
            token_ttl=3600,
            audience=v.audience,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[config])),
        )


def _with_root_token(values: dict, token: str) -> dict:
    values["server"]["dev"]["devRootToken"] = token
    return values
