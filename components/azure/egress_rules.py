"""What the firewall the program creates allows, and nothing else: pure rule sets.

Modelled on the AKS baseline's hub firewall policy (mspnp/aks-baseline,
network-team/hub-regionA.bicep, `fwPolicy`): application rules on HTTPS 443 from the node
subnets only, for the `AzureKubernetesService` FQDN tag (what AKS itself needs: the API
server's FQDN, MCR, Entra ID, Azure Resource Manager, packages), Azure Monitor and the Azure
Policy add-on; one network rule to the region's Azure addresses on 443 for what reaches a
public API server by address. To that, this program adds the registries its images come from
and Aidbox's own destinations. Key Vault and PostgreSQL are private endpoints in the network:
never a firewall rule. Names are filtered by the TLS SNI (Azure Firewall Standard); a name
allowed here is allowed to every pod on the nodes (the firewall sees the node's address).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..settings import Settings
from ..versions import AZURE_CLI_IMAGE, VAULT_CSI_PROVIDER_IMAGE, VAULT_IMAGE

AKS_FQDN_TAG = "AzureKubernetesService"
DOCKER_HUB = "docker.io"
# The hosts a registry serves pulls from (its API, token service and blob CDN), in one place:
# a registry that a later change brings in (e.g. the stack's own Azure Container Registry)
# gets its entry here.
REGISTRY_FQDNS: dict[str, tuple[str, ...]] = {
    # Docker's firewall allowlist (docs.docker.com, desktop/setup/allow-list): the registry,
    # its token service and the two blob CDNs (anonymous pulls come from the R2 bucket).
    DOCKER_HUB: (
        "registry-1.docker.io",
        "auth.docker.io",
        "production.cloudflare.docker.com",
        "docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com",
    ),
    # Also in the AKS FQDN tag; stated for the Azure provider's own images.
    "mcr.microsoft.com": ("mcr.microsoft.com", "*.data.mcr.microsoft.com"),
    # registry.k8s.io redirects blob downloads to Google Artifact Registry (`*.pkg.dev`) for
    # clients outside AWS. Its maintainers warn the backends change without notice and advise
    # mirroring instead of allow-listing (the README of kubernetes/registry.k8s.io, "Stability"):
    # production should pull these from a registry of its own.
    "registry.k8s.io": ("registry.k8s.io", "*.pkg.dev"),
}
# Registries of the images the vendored charts deploy with their own defaults (values.yaml).
DRIVER_CHART_REGISTRY = "registry.k8s.io"  # secrets-store-csi-driver 1.6.0
AZURE_PROVIDER_CHART_REGISTRY = "mcr.microsoft.com"  # csi-secrets-store-provider-azure 1.8.2
# Azure Monitor's agents (Azure Monitor, "Network firewall requirements for monitoring
# Kubernetes cluster"); the region's own endpoints are added per location.
CONTAINER_INSIGHTS_FQDNS = (
    "*.ods.opinsights.azure.com",
    "*.oms.opinsights.azure.com",
    "dc.services.visualstudio.com",
    "global.handler.control.monitor.azure.com",
    "*.ingest.monitor.azure.com",
)
PROMETHEUS_FQDNS = (
    "global.handler.control.monitor.azure.com",
    "*.metrics.ingest.monitor.azure.com",
)
# The Azure Policy add-on (hub-regionA.bicep, `azure-policy-addon`).
AZURE_POLICY_FQDNS = ("data.policy.core.windows.net", "store.policy.core.windows.net")
HTTPS = [{"protocol_type": "Https", "port": 443}]


def image_registry(reference: str) -> str:
    """The registry host of an image reference, as Docker and containerd read it: the first
    path component when it has a '.' or a port or is localhost, else Docker Hub."""
    first, _, rest = reference.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return DOCKER_HUB if first in ("docker.io", "index.docker.io") else first
    return DOCKER_HUB


def program_registries(settings: Settings) -> tuple[str, ...]:
    """The registries the program's own pods pull from, sorted: Aidbox; PostgreSQL's image (the
    in-cluster database, and the Job that creates Aidbox's database role with its psql); the
    CSI driver and Azure provider charts; Vault (server, CSI provider, snapshot job) and the
    snapshot job's uploader. With a registry you own they all pull from it: an Azure Container
    Registry of the program's through its private endpoint, in the network and never routed to
    the firewall (nothing to allow); an external one by its host."""
    r = settings.registry
    if r.mode == "acr":
        return ()
    if r.mode == "external" and r.server is not None:
        return (r.server.split("/", 1)[0],)
    hosts = {image_registry(settings.aidbox.image), image_registry(settings.postgres.image)}
    if settings.csi.install == "helm":
        hosts.add(DRIVER_CHART_REGISTRY)
        if settings.azure is not None:
            hosts.add(AZURE_PROVIDER_CHART_REGISTRY)
    v = settings.vault
    if v is not None:
        hosts |= {
            image_registry(VAULT_IMAGE.reference),
            image_registry(VAULT_CSI_PROVIDER_IMAGE.reference),
        }
        if v.mode == "ha" and v.snapshots is not None and v.snapshots.enabled:
            hosts.add(image_registry(AZURE_CLI_IMAGE.reference))
    return tuple(sorted(hosts))


def registry_fqdns(hosts: Iterable[str]) -> list[str]:
    """The names to allow for `hosts`; a registry not listed above is allowed by its host."""
    found: list[str] = []
    for host in hosts:
        found += REGISTRY_FQDNS.get(host, (host.split(":")[0],))
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class EgressNeeds:
    """What the cluster behind the firewall reaches out for."""

    location: str
    sources: tuple[str, ...]  # the node subnets
    registries: tuple[str, ...]  # program_registries
    aidbox: tuple[str, ...]  # aidbox.destinations: license, packages, terminology, allowed
    prometheus: bool
    container_insights: bool
    public_api_server: bool  # not cluster.private: the nodes reach it through the firewall
    # vault.mode external: the Vault CSI provider's pods reach it (through the firewall unless
    # its address is in the network, a peered one or on-premises).
    vault_address: str | None = None


def _application(name: str, description: str, needs: EgressNeeds, **target: Any) -> dict:
    return {
        "rule_type": "ApplicationRule",
        "name": name,
        "description": description,
        "protocols": HTTPS,
        "source_addresses": list(needs.sources),
        **target,
    }


def vault_rule(needs: EgressNeeds) -> dict[str, Any]:
    """An external Vault on its own port: by name (an application rule), or, for an address, a
    network rule (application rules take names only)."""
    assert needs.vault_address is not None
    url = urlsplit(needs.vault_address)
    https = url.scheme == "https"
    port = url.port or (443 if https else 80)
    host = url.hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return _application(
            "vault",
            "The external Vault the Vault CSI provider reads secrets from (vault.address)",
            needs,
            protocols=[{"protocol_type": "Https" if https else "Http", "port": port}],
            target_fqdns=[host],
        )
    return {
        "rule_type": "NetworkRule",
        "name": "vault",
        "description": "The external Vault the Vault CSI provider reads secrets from",
        "ip_protocols": ["TCP"],
        "source_addresses": list(needs.sources),
        "destination_addresses": [host],
        "destination_ports": [str(port)],
    }


def _collection(name: str, priority: int, rules: list[dict]) -> dict[str, Any]:
    return {
        "rule_collection_type": "FirewallPolicyFilterRuleCollection",
        "name": name,
        "priority": priority,
        "action": {"type": "Allow"},
        "rules": rules,
    }


def rule_collections(needs: EgressNeeds) -> list[dict[str, Any]]:
    """The firewall policy's rule collections (one rule collection group), allow only: the
    firewall denies everything they do not name."""
    monitor = []
    if needs.container_insights:
        monitor += CONTAINER_INSIGHTS_FQDNS
    if needs.prometheus:
        monitor += PROMETHEUS_FQDNS
    if monitor:
        monitor.append(f"{needs.location}.handler.control.monitor.azure.com")
    cluster = [
        _application(
            "aks",
            "What AKS needs (the FQDN tag: API server, MCR, Entra ID, ARM, node packages)",
            needs,
            fqdn_tags=[AKS_FQDN_TAG],
        ),
        _application(
            "azure-policy",
            "The Azure Policy add-on",
            needs,
            target_fqdns=list(AZURE_POLICY_FQDNS),
        ),
    ]
    if monitor:
        cluster.append(
            _application(
                "azure-monitor",
                "Container Insights and managed Prometheus agents",
                needs,
                target_fqdns=list(dict.fromkeys(monitor)),
            )
        )
    workloads = []
    if needs.registries:
        workloads.append(
            _application(
                "images",
                "The registries of the images this program deploys: " + ", ".join(needs.registries),
                needs,
                target_fqdns=registry_fqdns(needs.registries),
            )
        )
    if needs.aidbox:
        workloads.append(
            _application(
                "aidbox",
                "Aidbox's license, FHIR packages and terminology (docs: overview/faq, 'What "
                "network access does Aidbox require?'), and network.egress.allowedFqdns",
                needs,
                target_fqdns=list(needs.aidbox),
            )
        )
    vault = vault_rule(needs) if needs.vault_address else None
    if vault is not None and vault["rule_type"] == "ApplicationRule":
        workloads.append(vault)
    collections: list[dict[str, Any]] = []
    if vault is not None and vault["rule_type"] == "NetworkRule":
        collections.append(_collection("external-vault", 110, [vault]))
    if needs.public_api_server:
        # The baseline's `pods-to-api-server-konnectivity`: pods reach the public API server by
        # its address; AKS publishes no narrower tag. A private cluster's is in the network.
        api_server = {
            "rule_type": "NetworkRule",
            "name": "api-server",
            "description": "Pods and konnectivity to the public API server",
            "ip_protocols": ["TCP"],
            "source_addresses": list(needs.sources),
            "destination_addresses": [f"AzureCloud.{needs.location}"],
            "destination_ports": ["443"],
        }
        collections.append(_collection("aks-api-server", 100, [api_server]))
    collections.append(_collection("aks-cluster", 200, cluster))
    if workloads:
        collections.append(_collection("workloads", 300, workloads))
    return sorted(collections, key=lambda c: c["priority"])
