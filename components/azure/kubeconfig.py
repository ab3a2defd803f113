"""A kubeconfig for an Entra ID cluster that holds no credential: the API server, its CA, and
an `exec` user that asks kubelogin for a token each time. Pure."""

from __future__ import annotations

import base64
from typing import Any

import yaml

# The AKS-managed Entra ID server application: the audience of every AKS user token.
AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
# kubelogin's non-interactive logins: the Azure CLI's signed-in identity (people, and CI after
# azure/login), a federated workload identity (AZURE_CLIENT_ID, AZURE_TENANT_ID,
# AZURE_FEDERATED_TOKEN_FILE), or the managed identity of the VM running `pulumi`.
KUBELOGIN_LOGINS = ("azurecli", "workloadidentity", "msi")


def cluster_endpoint(kubeconfig: str) -> tuple[str, str]:
    """(API server URL, base64 CA bundle) of a kubeconfig's first cluster."""
    cluster = yaml.safe_load(kubeconfig)["clusters"][0]["cluster"]
    return cluster["server"], cluster["certificate-authority-data"]


def decode_kubeconfig(kubeconfigs: Any) -> str:
    return base64.b64decode(kubeconfigs[0].value).decode()


def kubelogin_args(login: str, client_id: str | None = None) -> list[str]:
    """`kubelogin get-token` for the API server's audience. With `msi` and several managed
    identities on the VM, IMDS cannot tell which one is meant: `--client-id` names it."""
    if login not in KUBELOGIN_LOGINS:
        raise ValueError(f"unknown kubelogin login {login!r}")
    if client_id is not None and login != "msi":
        raise ValueError(f"a client id is for the msi login only, not {login!r}")
    args = ["get-token", "--login", login, "--server-id", AKS_SERVER_APP_ID]
    return [*args, "--client-id", client_id] if client_id else args


def exec_kubeconfig(
    name: str, server: str, ca_data: str, login: str, client_id: str | None = None
) -> str:
    args = kubelogin_args(login, client_id)
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": name, "cluster": {"server": server, "certificate-authority-data": ca_data}}
            ],
            "users": [
                {
                    "name": f"{name}-kubelogin",
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "kubelogin",
                            "args": args,
                            "interactiveMode": "Never",
                            "provideClusterInfo": False,
                        }
                    },
                }
            ],
            "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-kubelogin"}}],
            "current-context": name,
        },
        sort_keys=False,
    )


def get_credentials_command(resource_group: str, cluster: str, login: str = "azurecli") -> str:
    """What a person runs for their own kubeconfig (Entra ID, no static credential)."""
    return (
        f"az aks get-credentials --resource-group {resource_group} --name {cluster} "
        f"--overwrite-existing && kubelogin convert-kubeconfig --login {login}"
    )
