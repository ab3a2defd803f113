"""Azure Key Vault as the secret store: the vault, who reads it, and the CSI provider for it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from .. import naming
from ..azure.aks_access import AksTarget
from ..azure.key_vault import KeyVault, KeyVaultArgs
from ..azure.monitoring import Monitoring
from ..azure.network import Subnets
from ..azure.platform import Platform
from ..azure.workload_identity import federated_identity
from ..binding import StoreBinding
from ..kubernetes.helm import helm_release
from ..kubernetes.helm_values import azure_provider_values
from ..settings import Settings
from ..settings.managed import Reader
from ..versions import AZURE_PROVIDER
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
    # Who reads what (Aidbox first). In workload mode each gets an identity of its own, granted
    # on its own secrets; the kubelet, add-on and service-principal identities are one per
    # cluster, so there the readers share it and only their SecretProviderClasses differ.
    readers: Sequence[Reader] = ()
    image_registry: pulumi.Input[str] | None = None  # a registry you own: its copies


@dataclass(frozen=True)
class _Identity:
    """An identity the CSI provider reads the vault with."""

    mode: str  # parameters.azure_parameters identity: vm | workload | servicePrincipal
    grantee: str
    principal_id: pulumi.Input[str]
    client_id: pulumi.Input[str] | None
    ready: tuple[pulumi.Resource, ...] = ()


class AzureKeyVaultStore(pulumi.ComponentResource):
    key_vault: KeyVault
    bindings: dict[str, StoreBinding]  # per reader (settings/managed.py), by key

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
        # What every pod mounting the vault needs first: the secrets, the provider (Helm) and,
        # with a service principal, its credentials Secret.
        common: list[pulumi.Resource] = list(self.key_vault.secrets)
        if s.csi.install == "helm":
            common.append(
                helm_release(
                    f"{name}-provider",
                    AZURE_PROVIDER,
                    release_name="csi-provider-azure",
                    namespace="kube-system",
                    values=azure_provider_values(scrape_annotations=s.csi.metrics == "annotations"),
                    opts=pulumi.ResourceOptions(parent=self, provider=cluster.provider),
                    image_registry=args.image_registry,
                )
            )
        shared = self._shared_identity()
        node_publish_secret = None
        if shared is not None:
            # One identity for every reader: one grant on the vault (its existing one).
            common.append(
                self.key_vault.grant_reader(
                    principal_id=shared.principal_id, grantee=shared.grantee
                )
            )
            if shared.mode == "servicePrincipal":
                common.append(self._credentials_secret(name))
                node_publish_secret = SP_CREDENTIALS_SECRET
        self.bindings = {}
        first_grantee = None
        for index, reader in enumerate(args.readers):
            identity = shared or self._workload_identity(name, platform, index, reader)
            ready = [*common, *identity.ready]
            if shared is None:
                # An identity of its own: Key Vault Secrets User on each of its secrets, not
                # the vault (Key Vault RBAC scopes a role to one secret).
                ready += [
                    self.key_vault.grant_secret_reader(
                        principal_id=identity.principal_id,
                        grantee=identity.grantee,
                        secret=secret,
                    )
                    for secret in reader.secrets
                ]
            first_grantee = first_grantee or identity.grantee
            self.bindings[reader.key] = StoreBinding(
                provider="azure",
                mount_dir=MOUNT_DIR,
                parameters=self._parameters(platform, identity, reader),
                service_account_annotations=(
                    {WORKLOAD_CLIENT_ID_ANNOTATION: identity.client_id}
                    if identity.mode == "workload"
                    else {}
                ),
                node_publish_secret=node_publish_secret,
                ready=ready,
                exports={
                    "keyVaultName": self.key_vault.vault_name,
                    "keyVaultUri": self.key_vault.vault_uri,
                    "keyVaultReader": first_grantee,
                },
            )
        self.register_outputs(
            {"keyVaultName": self.key_vault.vault_name, "keyVaultUri": self.key_vault.vault_uri}
        )

    def _parameters(
        self, platform: Platform, identity: _Identity, reader: Reader
    ) -> pulumi.Output[dict[str, str]]:
        names = list(reader.secrets)
        return pulumi.Output.all(
            self.key_vault.vault_name, platform.tenant_id, identity.client_id
        ).apply(
            lambda v: azure_parameters(
                key_vault_name=v[0],
                tenant_id=v[1],
                names=names,
                identity=identity.mode,
                identity_client_id=v[2],
            )
        )

    def _shared_identity(self) -> _Identity | None:
        """The cluster's identity every reader reads with, or None in workload mode."""
        s, cluster = self._settings, self._cluster
        assert s.azure is not None
        # The add-on's driver honours the SecretProviderClass's clientID like the Helm one,
        # so workload identity works with either install.
        if s.csi.install == "aksAddon" and s.azure.identity != "workload":
            assert cluster.addon_object_id is not None
            return _Identity("vm", "aks-addon", cluster.addon_object_id, cluster.addon_client_id)
        if s.azure.identity == "kubelet":
            return _Identity("vm", "kubelet", cluster.kubelet_object_id, cluster.kubelet_client_id)
        if s.azure.identity == "servicePrincipal":
            assert s.azure.object_id is not None
            return _Identity("servicePrincipal", "service-principal", s.azure.object_id, None)
        return None

    def _workload_identity(
        self, name: str, platform: Platform, index: int, reader: Reader
    ) -> _Identity:
        """A user-assigned identity federated to the reader's ServiceAccount alone. Aidbox's
        keeps the logical names an existing stack has."""
        s, cluster = self._settings, self._cluster
        prefix = name if index == 0 else f"{name}-{reader.key}"
        identity, federation = federated_identity(
            prefix,
            self,
            resource_group_name=platform.resource_group_name,
            location=platform.location,
            issuer=cluster.oidc_issuer_url,
            subject=f"system:serviceaccount:{s.namespace}:{reader.service_account}",
        )
        grantee = "workload" if index == 0 else f"workload-{reader.key}"
        return _Identity(
            "workload", grantee, identity.principal_id, identity.client_id, (federation,)
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
