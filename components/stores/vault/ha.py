"""`ha`: Vault in the cluster with Raft storage, TLS, and auto-unseal by a key in an Azure
Key Vault."""

from __future__ import annotations

import pulumi

from ... import naming
from ...azure.unseal_key import INIT_SECRET_NAME, VaultUnsealKey, VaultUnsealKeyArgs
from ...kubernetes.helm_values import VAULT_CA_FILE, VaultHa, tls_checksum, vault_ha_values
from ...settings import Settings
from .pieces import proxy_address, through_api_server, vault_release
from .records import (
    CA_CONFIG_MAP,
    IN_CLUSTER_API,
    RELEASE_NAME,
    TLS_SECRET,
    Deployer,
    KubernetesAuth,
    Mode,
    StoreContext,
    in_cluster_address,
)
from .snapshots import snapshot_job, vault_metrics
from .tls import server_tls


def ha_mode(ctx: StoreContext) -> Mode:
    s, v, args = ctx.settings, ctx.vault, ctx.args
    ns = v.helm_namespace
    platform, issuer = args.platform, args.oidc_issuer_url
    assert platform is not None and issuer is not None  # the settings refuse ha otherwise
    unseal = VaultUnsealKey(
        f"{ctx.name}-unseal",
        VaultUnsealKeyArgs(
            resource_group_name=platform.resource_group_name,
            location=platform.location,
            tenant_id=platform.tenant_id,
            subscription_id=platform.subscription_id,
            key_vault_name=platform.scope.apply(lambda scope: unseal_key_vault_name(s, scope)),
            oidc_issuer_url=issuer,
            subject=f"system:serviceaccount:{ns}:{RELEASE_NAME}",
            production=s.production,
            lock=s.locks,
            tags=args.tags,
            network=args.network,
            allowed_ranges=s.cluster.api_server_authorized_ranges,
        ),
        opts=pulumi.ResourceOptions(parent=ctx.store),
    )
    tls = server_tls(ctx)
    # The unseal vault's name as it is (the stored one, on an older stack).
    values = pulumi.Output.all(
        unseal.key_vault_name, unseal.client_id, tls.cert_pem, tls.ca_pem
    ).apply(
        lambda found: vault_ha_values(
            VaultHa(
                release=RELEASE_NAME,
                namespace=ns,
                replicas=v.replicas,
                tls_secret=TLS_SECRET,
                ca_config_map=CA_CONFIG_MAP,
                key_vault_name=found[0],
                key_name=unseal.key_name,
                client_id=found[1],
                tls_checksum=tls_checksum(found[2], found[3]),
            )
        )
    )
    # A new Vault is sealed and uninitialised until its one-time init: not ready, so Helm must
    # not wait for it.
    release = vault_release(ctx, values, [*tls.ready, *unseal.ready], wait=False)
    address = proxy_address(ctx, scheme="https", service=f"{RELEASE_NAME}-active")
    deployer: Deployer | None = None
    if v.token is not None:
        deployer = through_api_server(
            ctx, scheme="https", service=f"{RELEASE_NAME}-active", token=v.token.output()
        )
    exports: dict[str, pulumi.Input[object]] = {
        "vaultUnsealKeyVault": unseal.key_vault_name,
        "vaultInitSecret": INIT_SECRET_NAME,
    }
    if v.snapshots is not None and v.snapshots.enabled:
        exports |= snapshot_job(ctx, configured=deployer is not None)
    if s.cluster.mode == "aks" and s.monitoring.prometheus:
        # Azure Monitor's PodMonitors need the cluster's metrics add-on, which the program
        # turns on only for a cluster it creates.
        vault_metrics(ctx, tls.ca_pem)
    return Mode(
        release=release,
        address=address,
        deployer=deployer,
        auth=KubernetesAuth(host=IN_CLUSTER_API),
        pod_address=in_cluster_address(ns, tls_enabled=True),
        ca_cert_path=VAULT_CA_FILE,
        exports=exports,
    )


def unseal_key_vault_name(s: Settings, scope: str) -> str:
    """The `ha` unseal Key Vault: global, so derived like the store's, from its own stack key."""
    return naming.key_vault_name(s.project, f"{s.stack}-unseal", scope)
