"""HashiCorp Vault as the secret store: a Vault in the cluster (dev, or ha: Raft, TLS,
auto-unseal) or an external one, its CSI provider, and the KV secret, Kubernetes auth, policy,
role (and the ha audit device) Aidbox reads through, via pulumi-vault.

The deployer reaches an in-cluster Vault through the Kubernetes API server's service proxy,
authenticated with its own Entra ID token: Vault has no public endpoint. Pods reach Vault at its
in-cluster Service."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls
import pulumi_vault as vault

from .. import naming
from ..azure.network import Subnets
from ..azure.platform import Platform
from ..azure.unseal_key import INIT_SECRET_NAME, VaultUnsealKey, VaultUnsealKeyArgs
from ..kubernetes.helm import helm_release
from ..kubernetes.helm_values import (
    VAULT_CA_FILE,
    VaultHa,
    vault_dev_values,
    vault_external_values,
    vault_ha_values,
)
from ..kubernetes.target import ApiServerLogin, ClusterTarget
from ..passwords import generated_password, seed_value
from ..settings import Settings
from ..versions import VAULT
from .binding import StoreBinding
from .parameters import vault_parameters
from .vault_access import (
    ca_file_path,
    service_proxy_address,
    vault_server_dns_names,
    write_ca_file,
)
from .vault_policy import render_policy

MOUNT_DIR = "/run/vault-secrets"
RELEASE_NAME = naming.VAULT_RELEASE
VAULT_PORT = 8200
IN_CLUSTER_API = "https://kubernetes.default.svc"
DEV_TOKEN_SECRET = "vault-dev-root-token"
TLS_SECRET = "vault-server-tls"
CA_CONFIG_MAP = "vault-ca"
CA_VALIDITY_HOURS = 10 * 8760
SERVER_CERT_VALIDITY_HOURS = 8760
# A `pulumi up` in the last 30 days of the server certificate issues a new one.
SERVER_CERT_RENEWAL_HOURS = 720


def in_cluster_address(namespace: str, *, tls_enabled: bool = False) -> str:
    if tls_enabled:  # the name the server certificate carries
        return f"https://{RELEASE_NAME}.{namespace}.svc:{VAULT_PORT}"
    return f"http://{RELEASE_NAME}.{namespace}:{VAULT_PORT}"


@dataclass(frozen=True)
class HashiCorpVaultStoreArgs:
    settings: Settings
    cluster: ClusterTarget
    platform: Platform | None = None  # Azure, for an `ha` Vault's unseal key
    oidc_issuer_url: pulumi.Input[str] | None = None  # the AKS cluster's, for an `ha` Vault
    tags: Mapping[str, str] = field(default_factory=dict)
    network: Subnets | None = None  # where an `ha` Vault's unseal Key Vault is reached
    seeds: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # managed secrets


@dataclass(frozen=True)
class _KubernetesAuth:
    """What Vault's Kubernetes auth needs to review service-account tokens."""

    host: pulumi.Input[str]
    ca_cert: pulumi.Input[str] | None = None
    reviewer_jwt: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class _Deployer:
    """How pulumi-vault reaches Vault and who it is there."""

    address: pulumi.Input[str]
    token: pulumi.Input[str]
    ca_cert_file: pulumi.Input[str] | None = None
    # To the API server, when Vault is behind its service proxy.
    login: ApiServerLogin = field(default_factory=ApiServerLogin)


@dataclass(frozen=True)
class _Mode:
    """What one Vault mode sets up before pulumi-vault configures Vault."""

    release: k8s.helm.v3.Release
    address: pulumi.Input[str]  # how the deployer reaches Vault
    deployer: _Deployer | None  # None: Vault cannot be configured yet (ha before init)
    auth: _KubernetesAuth
    pod_address: str
    ca_cert_path: str | None = None
    exports: Mapping[str, pulumi.Input[object]] = field(default_factory=dict)


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
        self._name, self._settings, self._v, self._args = name, s, v, args
        self._k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.cluster.provider)
        self._namespace = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata={"name": v.helm_namespace}, opts=self._k8s_opts
        )
        mode = {"dev": self._dev, "ha": self._ha, "external": self._external}[v.mode]()

        ready: list[pulumi.Resource] = [mode.release]
        self.address = pulumi.Output.from_input(mode.address)
        if mode.deployer is None:
            pulumi.log.warn(
                f"vault.mode {v.mode}: Vault is installed but not configured yet. Run its "
                "one-time init (README, 'HashiCorp Vault variant'), set the token with "
                "`pulumi config set --secret --path vault.token`, then `pulumi up` again; "
                "until then the SecretProviderClass, Aidbox and its in-cluster database (which "
                "reads its password from the store) are not deployed.",
                resource=self,
            )
        else:
            ready += self._configure(mode)
        self.binding = StoreBinding(
            provider="vault",
            mount_dir=MOUNT_DIR,
            parameters=pulumi.Output.from_input(
                vault_parameters(
                    address=mode.pod_address,
                    role_name=v.role_name,
                    names=[spec.name for spec in s.secrets],
                    secret_api_path=v.secret_api_path,
                    auth_mount_path=v.auth_mount_path,
                    namespace=v.namespace,
                    audience=v.audience,
                    ca_cert_path=mode.ca_cert_path,
                )
            ),
            ready=ready,
            configured=mode.deployer is not None,
            exports={"vaultAddress": self.address, "vaultMode": v.mode, **mode.exports},
        )
        self.register_outputs({"vaultAddress": self.address})

    # --- modes --------------------------------------------------------------------------------

    def _dev(self) -> _Mode:
        """In-memory dev server; its root token is generated and reaches the pod only through
        a Kubernetes Secret."""
        ns = self._v.helm_namespace
        root_token = generated_password(f"{self._name}-root-token", self)
        token_secret = k8s.core.v1.Secret(
            f"{self._name}-dev-root-token",
            metadata={"name": DEV_TOKEN_SECRET, "namespace": ns},
            type="Opaque",
            string_data={"token": pulumi.Output.secret(root_token)},
            opts=self._after(self._namespace),
        )
        release = self._release(
            vault_dev_values(token_secret=DEV_TOKEN_SECRET, token_key="token"), [token_secret]
        )
        deployer = self._through_api_server(scheme="http", service=RELEASE_NAME, token=root_token)
        return _Mode(
            release=release,
            address=deployer.address,
            deployer=deployer,
            # Vault runs in the cluster: it reviews tokens with its own ServiceAccount, which
            # the chart binds to system:auth-delegator.
            auth=_KubernetesAuth(host=IN_CLUSTER_API),
            pod_address=in_cluster_address(ns),
        )

    def _ha(self) -> _Mode:
        s, v = self._settings, self._v
        ns = v.helm_namespace
        platform, issuer = self._args.platform, self._args.oidc_issuer_url
        assert platform is not None and issuer is not None  # the settings refuse ha otherwise
        unseal = VaultUnsealKey(
            f"{self._name}-unseal",
            VaultUnsealKeyArgs(
                resource_group_name=platform.resource_group_name,
                location=platform.location,
                tenant_id=platform.tenant_id,
                subscription_id=platform.subscription_id,
                key_vault_name=platform.scope.apply(lambda scope: unseal_key_vault_name(s, scope)),
                oidc_issuer_url=issuer,
                subject=f"system:serviceaccount:{ns}:{RELEASE_NAME}",
                production=s.production,
                tags=self._args.tags,
                network=self._args.network,
                allowed_ranges=s.cluster.api_server_authorized_ranges,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        tls_ready = self._tls()
        # The unseal vault's name as it is (the stored one, on an older stack).
        values = pulumi.Output.all(unseal.key_vault_name, unseal.client_id).apply(
            lambda found: vault_ha_values(
                VaultHa(
                    release=RELEASE_NAME,
                    replicas=v.replicas,
                    tls_secret=TLS_SECRET,
                    ca_config_map=CA_CONFIG_MAP,
                    key_vault_name=found[0],
                    key_name=unseal.key_name,
                    client_id=found[1],
                )
            )
        )
        # A new Vault is sealed and uninitialised until its one-time init: not ready, so Helm
        # must not wait for it.
        release = self._release(values, [*tls_ready, *unseal.ready], wait=False)
        address = self._proxy_address(scheme="https", service=f"{RELEASE_NAME}-active")
        deployer = None
        if v.token is not None:
            deployer = self._through_api_server(
                scheme="https", service=f"{RELEASE_NAME}-active", token=v.token.output()
            )
        return _Mode(
            release=release,
            address=address,
            deployer=deployer,
            auth=_KubernetesAuth(host=IN_CLUSTER_API),
            pod_address=in_cluster_address(ns, tls_enabled=True),
            ca_cert_path=VAULT_CA_FILE,
            exports={
                "vaultUnsealKeyVault": unseal.key_vault_name,
                "vaultInitSecret": INIT_SECRET_NAME,
            },
        )

    def _external(self) -> _Mode:
        v = self._v
        assert v.address is not None and v.token is not None
        ca_ready: list[pulumi.Resource] = []
        if v.ca_cert_file:
            ca_ready.append(self._ca_config_map(read_ca_file(v.ca_cert_file)))
        release = self._release(
            vault_external_values(
                address=v.address, ca_config_map=CA_CONFIG_MAP if v.ca_cert_file else None
            ),
            ca_ready,
        )
        cluster = self._args.cluster
        return _Mode(
            release=release,
            address=v.address,
            deployer=_Deployer(
                address=v.address,
                token=v.token.output(),
                ca_cert_file=str(Path(v.ca_cert_file).expanduser()) if v.ca_cert_file else None,
            ),
            auth=_KubernetesAuth(
                host=cluster.api_server_url,
                ca_cert=cluster.api_server_ca,
                reviewer_jwt=self._token_reviewer(release),
            ),
            pod_address=v.address,
            ca_cert_path=VAULT_CA_FILE if v.ca_cert_file else None,
        )

    # --- pieces -------------------------------------------------------------------------------

    def _after(self, *resources: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions.merge(
            self._k8s_opts, pulumi.ResourceOptions(depends_on=list(resources))
        )

    def _release(
        self, values: pulumi.Input[dict], needs: list[pulumi.Resource], *, wait: bool = True
    ) -> k8s.helm.v3.Release:
        return helm_release(
            f"{self._name}-chart",
            VAULT,
            release_name=RELEASE_NAME,
            namespace=self._v.helm_namespace,
            values=values,
            opts=self._after(self._namespace, *needs),
            wait=wait,
        )

    def _proxy_address(self, *, scheme: str, service: str) -> pulumi.Output[str]:
        ns = self._v.helm_namespace
        return self._args.cluster.api_server_url.apply(
            lambda url: service_proxy_address(
                url, namespace=ns, service=service, port=VAULT_PORT, scheme=scheme
            )
        )

    def _through_api_server(
        self, *, scheme: str, service: str, token: pulumi.Input[str]
    ) -> _Deployer:
        """The API server's service proxy, as the deployer (on AKS its Entra ID identity),
        trusting the cluster CA."""
        s, cluster = self._settings, self._args.cluster
        return _Deployer(
            address=self._proxy_address(scheme=scheme, service=service),
            token=token,
            # The provider takes the CA as a file only; the CA is public, the path stable.
            ca_cert_file=pulumi.Output.unsecret(
                cluster.api_server_ca.apply(
                    lambda pem: write_ca_file(ca_file_path(s.project, s.stack, pem), pem)
                )
            ),
            login=cluster.api_server_login(self),
        )

    def _tls(self) -> list[pulumi.Resource]:
        """A CA and a server certificate for the listener (pulumi-tls; the keys live only in
        the encrypted state and the server's Secret), and the CA alone for the CSI provider."""
        v, child = self._v, pulumi.ResourceOptions(parent=self)
        ca_key = tls.PrivateKey(
            f"{self._name}-ca-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child
        )
        ca = tls.SelfSignedCert(
            f"{self._name}-ca",
            private_key_pem=ca_key.private_key_pem,
            is_ca_certificate=True,
            subject={"common_name": f"aidbox-secrets {self._settings.stack} Vault CA"},
            validity_period_hours=CA_VALIDITY_HOURS,
            allowed_uses=["cert_signing", "crl_signing"],
            opts=child,
        )
        server_key = tls.PrivateKey(
            f"{self._name}-server-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child
        )
        request = tls.CertRequest(
            f"{self._name}-server-csr",
            private_key_pem=server_key.private_key_pem,
            subject={"common_name": f"{RELEASE_NAME}.{v.helm_namespace}.svc"},
            dns_names=vault_server_dns_names(RELEASE_NAME, v.helm_namespace, v.replicas),
            ip_addresses=["127.0.0.1"],  # `vault` inside the pod (VAULT_ADDR)
            opts=child,
        )
        cert = tls.LocallySignedCert(
            f"{self._name}-server-cert",
            cert_request_pem=request.cert_request_pem,
            ca_private_key_pem=ca_key.private_key_pem,
            ca_cert_pem=ca.cert_pem,
            validity_period_hours=SERVER_CERT_VALIDITY_HOURS,
            early_renewal_hours=SERVER_CERT_RENEWAL_HOURS,
            allowed_uses=["digital_signature", "key_encipherment", "server_auth", "client_auth"],
            opts=child,
        )
        secret = k8s.core.v1.Secret(
            f"{self._name}-server-tls",
            metadata={"name": TLS_SECRET, "namespace": v.helm_namespace},
            type="kubernetes.io/tls",
            string_data=pulumi.Output.secret(
                pulumi.Output.all(cert.cert_pem, server_key.private_key_pem, ca.cert_pem).apply(
                    lambda p: {"tls.crt": p[0], "tls.key": p[1], "ca.crt": p[2]}
                )
            ),
            opts=self._after(self._namespace),
        )
        return [secret, self._ca_config_map(ca.cert_pem)]

    def _ca_config_map(self, pem: pulumi.Input[str]) -> k8s.core.v1.ConfigMap:
        """The CA that signed Vault's certificate (public), for the CSI provider pods."""
        return k8s.core.v1.ConfigMap(
            f"{self._name}-ca",
            metadata={"name": CA_CONFIG_MAP, "namespace": self._v.helm_namespace},
            data={"ca.crt": pem},
            opts=self._after(self._namespace),
        )

    def _token_reviewer(self, release: k8s.helm.v3.Release) -> pulumi.Output[str]:
        """An external Vault reviews pod tokens through the API server with this account's
        token, so the account may create TokenReviews (system:auth-delegator) and no more.
        Long-lived on purpose (README: the pods' tokens carry the `vault` audience, which the
        API server does not accept as a reviewer's credential)."""
        ns, reviewer = self._v.helm_namespace, naming.VAULT_TOKEN_REVIEWER
        account = k8s.core.v1.ServiceAccount(
            f"{self._name}-token-reviewer",
            metadata={"name": reviewer, "namespace": ns},
            opts=self._after(release),
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
            opts=self._k8s_opts,
        )
        token = k8s.core.v1.Secret(
            f"{self._name}-token-reviewer-token",
            metadata={
                "name": naming.VAULT_TOKEN_REVIEWER_SECRET,
                "namespace": ns,
                "annotations": {"kubernetes.io/service-account.name": reviewer},
            },
            type="kubernetes.io/service-account-token",
            opts=self._after(account),
        )
        return pulumi.Output.secret(
            token.data.apply(lambda d: base64.b64decode((d or {}).get("token", "")).decode())
        )

    # --- pulumi-vault ---------------------------------------------------------------------------

    def _configure(self, mode: _Mode) -> list[pulumi.Resource]:
        assert mode.deployer is not None
        d, v = mode.deployer, self._v
        provider = vault.Provider(
            f"{self._name}-vault",
            address=d.address,
            token=pulumi.Output.secret(d.token),
            namespace=v.namespace,
            ca_cert_file=d.ca_cert_file,
            headers=d.login.headers,
            client_auth=vault.ProviderClientAuthArgs(
                cert_file=d.login.client_cert_file, key_file=d.login.client_key_file
            )
            if d.login.client_cert_file and d.login.client_key_file
            else None,
            skip_child_token=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[mode.release]),
        )
        vault_opts = pulumi.ResourceOptions(parent=self, provider=provider)
        if v.mode == "ha":
            # Every request and response, secrets HMAC'd, to the pod log.
            vault.Audit(
                f"{self._name}-audit",
                type="file",
                path="stdout",
                options={"file_path": "stdout"},
                opts=vault_opts,
            )
        kv_opts = vault_opts
        if v.mode == "ha":
            # A new Vault has no secrets engine (a dev server mounts KV v2 at `secret`; an
            # external Vault must have it already).
            mount = vault.Mount(
                f"{self._name}-kv-mount",
                path=v.kv_mount,
                type="kv",
                options={"version": "2"},
                description="aidbox-secrets: secrets Aidbox reads",
                opts=vault_opts,
            )
            kv_opts = pulumi.ResourceOptions.merge(
                vault_opts, pulumi.ResourceOptions(depends_on=[mount])
            )
        return [self._kv_secret(kv_opts), self._kubernetes_auth(mode.auth, vault_opts)]

    def _kv_secret(self, opts: pulumi.ResourceOptions) -> vault.kv.SecretV2:
        values = {
            spec.name: seed_value(self._name, spec, self, self._args.seeds)
            for spec in self._settings.secrets
        }
        data = pulumi.Output.all(**values).apply(lambda d: json.dumps(d, sort_keys=True))
        if self._v.mode == "dev":
            # A dev Vault forgets everything when its pod restarts: `pulumi up --refresh` must
            # see the secret gone and write the seed again (a rotation is reverted too).
            return vault.kv.SecretV2(
                f"{self._name}-kv-secret",
                mount=self._v.kv_mount,
                name=self._v.secret_path,
                data_json=pulumi.Output.secret(data),
                opts=opts,
            )
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


def unseal_key_vault_name(s: Settings, scope: str) -> str:
    """The `ha` unseal Key Vault: global, so derived like the store's, from its own stack key."""
    return naming.key_vault_name(s.project, f"{s.stack}-unseal", scope)


def read_ca_file(path: str) -> str:
    return Path(path).expanduser().read_text()
