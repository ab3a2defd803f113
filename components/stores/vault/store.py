"""The HashiCorp Vault store component: it sets up the configured mode, configures Vault
through pulumi-vault once the deployer can reach it, and binds the store for the
SecretProviderClass and the Aidbox pod."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_kubernetes as k8s

from ...binding import StoreBinding
from ...kubernetes.pod_security import REASON_ANNOTATION, namespace_labels
from ...kubernetes.vault_network_policies import (
    VaultNetworkPolicies,
    VaultNetworkPoliciesArgs,
    VaultTraffic,
)
from ...settings.vault import KV_VALUE_KEY
from ..parameters import vault_parameters
from ..vault_access import vault_port
from .configure import configure, role_name
from .dev import dev_mode
from .external import external_mode
from .ha import ha_mode
from .records import MOUNT_DIR, HashiCorpVaultStoreArgs, Mode, StoreContext

# The Vault server's pods meet the restricted standard (helm_values sets their security
# contexts); the chart's vault-csi-provider DaemonSet cannot: it creates its socket in the
# node's CSI provider directory (a hostPath volume, which baseline and restricted forbid) as
# root. Audit and warn stay at restricted, so anything else that falls short shows.
VAULT_NAMESPACE_LEVEL = "privileged"
VAULT_NAMESPACE_REASON = (
    "vault-csi-provider (a DaemonSet of the Vault chart) creates its socket in the node's CSI "
    "provider directory, a hostPath volume, as root: the baseline and restricted standards "
    "forbid both; it runs without capabilities, privilege escalation or unconfined seccomp, "
    "and the Vault server pods meet restricted (audit and warn: restricted)"
)

MODES: dict[str, Callable[[StoreContext], Mode]] = {
    "dev": dev_mode,
    "ha": ha_mode,
    "external": external_mode,
}


class HashiCorpVaultStore(pulumi.ComponentResource):
    address: pulumi.Output[str]  # how the deployer reaches Vault
    bindings: dict[str, StoreBinding]  # per reader (settings/managed.py), by key

    def __init__(
        self, name: str, args: HashiCorpVaultStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:stores:HashiCorpVaultStore", name, None, opts)
        s = args.settings
        v = s.vault
        assert v is not None
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.cluster.provider)
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": v.helm_namespace,
                "labels": namespace_labels(VAULT_NAMESPACE_LEVEL),
                "annotations": {REASON_ANNOTATION: VAULT_NAMESPACE_REASON},
            },
            opts=k8s_opts,
        )
        ctx = StoreContext(
            name=name,
            store=self,
            settings=s,
            vault=v,
            args=args,
            k8s_opts=k8s_opts,
            namespace=namespace,
        )
        mode = MODES[v.mode](ctx)
        if s.cluster.mode != "kubeconfig":
            # AKS: the API server's proxy comes from its konnectivity agents
            # (docs/security.md, "Network").
            VaultNetworkPolicies(
                f"{name}-netpol",
                VaultNetworkPoliciesArgs(
                    provider=args.cluster.provider,
                    namespace=v.helm_namespace,
                    traffic=VaultTraffic(
                        server=v.mode != "external",
                        snapshots=v.snapshots is not None and v.snapshots.enabled,
                        metrics=v.mode == "ha",
                        external_port=vault_port(v.address) if v.address else None,
                    ),
                    labels=args.labels,
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
            )

        self.address = pulumi.Output.from_input(mode.address)
        ready: dict[str, list[pulumi.Resource]] = {r.key: [] for r in args.readers}
        if mode.deployer is None:
            pulumi.log.warn(
                f"vault.mode {v.mode}: Vault is installed but not configured yet. Run its "
                "one-time init (docs/vault.md, 'ha: the one-time init'), set the token with "
                "`pulumi config set --secret --path vault.token`, then `pulumi up` again; "
                "until then the SecretProviderClasses, Aidbox and its in-cluster database (which "
                "reads its password from the store) are not deployed.",
                resource=self,
            )
        else:
            ready = configure(ctx, mode, args.readers)
        exports = {"vaultAddress": self.address, "vaultMode": v.mode, **mode.exports}
        self.bindings = {
            reader.key: StoreBinding(
                provider="vault",
                mount_dir=MOUNT_DIR,
                parameters=pulumi.Output.from_input(
                    vault_parameters(
                        address=mode.pod_address,
                        role_name=role_name(ctx, index, reader),
                        names=list(reader.secrets),
                        secret_api_path=v.secret_api_path,
                        key=KV_VALUE_KEY,
                        auth_mount_path=v.auth_mount_path,
                        namespace=v.namespace,
                        audience=v.audience,
                        ca_cert_path=mode.ca_cert_path,
                    )
                ),
                ready=[mode.release, *ready[reader.key]],
                configured=mode.deployer is not None,
                exports=exports,
            )
            for index, reader in enumerate(args.readers)
        }
        self.register_outputs({"vaultAddress": self.address})
