"""Gathers this stack's raw config from Pulumi and parses it."""

from __future__ import annotations

import json
import os
from typing import Any

import pulumi

from .aidbox import MONTHLY_TAG, image_tag
from .reader import NAMESPACE
from .stack import SCALAR_KEYS, Settings, parse_settings

# Set by scripts/import-images.sh for its targeted `up` that creates the registry, before the
# images are in it (only the registry is created then; pods are not touched).
REGISTRY_BOOTSTRAP_ENV = "AIDBOX_SECRETS_REGISTRY_BOOTSTRAP"


def _decode(key: str, value: Any) -> Any:
    """Pulumi hands object-valued keys over as JSON text; scalar keys stay as written, so a
    license or other string that starts with '{' or '[' is not mistaken for an object."""
    if key not in SCALAR_KEYS and isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value  # a plain string where an object belongs: the parser says so
    return value


def load_settings() -> Settings:
    """Read this stack's config. Raises SettingsError (a clean RunError) on bad input."""
    from pulumi.runtime import config as runtime_config

    prefix = f"{NAMESPACE}:"
    names = {*runtime_config.CONFIG.get(), *runtime_config.get_config_env()}
    raw, secret_keys = {}, set()
    for full in sorted(n for n in names if n.startswith(prefix)):
        key = full[len(prefix) :]
        raw[key] = _decode(key, runtime_config.get_config(full))
        if runtime_config.is_config_secret(full):
            secret_keys.add(key)
    settings = parse_settings(
        raw,
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
        location=runtime_config.get_config("azure-native:location"),
        secret_keys=frozenset(secret_keys),
        registry_bootstrap=os.environ.get(REGISTRY_BOOTSTRAP_ENV) == "1",
    )
    tag = image_tag(settings.aidbox.image)
    if tag is not None and MONTHLY_TAG.match(tag):
        pulumi.log.warn(
            f"{NAMESPACE}:aidbox.image = {settings.aidbox.image} is a monthly tag that Aidbox "
            "moves with every minor release: pods may run different builds. Pin YYMM.N or a "
            "digest (production refuses it)"
        )
    if settings.aidbox.host is not None and settings.cluster.mode != "kubeconfig":
        pulumi.log.warn(
            f"{NAMESPACE}:aidbox.host: the application routing add-on's managed NGINX (the "
            "Ingress this program declares) has had no Azure support since the end of November "
            "2026; its successor, the add-on's Gateway API implementation, is generally "
            "available but cannot be declared with this program's azure-native provider yet: "
            "plan the move (docs/aidbox.md, 'Public endpoint: NGINX and its successor')"
        )
    egress = settings.network.egress
    if egress.mode == "firewall" and not egress.route_node_pools:
        pulumi.log.warn(
            f"{NAMESPACE}:network.egress.routeNodePools = false: the firewall is created, but "
            "the node pools still leave through the load balancer, unfiltered. Once this `up` "
            "is done, remove the key (or set it to true) and run `pulumi up` again to route "
            "them through the firewall (docs/operations.md, 'Upgrade notes')"
        )
    if not settings.aidbox.has_license:
        pulumi.log.warn(
            f"{NAMESPACE}:aidboxLicense is not set: Aidbox will not start without a license "
            f"(pulumi config set --secret aidboxLicense <license>)"
        )
    return settings
