"""Where Aidbox itself opens HTTPS connections, read from the settings its Deployment gets (the
recommended settings and `aidbox.env`), for the firewall's allow list. Pure.

Aidbox's docs (overview/faq.md, "What network access does Aidbox require?") list the license
portal (aidbox.app and its subdomains), the terminology server, the FHIR package registry and
Google Cloud Storage for the IG package *list*. The last is left out: it is the whole of Google
Cloud Storage (any bucket, anyone's), and Aidbox starts without it (packages come from the
registry, `BOX_BOOTSTRAP_FHIR_PACKAGES` names its versions); only browsing the package list in
Aidbox's UI needs it. Allow it with `network.egress.allowedFqdns` if you want that.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..settings import Settings
from .render import RECOMMENDED_ENV

LICENSE_PORTAL = ("aidbox.app", "*.aidbox.app")
PACKAGE_REGISTRY_ENV = "BOX_FHIR_NPM_PACKAGE_REGISTRY"
DEFAULT_PACKAGE_REGISTRY = "https://fs.get-ig.org/pkgs"  # all-settings.md, its default
TERMINOLOGY_ENGINE_ENV = "BOX_FHIR_TERMINOLOGY_ENGINE"
TERMINOLOGY_URL_ENVS = (
    "BOX_FHIR_TERMINOLOGY_ENGINE_HYBRID_EXTERNAL_TX_SERVER",
    "BOX_FHIR_TERMINOLOGY_SERVICE_BASE_URL",
)


def _host(url: str) -> str | None:
    host = urlsplit(url).hostname
    return host.lower() if host else None


def aidbox_destinations(settings: Settings) -> tuple[str, ...]:
    """License portal, FHIR package registry, the terminology server unless the engine is
    local, then `network.egress.allowedFqdns`."""
    env = {**RECOMMENDED_ENV, **dict(settings.aidbox.env)}
    found = [*LICENSE_PORTAL, _host(env.get(PACKAGE_REGISTRY_ENV, DEFAULT_PACKAGE_REGISTRY))]
    if env.get(TERMINOLOGY_ENGINE_ENV, "").lower() != "local":
        found += sorted({_host(env[k]) for k in TERMINOLOGY_URL_ENVS if env.get(k)} - {None})
    found += settings.network.egress.allowed_fqdns
    return tuple(dict.fromkeys(h for h in found if h))
