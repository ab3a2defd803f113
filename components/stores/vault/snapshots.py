"""An `ha` Vault's backups and metrics in the cluster: the snapshot job's storage, identity,
ServiceAccount and CronJob, and (where the program runs the cluster's managed Prometheus) the
PodMonitor that scrapes every Vault pod over TLS."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from ... import naming
from ...azure.snapshot_storage import VaultSnapshotStorage, VaultSnapshotStorageArgs
from ...kubernetes.helm_values import WORKLOAD_CLIENT_ID_ANNOTATION
from ...kubernetes.vault_snapshot import SNAPSHOT_NAME, snapshot_cronjob_spec
from .records import CA_CONFIG_MAP, RELEASE_NAME, StoreContext, in_cluster_address

# Azure Monitor's Prometheus reads TLS material only from this Secret in kube-system, and only
# PodMonitors in kube-system may use it (Azure Monitor docs, "TLS-based scraping").
AMA_TLS_SECRET = "ama-metrics-mtls-secret"
AMA_CA_KEY = "vault-ca.crt"


def snapshot_job(ctx: StoreContext, *, configured: bool) -> dict[str, pulumi.Output[str]]:
    """The storage (off the critical path: it needs only the resource group and network), and
    the CronJob, suspended until Vault is configured. Returns the stack exports."""
    s, v, args = ctx.settings, ctx.vault, ctx.args
    snaps, platform = v.snapshots, args.platform
    assert snaps is not None and platform is not None and args.oidc_issuer_url is not None
    ns = v.helm_namespace
    storage = VaultSnapshotStorage(
        f"{ctx.name}-snapshots",
        VaultSnapshotStorageArgs(
            resource_group_name=platform.resource_group_name,
            location=platform.location,
            subscription_id=platform.subscription_id,
            account_name=platform.scope.apply(
                lambda scope: naming.storage_account_name(s.project, s.stack, scope)
            ),
            oidc_issuer_url=args.oidc_issuer_url,
            subject=f"system:serviceaccount:{ns}:{SNAPSHOT_NAME}",
            retention_days=snaps.retention_days,
            production=s.production,
            lock=s.locks,
            tags=args.tags,
            network=args.network,
            private_dns_zone_id=snaps.private_dns_zone_id,
            allowed_ranges=s.cluster.api_server_authorized_ranges,
        ),
        opts=pulumi.ResourceOptions(parent=ctx.store),
    )
    account = k8s.core.v1.ServiceAccount(
        f"{ctx.name}-snapshot-account",
        metadata={
            "name": SNAPSHOT_NAME,
            "namespace": ns,
            "annotations": {WORKLOAD_CLIENT_ID_ANNOTATION: storage.client_id},
        },
        automount_service_account_token=False,
        opts=ctx.after(ctx.namespace),
    )
    k8s.batch.v1.CronJob(
        f"{ctx.name}-snapshots",
        metadata={"name": SNAPSHOT_NAME, "namespace": ns, "labels": dict(args.labels)},
        spec=pulumi.Output.all(storage.account_name, args.image_registry).apply(
            lambda found: snapshot_cronjob_spec(
                schedule=snaps.schedule,
                vault_address=in_cluster_address(ns, tls_enabled=True).replace(
                    f"//{RELEASE_NAME}.", f"//{RELEASE_NAME}-active."
                ),
                auth_mount=v.auth_mount_path,
                audience=v.audience,
                ca_config_map=CA_CONFIG_MAP,
                account_name=found[0],
                container=storage.container_name,
                suspend=not configured,
                image_registry=found[1],
            )
        ),
        opts=ctx.after(account, *storage.ready),
    )
    return {
        "vaultSnapshotStorageAccount": storage.account_name,
        "vaultSnapshotContainer": pulumi.Output.from_input(storage.container_name),
    }


def pod_monitor_spec(namespace: str, server_name: str) -> dict:
    """Every Vault pod's /v1/sys/metrics over TLS, checked against the program's CA under a
    name the certificate holds (the pods are scraped by address). Pure."""
    return {
        "labelLimit": 63,
        "labelNameLengthLimit": 511,
        "labelValueLengthLimit": 1023,
        "namespaceSelector": {"matchNames": [namespace]},
        "selector": {"matchLabels": {"app.kubernetes.io/name": "vault", "component": "server"}},
        "podMetricsEndpoints": [
            {
                "port": "https",
                "path": "/v1/sys/metrics",
                "params": {"format": ["prometheus"]},
                "scheme": "https",
                "interval": "30s",
                "tlsConfig": {
                    "ca": {"secret": {"name": AMA_TLS_SECRET, "key": AMA_CA_KEY}},
                    "serverName": server_name,
                    "insecureSkipVerify": False,
                },
            }
        ],
    }


def vault_metrics(ctx: StoreContext, ca_pem: pulumi.Input[str]) -> None:
    """The Vault CA (public) where the Prometheus agent reads TLS material, then the PodMonitor
    (the agent wants the Secret first)."""
    ns = ctx.vault.helm_namespace
    secret = k8s.core.v1.Secret(
        f"{ctx.name}-metrics-ca",
        metadata={"name": AMA_TLS_SECRET, "namespace": "kube-system"},
        type="Opaque",
        string_data={AMA_CA_KEY: ca_pem},
        opts=ctx.k8s_opts,
    )
    k8s.apiextensions.CustomResource(
        f"{ctx.name}-metrics",
        api_version="azmonitoring.coreos.com/v1",
        kind="PodMonitor",
        metadata={"name": "vault", "namespace": "kube-system"},
        spec=pod_monitor_spec(ns, f"{RELEASE_NAME}.{ns}.svc"),
        opts=ctx.after(secret),
    )
