"""The SecretProviderClass that tells the CSI driver what to mount, built from a store binding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .. import naming
from ..binding import StoreBinding
from ..versions import CSI_DRIVER_NAME, SPC_API_VERSION


def csi_volume(
    name: str, spc_name: pulumi.Input[str], node_publish_secret: str | None
) -> dict[str, Any]:
    """A pod volume the driver fills from a SecretProviderClass, read-only (with the Secret of
    service-principal credentials the driver reads for this pod, where there is one)."""
    csi: dict[str, Any] = {
        "driver": CSI_DRIVER_NAME,
        "readOnly": True,
        "volumeAttributes": {"secretProviderClass": spc_name},
    }
    if node_publish_secret:
        csi["nodePublishSecretRef"] = {"name": node_publish_secret}
    return {"name": name, "csi": csi}


@dataclass(frozen=True)
class SecretProviderClassArgs:
    provider: k8s.Provider
    namespace: pulumi.Input[str]
    binding: StoreBinding
    secret_objects: Sequence[dict[str, Any]] = ()
    # The CSI driver (Helm release or AKS add-on) whose CRD this kind needs.
    depends_on: Sequence[pulumi.Resource] = ()
    spc_name: str = naming.SECRET_PROVIDER_CLASS
    labels: Mapping[str, str] = field(default_factory=dict)


class SecretProviderClass(pulumi.ComponentResource):
    spc_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: SecretProviderClassArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:csi:SecretProviderClass", name, None, opts)
        spec: dict[str, Any] = {
            "provider": args.binding.provider,
            "parameters": args.binding.parameters,
        }
        if args.secret_objects:
            spec["secretObjects"] = list(args.secret_objects)
        resource = k8s.apiextensions.CustomResource(
            f"{name}-spc",
            api_version=SPC_API_VERSION,
            kind="SecretProviderClass",
            metadata={
                "name": args.spc_name,
                "namespace": args.namespace,
                "labels": dict(args.labels),
            },
            spec=spec,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                depends_on=[*args.depends_on, *args.binding.ready],
            ),
        )
        self.spc_name = resource.metadata.apply(lambda m: m["name"])
        self.register_outputs({"name": self.spc_name})
