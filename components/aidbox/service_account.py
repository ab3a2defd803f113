"""A ServiceAccount a reader of the secret store runs as: Aidbox's, and the database's (the
in-cluster server and the role Job). The store lets each read only its own secrets (Vault role
binding, federated credential subject)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ..aliases import moved_from
from ..binding import StoreBinding

AIDBOX_ACCOUNT_RESOURCE = "aidbox-service-account"


@dataclass(frozen=True)
class StoreServiceAccountArgs:
    provider: k8s.Provider
    namespace: pulumi.Input[str]
    name: str
    binding: StoreBinding  # the reader's
    labels: Mapping[str, str]
    # The ServiceAccount's logical name. Aidbox's is the one it had as a child of the Aidbox
    # component (an alias keeps that identity, so an existing stack keeps the object).
    resource_name: str = AIDBOX_ACCOUNT_RESOURCE


class StoreServiceAccount(pulumi.ComponentResource):
    account_name: pulumi.Output[str]
    resource: k8s.core.v1.ServiceAccount

    def __init__(
        self, name: str, args: StoreServiceAccountArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:aidbox:ServiceAccount", name, None, opts)
        aliases = []
        if args.resource_name == AIDBOX_ACCOUNT_RESOURCE:
            aliases = [moved_from("aidbox-secrets:aidbox:Aidbox", "aidbox")]
        self.resource = k8s.core.v1.ServiceAccount(
            args.resource_name,
            metadata={
                "namespace": args.namespace,
                "name": args.name,
                "labels": dict(args.labels),
                "annotations": dict(args.binding.service_account_annotations),
            },
            # The pods never call the Kubernetes API; the CSI driver requests its own tokens.
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.provider, aliases=aliases or None
            ),
        )
        self.account_name = self.resource.metadata.apply(lambda m: m["name"])
        self.register_outputs({"name": self.account_name})
