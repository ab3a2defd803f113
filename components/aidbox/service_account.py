"""The ServiceAccount Aidbox and the in-cluster database run as: the one the secret store
lets read (Vault role binding, federated credential subject)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ..aliases import moved_from
from ..stores.binding import StoreBinding


@dataclass(frozen=True)
class AidboxServiceAccountArgs:
    provider: k8s.Provider
    namespace: pulumi.Input[str]
    name: str
    binding: StoreBinding
    labels: Mapping[str, str]


class AidboxServiceAccount(pulumi.ComponentResource):
    account_name: pulumi.Output[str]
    resource: k8s.core.v1.ServiceAccount

    def __init__(
        self, name: str, args: AidboxServiceAccountArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:aidbox:ServiceAccount", name, None, opts)
        # It used to be a child of the Aidbox component: keep that identity, so an existing
        # stack keeps the object instead of replacing it.
        self.resource = k8s.core.v1.ServiceAccount(
            "aidbox-service-account",
            metadata={
                "namespace": args.namespace,
                "name": args.name,
                "labels": dict(args.labels),
                "annotations": dict(args.binding.service_account_annotations),
            },
            # The pods never call the Kubernetes API; the CSI driver requests its own tokens.
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                aliases=[moved_from("aidbox-secrets:aidbox:Aidbox", "aidbox")],
            ),
        )
        self.account_name = self.resource.metadata.apply(lambda m: m["name"])
        self.register_outputs({"name": self.account_name})
