"""`aidbox.env` against Aidbox's own settings reference, and the JVM and probe settings (issue 19,
items 2 and 7): every name the program manages is refused, each deprecated alias Aidbox still
reads included; a development switch is refused on production; JAVA_OPTS comes from settings."""

from __future__ import annotations

from typing import Any

import pytest
from test_aidbox_settings import parse, prod, refused

from components.aidbox import render, start
from components.settings import SettingsError
from components.settings.aidbox import STORE_ENV
from components.settings.aidbox_env import DEV_MODE_ENV, MANAGED_ENV

# The settings the program sets, each with the deprecated env names Aidbox's settings reference
# lists for it (HealthSamurai/documentation docs/reference/all-settings.md, "Deprecated
# environment variables"), plus the older admin password and root client secret names that
# Aidbox's production Kubernetes guide still uses (docs/deployment-and-maintenance/deploy-aidbox/
# run-aidbox-in-kubernetes/deploy-production-ready-aidbox-to-kubernetes.md).
UPSTREAM: dict[str, tuple[str, ...]] = {
    "BOX_ID": ("AIDBOX_BOX_ID",),
    "BOX_LICENSE": ("AIDBOX_LICENSE",),
    "JAVA_OPTS": (),
    "BOX_INIT_BUNDLE": (),
    "BOX_VAULT_CONFIG": (),
    "BOX_SECURITY_AUTH_KEYS_PUBLIC": ("BOX_AUTH_KEYS_PUBLIC",),
    "BOX_SECURITY_AUTH_KEYS_PRIVATE": ("BOX_AUTH_KEYS_PRIVATE",),
    "BOX_SECURITY_AUTH_KEYS_SECRET": ("BOX_AUTH_KEYS_SECRET",),
    "BOX_SECURITY_DEV_MODE": ("AIDBOX_DEV_MODE",),
    "BOX_DB_HOST": ("PGHOST",),
    "BOX_DB_PORT": ("PGPORT",),
    "BOX_DB_DATABASE": ("PGDATABASE",),
    "BOX_DB_USER": ("PGUSER",),
    "BOX_DB_PASSWORD": ("PGPASSWORD",),
    "BOX_WEB_BASE_URL": ("AIDBOX_BASE_URL",),
    "BOX_WEB_PORT": ("AIDBOX_PORT",),
    "BOX_METRICS_PORT": (),
    "BOX_ADMIN_PASSWORD": ("AIDBOX_ADMIN_PASSWORD",),
    "BOX_ROOT_CLIENT_SECRET": ("AIDBOX_CLIENT_SECRET",),
}
UPSTREAM_NAMES = sorted({n for name, aliases in UPSTREAM.items() for n in (name, *aliases)})
# Development switches in the same reference: security dev mode (access-policy debug traces),
# the SU header (an administrator acts as another user) and zen dev mode (reloads namespaces),
# each with its deprecated name.
DEV_SWITCHES = (
    "BOX_SECURITY_DEV_MODE",
    "AIDBOX_DEV_MODE",
    "BOX_SECURITY_DEBUG_SU_ENABLE",
    "BOX_DEBUG_SU_ENABLE",
    "BOX_ZEN_PROJECT_DEV_MODE",
    "AIDBOX_ZEN_DEV_MODE",
)


@pytest.mark.parametrize("name", UPSTREAM_NAMES)
def test_every_name_aidbox_reads_for_a_managed_setting_is_refused(name: str) -> None:
    message = refused({"aidbox": {"env": {name: "x"}}}, rf"aidbox\.env\.{name} = \(hidden\)")
    assert "set by the program" in message


@pytest.mark.parametrize("name", sorted(MANAGED_ENV))
def test_every_managed_name_is_refused(name: str) -> None:
    message = refused({"aidbox": {"env": {name: "x"}}}, rf"aidbox\.env\.{name} = \(hidden\)")
    assert "set by the program" in message


def test_every_variable_the_program_renders_is_managed() -> None:
    """What render.aidbox_env sets with every option on, and what the start script exports from
    the store's files, is managed (or a recommended default aidbox.env may override): a
    variable added to either must join the list."""
    listed = render.aidbox_env(
        box_id="aidbox-dev",
        base_url="https://fhir.example.org",
        db_host="db",
        db_port=5432,
        db_name="aidbox",
        db_user="aidbox",
        db_tls=True,
        credentials_secret="aidbox",
        from_store=(),
        has_license=True,
        has_init_bundle=True,
        legacy_secret_dir="/run/x",
        java_opts="-XX:MaxRAMPercentage=75",
    )
    exported = render.store_env_files(
        "/run/x",
        db_password_secret="p",
        env_from_store=[(name, "s") for name in STORE_ENV],
    )
    names = [e["name"] for e in listed] + list(exported) + list(start.KEY_ENV)
    for name in names:
        if name in render.RECOMMENDED_ENV or name.startswith("AIDBOX_DB_PARAM_SSL"):
            continue
        assert name in MANAGED_ENV, f"{name} is set by the program but aidbox.env may set it"
        assert set(UPSTREAM.get(name, ())) <= MANAGED_ENV, name


@pytest.mark.parametrize("name", DEV_SWITCHES)
@pytest.mark.parametrize("value", ["true", True, 1, "TRUE", "yes"])
def test_production_refuses_every_development_switch(name: str, value: Any) -> None:
    assert name in DEV_MODE_ENV
    with pytest.raises(SettingsError, match=rf"aidbox\.env\.{name} = ") as error:
        prod({"env": {name: value}})
    assert "production" in str(error.value)


@pytest.mark.parametrize(
    "name", [n for n in DEV_SWITCHES if n not in ("BOX_SECURITY_DEV_MODE", "AIDBOX_DEV_MODE")]
)
def test_development_switches_are_allowed_off_production_and_off_on_it(name: str) -> None:
    assert parse({"aidbox": {"env": {name: True}}}).aidbox.env == ((name, "true"),)
    assert prod({"env": {name: False}}).aidbox.env == ((name, "false"),)


# -- JVM heap and probes -----------------------------------------------------------------------


def test_java_opts_size_the_heap_from_the_memory_limit() -> None:
    s = parse({})
    assert s.aidbox.heap_percentage == 75 and s.aidbox.java_opts == "-XX:MaxRAMPercentage=75"
    s = parse({"aidbox": {"heapPercentage": 60, "javaOpts": "-Dhttps.proxyHost=proxy"}})
    assert s.aidbox.java_opts == "-XX:MaxRAMPercentage=60 -Dhttps.proxyHost=proxy"


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"heapPercentage": 95}, r"aidbox\.heapPercentage = 95 .* 25 to 90"),
        ({"heapPercentage": 10}, r"aidbox\.heapPercentage = 10"),
        ({"javaOpts": "-Xmx2g"}, r"aidbox\.javaOpts = '-Xmx2g' .*aidbox\.heapPercentage"),
        ({"javaOpts": "-XX:MaxRAMPercentage=80"}, r"aidbox\.javaOpts = .*heapPercentage"),
        ({"javaOpts": "-Dx=1 -XX:MaxRAM=4g"}, r"aidbox\.javaOpts = .*heapPercentage"),
        ({"javaOpts": "-Djavax.net.ssl.trustStorePassword=hunter2"}, r"aidbox\.javaOpts = \("),
    ],
)
def test_java_opts_bad_input(raw: dict[str, Any], match: str) -> None:
    message = refused({"aidbox": raw}, match)
    assert "hunter2" not in message


def test_probe_timeout_defaults_to_the_ha_guide() -> None:
    assert parse({}).aidbox.probe_timeout_seconds == 5
    assert parse({"aidbox": {"probes": {"timeoutSeconds": 10}}}).aidbox.probe_timeout_seconds == 10
    refused({"aidbox": {"probes": {"timeoutSeconds": 0}}}, r"aidbox\.probes\.timeoutSeconds = 0")
    refused({"aidbox": {"probes": {"periodSeconds": 3}}}, r"aidbox\.probes\.periodSeconds")
