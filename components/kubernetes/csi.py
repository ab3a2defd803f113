"""The Secrets Store CSI Driver, installed by its Helm chart."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ..versions import CSI_DRIVER
from .helm import helm_release
from .helm_values import csi_driver_values


@dataclass(frozen=True)
class CsiDriverArgs:
    provider: k8s.Provider
    rotation_poll_interval: str
    workload_identity: bool = False
    scrape_annotations: bool = True
    sync_secrets: bool = False
    namespace: str = "kube-system"
    image_registry: pulumi.Input[str] | None = None  # a registry you own: its copies


class CsiDriver(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    namespace: str

    def __init__(
        self, name: str, args: CsiDriverArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:csi:CsiDriver", name, None, opts)
        self.namespace = args.namespace
        self.release = helm_release(
            f"{name}-driver",
            CSI_DRIVER,
            release_name="csi-secrets-store",
            namespace=args.namespace,
            values=csi_driver_values(
                rotation_poll_interval=args.rotation_poll_interval,
                workload_identity=args.workload_identity,
                scrape_annotations=args.scrape_annotations,
                sync_secrets=args.sync_secrets,
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider),
            image_registry=args.image_registry,
        )
        self.register_outputs({"releaseStatus": self.release.status})
