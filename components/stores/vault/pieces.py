"""What more than one mode declares: the Vault chart release, the CA ConfigMap for the CSI
provider, and the deployer's way to an in-cluster Vault through the API server's service
proxy (Vault has no public endpoint)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from ...images import vault_image_keys
from ...kubernetes.helm import helm_release
from ...versions import VAULT
from ..vault_access import ca_file_path, service_proxy_address, write_ca_file
from .proxy import proxy_account
from .records import CA_CONFIG_MAP, RELEASE_NAME, VAULT_PORT, Deployer, StoreContext


def vault_release(
    ctx: StoreContext,
    values: pulumi.Input[dict],
    needs: list[pulumi.Resource],
    *,
    wait: bool = True,
) -> k8s.helm.v3.Release:
    return helm_release(
        f"{ctx.name}-chart",
        VAULT,
        release_name=RELEASE_NAME,
        namespace=ctx.vault.helm_namespace,
        values=values,
        opts=ctx.after(ctx.namespace, *needs),
        wait=wait,
        image_registry=ctx.args.image_registry,
        image_keys=vault_image_keys(ctx.vault.mode),
    )


def ca_config_map(ctx: StoreContext, pem: pulumi.Input[str]) -> k8s.core.v1.ConfigMap:
    """The CA that signed Vault's certificate (public), for the CSI provider pods."""
    return k8s.core.v1.ConfigMap(
        f"{ctx.name}-ca",
        metadata={"name": CA_CONFIG_MAP, "namespace": ctx.vault.helm_namespace},
        data={"ca.crt": pem},
        opts=ctx.after(ctx.namespace),
    )


def proxy_address(ctx: StoreContext, *, scheme: str, service: str) -> pulumi.Output[str]:
    ns = ctx.vault.helm_namespace
    return ctx.args.cluster.api_server_url.apply(
        lambda url: service_proxy_address(
            url, namespace=ns, service=service, port=VAULT_PORT, scheme=scheme
        )
    )


def through_api_server(
    ctx: StoreContext, *, scheme: str, service: str, token: pulumi.Input[str]
) -> Deployer:
    """The API server's service proxy, as the program's proxy account, trusting the cluster
    CA. The provider takes the CA as a file only: the program writes it (public) to a path
    named by its digest in the user's cache folder, where a later run finds it again; a machine
    where the program has not run yet has no such file, so `refresh` and `destroy` there run the
    program (`--run-program`, docs/operations.md, "Day two")."""
    account = proxy_account(ctx)
    return Deployer(
        address=proxy_address(ctx, scheme=scheme, service=service),
        token=token,
        ca_cert_file=pulumi.Output.unsecret(
            ctx.args.cluster.api_server_ca.apply(lambda pem: write_ca_file(ca_file_path(pem), pem))
        ),
        headers=account.headers,
        ready=account.ready,
    )
