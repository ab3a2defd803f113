"""Any Kubernetes cluster, reached through a kubeconfig context (cluster.mode kubeconfig):
kind, k3d, another cloud. Nothing in Azure is touched."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from ..local_files import write_atomically
from ..settings import KubeconfigSource
from .kubeconfig import KubeEndpoint, parse_kubeconfig, read_kubeconfig
from .target import ApiServerLogin, aidbox_namespace, bearer_header


def resolve(source: KubeconfigSource) -> KubeEndpoint:
    if source.content is not None:
        return parse_kubeconfig(source.content.value, source.context)
    assert source.path is not None
    text, base = read_kubeconfig(source.path)
    return parse_kubeconfig(text, source.context, base)


def write_private(path: Path, text: str) -> str:
    """A file only its owner reads (a client key from the user's own kubeconfig, for the
    Vault provider, which takes files only)."""
    return write_atomically(path, text, mode=0o600, folder_mode=0o700)


def credentials_dir(project: str, stack: str) -> Path:
    return Path(tempfile.gettempdir()) / f"aidbox-secrets-{os.getuid()}" / f"{project}-{stack}"


@dataclass(frozen=True)
class KubeconfigClusterArgs:
    source: KubeconfigSource
    project: str
    stack: str
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
        self._args = args
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

    def api_server_login(self, parent: pulumi.Resource) -> ApiServerLogin:
        """The kubeconfig user's client certificate (written to private files) or token."""
        e = self._endpoint
        if e.client_cert_pem and e.client_key_pem:
            folder = credentials_dir(self._args.project, self._args.stack)
            return ApiServerLogin(
                client_cert_file=write_private(folder / "client.crt", e.client_cert_pem),
                client_key_file=write_private(folder / "client.key", e.client_key_pem),
            )
        if e.token:
            return ApiServerLogin(headers=pulumi.Output.secret([bearer_header(e.token)]))
        raise pulumi.RunError(
            f"kubeconfig context {e.context!r}: the user has neither a client certificate nor "
            "a token, which the Vault provider needs to reach Vault through the API server"
        )
