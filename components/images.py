"""Every image the program runs, and where each is pulled from: its public registry as pinned,
or (registry.mode acr or external) the copy in a registry you own, which
scripts/import-images.sh makes with `az acr import` (the AKS baseline's way). One place:
the Deployments, the StatefulSet, the Jobs and the Helm values all ask here. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .versions import AZURE_CLI_IMAGE, AZURE_PROVIDER, CSI_DRIVER, VAULT, VAULT_IMAGE, Chart

DOCKER_HUB = "docker.io"


@dataclass(frozen=True)
class Reference:
    """An image reference split into registry host, repository path and its tag or digest."""

    host: str
    path: str
    tag: str | None = None
    digest: str | None = None  # sha256:<hex>

    @property
    def source(self) -> str:
        """The full reference, host included: what `az acr import --source` takes."""
        return f"{self.host}/{self.path}{self.suffix}"

    @property
    def suffix(self) -> str:
        return f"@{self.digest}" if self.digest else f":{self.tag}"

    @property
    def target(self) -> str:
        """The copy's `repository:tag` in your registry (`az acr import --image`); a digest
        keeps its manifest (import copies it unchanged), under a tag naming the digest."""
        tag = f"sha256-{self.digest.split(':', 1)[1][:16]}" if self.digest else self.tag
        return f"{self.path}:{tag}"

    def at(self, server: str) -> str:
        """Where pods pull the copy from."""
        return f"{server}/{self.path}{self.suffix}"


def parse(reference: str) -> Reference:
    """`postgres:17.6` is docker.io/library/postgres:17.6, `hashicorp/vault:2.0.4` is on
    docker.io too: the first part is a host only when it has a dot or a port, or is localhost."""
    name, _, digest = reference.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else None
    if tag is not None:
        name = name[: -len(tag) - 1]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:
        host, path = DOCKER_HUB, name
    if host == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return Reference(host, path, tag, digest or None)


def pull(reference: str, server: str | None) -> str:
    """The image a pod names: as configured without a registry of your own (unchanged, so an
    existing Deployment is not rolled), else your registry's copy."""
    return reference if server is None else parse(reference).at(server)


def chart_values(
    chart: Chart, server: str | None, keys: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """The chart's image values (those under `keys`, default all) pointing at your registry's
    copies; nothing without one."""
    values: dict[str, Any] = {}
    if server is None:
        return values
    for image in chart.images:
        if keys is not None and image.values_key not in keys:
            continue
        ref = parse(image.reference)
        node = values
        for key in image.values_key.split("."):
            node = node.setdefault(key, {})
        node["repository"] = f"{server}/{ref.path}"
        node["tag"] = ref.tag
    return values


def merged(values: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`values` with `extra` laid over it, maps merged key by key."""
    out = dict(values)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def vault_image_keys(mode: str) -> tuple[str, ...]:
    """The Vault chart's images a mode runs: the CSI provider and its agent always, the server
    in the cluster's own modes (dev, ha)."""
    return ("csi.image", "csi.agent.image") + (("server.image",) if mode != "external" else ())


def vault_chart_images(mode: str) -> tuple[str, ...]:
    keys = vault_image_keys(mode)
    return tuple(i.reference for i in VAULT.images if i.values_key in keys)


def snapshot_images() -> tuple[str, ...]:
    """An `ha` Vault's snapshot job: Vault to take the snapshot, the Azure CLI to upload it."""
    return (VAULT_IMAGE.reference, AZURE_CLI_IMAGE.reference)


def required(
    *,
    aidbox_image: str,
    postgres_image: str,
    csi_helm: bool,
    azure_provider: bool,
    vault_mode: str | None,
    vault_snapshots: bool = False,
) -> tuple[Reference, ...]:
    """Every image the settings run (full references, each once): what the registry you own
    must hold before pods pull from it. The PostgreSQL image runs in either database mode: the
    in-cluster database, and the Job that creates Aidbox's role (psql)."""
    found = [aidbox_image, postgres_image]
    if csi_helm:
        found += [i.reference for i in CSI_DRIVER.images]
        if azure_provider:
            found += [i.reference for i in AZURE_PROVIDER.images]
    if vault_mode is not None:
        found += vault_chart_images(vault_mode)
    if vault_snapshots:
        found += snapshot_images()
    unique = {parse(r).source: parse(r) for r in found}
    return tuple(unique.values())


def required_by(settings: Any) -> tuple[Reference, ...]:
    """`required` for a Settings (components/settings)."""
    s = settings
    v = s.vault
    return required(
        aidbox_image=s.aidbox.image,
        postgres_image=s.postgres.image,
        csi_helm=s.csi.install == "helm",
        azure_provider=s.secret_store == "azure",
        vault_mode=v.mode if v is not None else None,
        vault_snapshots=v is not None and v.snapshots is not None and v.snapshots.enabled,
    )
