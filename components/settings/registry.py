"""`registry`: where the pods' images come from: their public registries (Docker Hub,
registry.k8s.io, MCR), or a registry you own that holds copies of the pinned images."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .. import images
from .reader import Section, fail

# upstream: each image from its public registry (dev). acr: an Azure Container Registry this
# program creates (cluster.mode aks). external: a registry someone else runs that the cluster
# can already pull from (its login server in registry.server).
REGISTRY_MODES = ("upstream", "acr", "external")
_ACR_NAME = re.compile(r"^[a-zA-Z0-9]{5,50}$")
_SERVER = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9._/-]*[a-z0-9])?$")
ACR_NAME_RULE = "5-50 letters and digits (Azure Container Registry names are global)"
SERVER_RULE = (
    "a registry host (and optional path prefix) in lower case, such as myacr.azurecr.io or "
    "registry.example.org/aidbox, no scheme"
)


@dataclass(frozen=True)
class RegistrySettings:
    mode: str = "upstream"
    # acr: the registry's name, derived (naming.registry_name) unless set.
    name: str | None = None
    server: str | None = None  # external: the login server the images are pulled from
    public_network_access: bool = False  # acr: the nodes use the private endpoint either way
    # The sources scripts/import-images.sh copied into the registry (it writes this list):
    # pods pull only images listed here.
    imported: tuple[str, ...] = ()

    @property
    def owned(self) -> bool:
        """Images come from a registry you own (acr or external), not from their public ones."""
        return self.mode != "upstream"


def parse_registry(top: Section, *, default_mode: str, cluster_mode: str) -> RegistrySettings:
    s = top.section("registry")
    s.reject_unknown(("mode", "name", "server", "publicNetworkAccess", "imported"))
    mode = s.string("mode", default_mode, choices=REGISTRY_MODES) or default_mode
    if mode == "acr" and cluster_mode != "aks":
        s.fail(
            "mode",
            mode,
            f"external (your registry's login server in registry.server) or upstream with "
            f"cluster.mode {cluster_mode}: the program creates a registry, its private endpoint "
            "and the kubelet identity's pull grant only beside a cluster it creates",
        )
    name = s.string("name")
    server = s.string("server")
    if name is not None and mode != "acr":
        s.fail("name", name, "only with registry.mode acr")
    if name is not None and not _ACR_NAME.match(name):
        s.fail("name", name, ACR_NAME_RULE)
    if mode == "external" and server is None:
        s.fail("server", None, f"required with registry.mode external: {SERVER_RULE}")
    if server is not None and mode != "external":
        s.fail("server", server, "only with registry.mode external (acr: the program's own)")
    if server is not None and not _SERVER.match(server):
        s.fail("server", server, SERVER_RULE)
    public = s.boolean("publicNetworkAccess", RegistrySettings.public_network_access)
    if public and mode != "acr":
        s.fail("publicNetworkAccess", public, "only with registry.mode acr")
    imported = s.string_list("imported")
    if imported and mode == "upstream":
        s.fail("imported", list(imported), "only with registry.mode acr or external")
    return RegistrySettings(
        mode=mode,
        name=name,
        server=server,
        public_network_access=public,
        imported=tuple(dict.fromkeys(imported)),
    )


def check_imported(s: Any) -> None:
    """With a registry you own, pods pull only images `scripts/import-images.sh` copied there
    (it records them in registry.imported): a missing one stops the run before any resource,
    rather than a rollout that cannot pull its image. `s`: a Settings (stack.py)."""
    if not s.registry.owned:
        return
    missing = [r.source for r in images.required_by(s) if r.source not in s.registry.imported]
    if missing:
        fail(
            "registry.imported",
            list(s.registry.imported),
            f"it lacks {missing}: the registry (registry.mode {s.registry.mode}) does not hold "
            f"them yet, so pods could not pull them; run `bash scripts/import-images.sh "
            f"{s.stack}`, which copies them with `az acr import` and records them here",
        )
