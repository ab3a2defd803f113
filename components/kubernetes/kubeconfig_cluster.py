"""Any Kubernetes cluster, reached through a kubeconfig context (cluster.mode kubeconfig):
kind, k3d, another cloud. Nothing in Azure is touched."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from ..settings import KubeconfigSource
from ..settings.kubeconfig import KubeEndpoint, parse_kubeconfig, read_kubeconfig
from .target import aidbox_namespace


def resolve(source: KubeconfigSource) -> KubeEndpoint:
    if source.content is not None:
        return parse_kubeconfig(source.content.value, source.context)
    assert source.path is not None
    text, base = read_kubeconfig(source.path)
    return parse_kubeconfig(text, source.context, base)


@dataclass(frozen=True)
class KubeconfigClusterArgs:
    source: KubeconfigSource
    namespace: str = "default"  # where Aidbox runs; created unless it is "default"


class KubeconfigCluster(pulumi.ComponentResource):
    """A Kubernetes provider for one kubeconfig context. Given as a path, the kubeconfig stays
    on the deployer's machine (the provider reads it); given inline, it is a secret."""

    def __init__(
        self, name: str, args: KubeconfigClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aidbox-secrets:kubernetes:KubeconfigCluster", name, None, opts)
        source = args.source
        self._endpoint = resolve(source)
        kubeconfig: pulumi.Input[str] = (
            source.content.output()
            if source.content is not None
            else str(Path(source.path or "").expanduser())
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=kubeconfig,
            context=self._endpoint.context,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.cluster_name = pulumi.Output.from_input(self._endpoint.context)
        self.api_server_url = pulumi.Output.from_input(self._endpoint.server)
        self.api_server_ca = pulumi.Output.from_input(self._endpoint.ca_pem)
        self.namespace = aidbox_namespace(name, args.namespace, self.provider, self)
        self.register_outputs({"context": self.cluster_name, "apiServer": self.api_server_url})
