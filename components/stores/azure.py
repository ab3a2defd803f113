"""Azure Key Vault as the secret store: the vault, who reads it, and the CSI provider for it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import managedidentity

from .. import naming
from ..azure.aks_access import AksTarget
from ..azure.key_vault import KeyVault, KeyVaultArgs
from ..azure.monitoring import Monitoring
from ..azure.network import Subnets
from ..azure.platform import Platform
from ..kubernetes.helm import helm_release
from ..kubernetes.helm_values import AZURE_TOKEN_AUDIENCE, azure_provider_values
from ..settings import Settings
from ..versions import AZURE_PROVIDER
from .binding import StoreBinding
from .parameters import azure_parameters

MOUNT_DIR = "/run/azure-secrets"
SP_CREDENTIALS_SECRET = naming.SP_CREDENTIALS_SECRET
WORKLOAD_CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"


@dataclass(frozen=True)
class AzureKeyVaultStoreArgs:
    settings: Settings
    platform: Platform
    cluster: AksTarget
    network: Subnets
    monitoring: Monitoring
    tags: Mapping[str, str]
    seeds: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # managed secrets


@dataclass(frozen=True)
class _Reader:
    """The identity the CSI provider uses to read the vault."""

    mode: str  # parameters.azure_parameters identity: vm | workload | servicePrincipal
    grantee: str
    principal_id: pulumi.Input[str]
    client_id: pulumi.Input[str] | None
    ready: tuple[pulumi.Resource, ...] = ()


class AzureKeyVaultStore(pulumi.ComponentResource):
    key_vault: KeyVault
    binding: StoreBinding

    def __init__(
        self, name: str, args: AzureKeyVaultStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:stores:AzureKeyVaultStore", name, None, opts)
        s, platform, cluster = args.settings, args.platform, args.cluster
        assert s.azure is not None
        self._settings, self._cluster = s, cluster
        child = pulumi.ResourceOptions(parent=self)
        self.key_vault = KeyVault(
            f"{name}-kv",
            KeyVaultArgs(
                resource_group_name=platform.resource_group_name,
                location=platform.location,
                tenant_id=platform.tenant_id,
                subscription_id=platform.subscription_id,
                settings=s.azure.key_vault,
                derived_name=platform.scope.apply(
                    lambda scope: naming.key_vault_name(s.project, s.stack, scope)
                ),
                secrets=s.secrets,
                tags=args.tags,
                vnet_id=args.network.vnet_id,
                private_endpoint_subnet_id=args.network.private_endpoint_subnet_id,
                workspace_id=args.monitoring.workspace_id,
                private_dns_zone_id=args.network.key_vault_private_dns_zone_id,
                protect=s.production,
                lock=s.locks,
                seeds=args.seeds,
            ),
            opts=child,
        )
        reader = self._reader(name, platform)
        # What a pod mounting the vault needs first: the secrets, the read grant and, in
        # workload mode, the federated credential.
        ready: list[pulumi.Resource] = [
            *self.key_vault.secrets,
            *reader.ready,
            self.key_vault.grant_reader(principal_id=reader.principal_id, grantee=reader.grantee),
        ]
        if s.csi.install == "helm":
            ready.append(
                helm_release(
                    f"{name}-provider",
                    AZURE_PROVIDER,
                    release_name="csi-provider-azure",
                    namespace="kube-system",
                    values=azure_provider_values(scrape_annotations=s.csi.metrics == "annotations"),
                    opts=pulumi.ResourceOptions(parent=self, provider=cluster.provider),
                )
            )
        node_publish_secret = None
        if reader.mode == "servicePrincipal":
            ready.append(self._credentials_secret(name))
            node_publish_secret = SP_CREDENTIALS_SECRET

        names = [spec.name for spec in s.secrets]
        parameters = pulumi.Output.all(
            self.key_vault.vault_name, platform.tenant_id, reader.client_id
        ).apply(
            lambda v: azure_parameters(
                key_vault_name=v[0],
                tenant_id=v[1],
                names=names,
                identity=reader.mode,
                identity_client_id=v[2],
            )
        )
        annotations = (
            {WORKLOAD_CLIENT_ID_ANNOTATION: reader.client_id} if reader.mode == "workload" else {}
        )
        self.binding = StoreBinding(
            provider="azure",
            mount_dir=MOUNT_DIR,
            parameters=parameters,
            service_account_annotations=annotations,
            node_publish_secret=node_publish_secret,
            ready=ready,
            exports={
                "keyVaultName": self.key_vault.vault_name,
                "keyVaultUri": self.key_vault.vault_uri,
                "keyVaultReader": reader.grantee,
            },
        )
        self.register_outputs(
            {"keyVaultName": self.key_vault.vault_name, "keyVaultUri": self.key_vault.vault_uri}
        )

    def _reader(self, name: str, platform: Platform) -> _Reader:
        s, cluster = self._settings, self._cluster
        assert s.azure is not None
        # The add-on's driver honours the SecretProviderClass's clientID like the Helm one,
        # so workload identity works with either install.
        if s.csi.install == "aksAddon" and s.azure.identity != "workload":
            assert cluster.addon_object_id is not None
            return _Reader("vm", "aks-addon", cluster.addon_object_id, cluster.addon_client_id)
        if s.azure.identity == "kubelet":
            return _Reader("vm", "kubelet", cluster.kubelet_object_id, cluster.kubelet_client_id)
        if s.azure.identity == "servicePrincipal":
            assert s.azure.object_id is not None
            return _Reader("servicePrincipal", "service-principal", s.azure.object_id, None)
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_group_name=platform.resource_group_name,
            location=platform.location,
            opts=pulumi.ResourceOptions(parent=self),
        )
        federation = managedidentity.FederatedIdentityCredential(
            f"{name}-federation",
            resource_group_name=platform.resource_group_name,
            resource_name_=identity.name,
            issuer=cluster.oidc_issuer_url,
            subject=f"system:serviceaccount:{s.namespace}:{s.aidbox.service_account}",
            audiences=[AZURE_TOKEN_AUDIENCE],
            opts=pulumi.ResourceOptions(parent=self),
        )
        return _Reader(
            "workload", "workload", identity.principal_id, identity.client_id, (federation,)
        )

    def _credentials_secret(self, name: str) -> k8s.core.v1.Secret:
        """The service principal's credentials, read by the driver via nodePublishSecretRef."""
        azure = self._settings.azure
        assert azure is not None and azure.client_id and azure.client_secret
        return k8s.core.v1.Secret(
            f"{name}-sp-credentials",
            metadata={
                "name": SP_CREDENTIALS_SECRET,
                # The Output, not the plain name: the Secret waits for the Namespace.
                "namespace": self._cluster.namespace,
                "labels": {"secrets-store.csi.k8s.io/used": "true"},
            },
            type="Opaque",
            string_data={
                "clientid": azure.client_id.output(),
                "clientsecret": azure.client_secret.output(),
            },
            opts=pulumi.ResourceOptions(parent=self, provider=self._cluster.provider),
        )
