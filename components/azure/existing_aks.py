"""An AKS cluster this program does not create (cluster.mode existingAks): what the program
needs is read from Azure, and what the cluster lacks for the chosen settings stops the run with
the command that adds it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import containerservice

from ..kubernetes.target import aidbox_namespace
from ..settings import ExistingAks
from ..settings.values import duration_seconds
from .aks import KEY_VAULT_ADDON
from .aks_access import EntraAccess
from .api_server_access import uncovered


@dataclass(frozen=True)
class ClusterNeeds:
    """What the settings ask of the cluster."""

    workload_identity: bool = False  # an OIDC issuer and the workload identity webhook
    key_vault_addon: bool = False  # csi.install aksAddon
    rotation_poll_interval: str = "30s"  # rotationPollInterval: the add-on must poll as often
    app_routing: bool = False  # aidbox.host
    api_server_clients: tuple[str, ...] = ()  # an external Vault's egress (token reviews)


@dataclass(frozen=True)
class ClusterFacts:
    """What an existing cluster has, read from Azure."""

    name: str
    resource_group: str
    oidc_issuer_url: str | None
    workload_identity: bool
    key_vault_addon: bool
    addon_rotation: str | None  # the add-on's poll interval, None where it does not rotate
    app_routing: bool
    kubelet_client_id: str | None
    kubelet_object_id: str | None
    authorized_ranges: tuple[str, ...] = ()  # empty: any address may reach the API server
    private: bool = False


def azure_bool(value: Any, field: str) -> bool:
    """A flag as Azure answers it: a boolean, or (in an add-on's config, a map of strings) the
    string "true" or "false" in any case. Absent is off; anything else stops the run, naming the
    field and the value, rather than guess (a non-empty string is not "on")."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise pulumi.RunError(
        f"{field} = {value!r} in the cluster's getManagedCluster answer is not valid: "
        "expected true or false"
    )


def cluster_facts(cluster: Any, resource_group: str) -> ClusterFacts:
    """The parts of a getManagedCluster result the program uses."""

    def flag(value: Any, field: str) -> bool:
        return azure_bool(value, f"{resource_group}/{cluster.name}: {field}")

    oidc = cluster.oidc_issuer_profile
    security = cluster.security_profile
    workload = security.workload_identity if security else None
    addon = (cluster.addon_profiles or {}).get(KEY_VAULT_ADDON)
    addon_path = f"addonProfiles.{KEY_VAULT_ADDON}"
    config = (addon.config or {}) if addon else {}
    rotates = flag(config.get("enableSecretRotation"), f"{addon_path}.config.enableSecretRotation")
    ingress = cluster.ingress_profile
    routing = ingress.web_app_routing if ingress else None
    kubelet = (cluster.identity_profile or {}).get("kubeletidentity")
    access = cluster.api_server_access_profile
    oidc_on = bool(oidc) and flag(oidc.enabled, "oidcIssuerProfile.enabled")
    return ClusterFacts(
        name=cluster.name,
        resource_group=resource_group,
        oidc_issuer_url=oidc.issuer_url if oidc_on else None,
        workload_identity=bool(workload)
        and flag(workload.enabled, "securityProfile.workloadIdentity.enabled"),
        key_vault_addon=bool(addon) and flag(addon.enabled, f"{addon_path}.enabled"),
        # The add-on polls every 2 minutes unless told otherwise.
        addon_rotation=(config.get("rotationPollInterval") or "2m") if rotates else None,
        app_routing=bool(routing) and flag(routing.enabled, "ingressProfile.webAppRouting.enabled"),
        kubelet_client_id=kubelet.client_id if kubelet else None,
        kubelet_object_id=kubelet.object_id if kubelet else None,
        authorized_ranges=tuple((access.authorized_ip_ranges or []) if access else []),
        private=bool(access)
        and flag(access.enable_private_cluster, "apiServerAccessProfile.enablePrivateCluster"),
    )


def missing(facts: ClusterFacts, needs: ClusterNeeds) -> list[str]:
    """What the cluster lacks for these settings, each with the command that adds it. Pure."""
    az = f"az aks update --resource-group {facts.resource_group} --name {facts.name}"
    problems = []
    if needs.workload_identity and not (facts.oidc_issuer_url and facts.workload_identity):
        problems.append(
            "workload identity (azure.identity workload, or vault.mode ha) needs the cluster's "
            f"OIDC issuer and workload identity: {az} --enable-oidc-issuer "
            "--enable-workload-identity"
        )
    addon_update = (
        f"az aks addon update --resource-group {facts.resource_group} --name {facts.name} "
        "--addon azure-keyvault-secrets-provider --enable-secret-rotation "
        f"--rotation-poll-interval {needs.rotation_poll_interval}"
    )
    if needs.key_vault_addon and not facts.key_vault_addon:
        problems.append(
            "csi.install aksAddon needs the Key Vault add-on: az aks enable-addons "
            f"--resource-group {facts.resource_group} --name {facts.name} "
            "--addons azure-keyvault-secrets-provider (or set csi.install helm)"
        )
    elif needs.key_vault_addon and facts.addon_rotation is None:
        problems.append(f"the Key Vault add-on does not rotate secrets: {addon_update}")
    elif needs.key_vault_addon and duration_seconds(str(facts.addon_rotation)) != (
        duration_seconds(needs.rotation_poll_interval)
    ):
        problems.append(
            f"the Key Vault add-on polls every {facts.addon_rotation}, not every "
            f"{needs.rotation_poll_interval} (rotationPollInterval): set rotationPollInterval "
            f"to {facts.addon_rotation}, or {addon_update}"
        )
    if not needs.key_vault_addon and facts.key_vault_addon:
        problems.append(
            "the cluster runs the Key Vault add-on, which installs the Secrets Store CSI "
            "driver: set csi.install aksAddon (a second driver from Helm would conflict)"
        )
    if needs.app_routing and not facts.app_routing:
        problems.append(
            "aidbox.host needs the application routing add-on: az aks approuting enable "
            f"--resource-group {facts.resource_group} --name {facts.name}"
        )
    missing_ranges = (
        [] if facts.private else uncovered(facts.authorized_ranges, needs.api_server_clients)
    )
    if missing_ranges:
        ranges = ",".join([*facts.authorized_ranges, *missing_ranges])
        problems.append(
            f"the API server does not admit the external Vault's egress {missing_ranges} "
            "(vault.egressCidrs), which reviews every pod's token there: "
            f"{az} --api-server-authorized-ip-ranges {ranges}"
        )
    if not facts.kubelet_object_id:
        problems.append("the cluster has no kubelet managed identity (a service principal?)")
    return problems


def checked(facts: ClusterFacts, needs: ClusterNeeds) -> ClusterFacts:
    problems = missing(facts, needs)
    if problems:
        raise pulumi.RunError(
            f"cluster {facts.resource_group}/{facts.name} (cluster.mode existingAks): "
            + "; ".join(problems)
        )
    return facts


@dataclass(frozen=True)
class ExistingAksClusterArgs:
    cluster: ExistingAks
    kubelogin_mode: str
    needs: ClusterNeeds
    namespace: str = "default"  # where Aidbox runs; created unless it is "default"


class ExistingAksCluster(pulumi.ComponentResource):
    """Reads the cluster (an invoke: known at preview too), checks it has what the settings
    need, and reaches it as the deployer's Entra ID identity. It grants the deployer nothing:
    the cluster's owners do (Azure Kubernetes Service RBAC Admin on the namespace, or Cluster
    Admin where the program creates namespaces or installs the driver)."""

    def __init__(
        self, name: str, args: ExistingAksClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:azure:ExistingAksCluster", name, None, opts)
        target = args.cluster
        found = containerservice.get_managed_cluster_output(
            resource_group_name=target.resource_group,
            resource_name=target.name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        facts = found.apply(lambda c: checked(cluster_facts(c, target.resource_group), args.needs))
        self.cluster_name = pulumi.Output.from_input(target.name)
        self.kubelet_client_id = facts.apply(lambda f: f.kubelet_client_id or "")
        self.kubelet_object_id = facts.apply(lambda f: f.kubelet_object_id or "")
        self.oidc_issuer_url = facts.apply(lambda f: f.oidc_issuer_url or "")
        self.addon_client_id = self.addon_object_id = None
        if args.needs.key_vault_addon:
            identity = found.apply(lambda c: c.addon_profiles[KEY_VAULT_ADDON].identity)
            self.addon_client_id = identity.apply(lambda i: i.client_id)
            self.addon_object_id = identity.apply(lambda i: i.object_id)
        access = EntraAccess(
            name,
            self,
            resource_group_name=target.resource_group,
            # After the check: a cluster that lacks something fails before anything is done.
            cluster_name=facts.apply(lambda f: f.name),
            kubeconfig_name=target.name,
            login=args.kubelogin_mode,
        )
        self.api_server_url, self.api_server_ca = access.api_server_url, access.api_server_ca
        self.provider = access.provider
        self.namespace = aidbox_namespace(name, args.namespace, self.provider, self)
        self.register_outputs(
            {"clusterName": self.cluster_name, "oidcIssuerUrl": self.oidc_issuer_url}
        )
