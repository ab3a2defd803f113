"""Settings of issue 9: endpoint, autoscaling, aidbox.env, image pinning on production,
reserved secret names and the database mode. Each bad input is refused naming key and value."""

from __future__ import annotations

from typing import Any

import pytest

from components.settings import SettingsError, parse_settings
from components.settings.managed import (
    MANAGED_KUBERNETES_SECRET,
    MANAGED_SECRETS,
    RESERVED_SECRETS,
)
from components.settings.postgres import parse_flexible
from components.settings.reader import Section

SECRETS = {"client-secret": {"scope": "Client/basic"}}
# Production settings that meet every other rule (the cluster's included).
PROD = {
    "production": True,
    "aidboxLicense": "lic",
    "aidbox": {
        "replicas": 2,
        "image": "healthsamurai/aidboxone:2605.0",
        "internal": {"baseUrl": "https://fhir.example.org"},
    },
    "cluster": {
        "apiServerAuthorizedRanges": ["203.0.113.0/28"],
        "adminGroupObjectIds": ["0f6b1e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"],
    },
}


def parse(raw: dict[str, Any], *, secret_keys: tuple[str, ...] = (), **kwargs: Any):
    return parse_settings(
        {"secretStore": "azure", "secrets": SECRETS, **raw},
        project="aidbox-secrets",
        stack="dev",
        secret_keys=frozenset(secret_keys),
        # The images a registry must hold are tests/test_registry.py's concern.
        registry_bootstrap=True,
        **kwargs,
    )


def prod(aidbox: dict[str, Any] | None = None, **raw: Any):
    return parse(
        {**PROD, "aidbox": {**PROD["aidbox"], **(aidbox or {})}, **raw},
        secret_keys=("aidboxLicense",),
    )


def refused(raw: dict[str, Any], match: str, **kwargs: Any) -> str:
    with pytest.raises(SettingsError, match=match) as error:
        parse(raw, **kwargs)
    return str(error.value)


# -- managed secrets ----------------------------------------------------------------------------


def test_program_secrets_join_the_users_and_are_mirrored_nowhere() -> None:
    s = parse({})
    managed = [spec for spec in s.secrets if spec.managed]
    assert [spec.name for spec in managed] == list(MANAGED_SECRETS)
    # Aidbox's start script reads the files: no Kubernetes Secret mirrors a managed secret.
    assert all(spec.kubernetes_secret is None for spec in managed)
    assert all(spec.scope is None and spec.value is None for spec in managed)
    assert [spec.name for spec in s.secrets if not spec.managed] == ["client-secret"]


# The managed names, and the three the signing keys had before their bundle (a Key Vault keeps
# them after an upgrade).
@pytest.mark.parametrize("name", RESERVED_SECRETS)
def test_user_secrets_may_not_take_a_reserved_name(name: str) -> None:
    message = refused(
        {"secrets": {name: {"scope": "Client/basic"}}}, rf"secrets\.{name} = '\(set\)'"
    )
    assert "reserved" in message


def test_user_secrets_may_not_sync_into_the_programs_secret() -> None:
    synced = {"scope": "Client/basic", "kubernetesSecret": {"name": MANAGED_KUBERNETES_SECRET}}
    refused({"secrets": {"client-secret": synced}}, r"kubernetesSecret\.name = 'aidbox-managed'")


def test_env_from_store_cannot_point_at_a_program_secret() -> None:
    refused(
        {"aidbox": {"envFromStore": {"BOX_ADMIN_PASSWORD": "aidbox-db-password"}}},
        r"aidbox\.envFromStore\.BOX_ADMIN_PASSWORD = 'aidbox-db-password'",
    )


# -- aidbox.env ---------------------------------------------------------------------------------


def test_env_accepts_numbers_and_booleans_as_text() -> None:
    s = parse({"aidbox": {"env": {"BOX_WEB_THREAD": 8, "BOX_FHIR_COMPLIANT_MODE": False}}})
    assert s.aidbox.env == (("BOX_FHIR_COMPLIANT_MODE", "false"), ("BOX_WEB_THREAD", "8"))


@pytest.mark.parametrize(
    "name",
    ["BOX_DB_HOST", "BOX_SECURITY_AUTH_KEYS_PUBLIC", "PGPASSWORD", "AIDBOX_DB_PARAM_SSLMODE"],
)
def test_env_may_not_override_managed_variables(name: str) -> None:
    message = refused({"aidbox": {"env": {name: "x"}}}, rf"aidbox\.env\.{name} = \(hidden\)")
    assert "set by the program" in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BOX_MODULE_PROVIDER_SMTP_PASSWORD", "hunter2"),
        ("MY_API_KEY", "abc"),
        ("BOX_SOMETHING", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"),
        ("BOX_SOMETHING", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"),
        ("BOX_SOMETHING", "postgres://aidbox:hunter2@db:5432/aidbox"),
    ],
    ids=["password-name", "key-name", "pem", "jwt", "url-credentials"],
)
def test_env_refuses_secrets_and_never_shows_them(name: str, value: str) -> None:
    message = refused({"aidbox": {"env": {name: value}}}, rf"aidbox\.env\.{name} = \(hidden\)")
    assert "secret store" in message
    assert value not in message and "hunter2" not in message


def test_env_names_are_env_names() -> None:
    refused({"aidbox": {"env": {"box-web-thread": "8"}}}, r"aidbox\.env\.box-web-thread")


# -- public endpoint ----------------------------------------------------------------------------


def test_host_makes_an_https_base_url() -> None:
    s = parse({"aidbox": {"host": "fhir.example.org", "tls": {"secretName": "fhir-tls"}}})
    assert s.aidbox.base_url == "https://fhir.example.org"
    assert parse({}).aidbox.base_url is None


@pytest.mark.parametrize(
    "host",
    [
        "https://fhir.example.org",
        "fhir.example.org:443",
        "Fhir.Example.org",
        "fhir",
        "-a.example.org",
    ],
)
def test_host_must_be_a_dns_name(host: str) -> None:
    message = refused({"aidbox": {"host": host}}, r"aidbox\.host = ")
    assert repr(host) in message and "DNS name" in message


def test_host_needs_exactly_one_certificate_source() -> None:
    refused({"aidbox": {"host": "fhir.example.org"}}, r"aidbox\.tls = None .* exactly one")
    both = {"keyVaultCertificateUri": "https://kv-a.vault.azure.net/certificates/fhir"}
    both["secretName"] = "fhir-tls"
    refused(
        {"aidbox": {"host": "fhir.example.org", "tls": both}, "csi": {"install": "aksAddon"}},
        r"aidbox\.tls = '\(both\)'",
    )
    refused(
        {"aidbox": {"tls": {"secretName": "x"}}}, r"aidbox\.tls = '\(set\)'.*needs aidbox\.host"
    )


def test_key_vault_certificate_needs_the_aks_key_vault_add_on() -> None:
    uri = "https://kv-a.vault.azure.net/certificates/fhir"
    aidbox = {"host": "fhir.example.org", "tls": {"keyVaultCertificateUri": uri}}
    message = refused({"aidbox": aidbox}, r"aidbox\.tls\.keyVaultCertificateUri = ")
    assert "csi.install aksAddon" in message
    s = parse({"aidbox": aidbox, "csi": {"install": "aksAddon"}})
    assert s.aidbox.tls is not None and s.aidbox.tls.key_vault_certificate_uri == uri
    refused(
        {"aidbox": {**aidbox, "tls": {"keyVaultCertificateUri": "https://x/certs/y"}}},
        r"keyVaultCertificateUri = 'https://x/certs/y'",
        location="westeurope",
    )


# -- autoscaling --------------------------------------------------------------------------------


def test_autoscaling_bounds() -> None:
    s = parse({"aidbox": {"autoscaling": {"minReplicas": 2, "maxReplicas": 6}}})
    assert s.aidbox.autoscaling is not None and s.aidbox.min_replicas == 2
    assert s.aidbox.autoscaling.target_cpu_utilization == 70
    refused(
        {"aidbox": {"autoscaling": {"minReplicas": 5, "maxReplicas": 3}}},
        r"aidbox\.autoscaling\.minReplicas = 5 .* at most .*\(3\)",
    )
    refused(
        {"aidbox": {"replicas": 2, "autoscaling": {"minReplicas": 2, "maxReplicas": 3}}},
        r"aidbox\.replicas = 2 .* autoscaler owns",
    )
    refused({"aidbox": {"autoscaling": {"minReplicas": 2}}}, r"maxReplicas = None .* required")


# -- production ---------------------------------------------------------------------------------


def test_production_needs_two_pods_at_the_autoscalers_floor() -> None:
    autoscaled = {
        "autoscaling": {"minReplicas": 1, "maxReplicas": 4},
        "internal": PROD["aidbox"]["internal"],
        "image": PROD["aidbox"]["image"],
    }
    with pytest.raises(SettingsError, match=r"aidbox\.autoscaling\.minReplicas = 1"):
        parse(
            {**PROD, "aidbox": autoscaled},
            secret_keys=("aidboxLicense",),
        )
    s = parse(
        {**PROD, "aidbox": {**autoscaled, "autoscaling": {"minReplicas": 2, "maxReplicas": 4}}},
        secret_keys=("aidboxLicense",),
    )
    assert s.aidbox.min_replicas == 2


def test_production_never_runs_dev_mode() -> None:
    assert parse({"aidbox": {"devMode": True}}).aidbox.dev_mode is True
    with pytest.raises(SettingsError, match=r"aidbox\.devMode = True .* never on production"):
        prod({"devMode": True})


@pytest.mark.parametrize(
    "image",
    ["healthsamurai/aidboxone:2605.0", "healthsamurai/aidboxone@sha256:" + "a" * 64],
)
def test_production_accepts_a_fixed_release_or_a_digest(image: str) -> None:
    assert prod({"image": image}).aidbox.image == image


@pytest.mark.parametrize(
    "image", ["healthsamurai/aidboxone:2605", "healthsamurai/aidboxone:2605-rc"]
)
def test_production_refuses_a_moving_tag(image: str) -> None:
    assert parse({"aidbox": {"image": image}}).aidbox.image == image  # dev: allowed
    with pytest.raises(SettingsError, match=rf"aidbox\.image = .{image}. .*\(YYMM\.N\)"):
        prod({"image": image})


# -- database -----------------------------------------------------------------------------------


def test_in_cluster_database_is_the_default() -> None:
    s = parse({})
    assert s.postgres.mode == "inCluster" and s.postgres.flexible is None


def test_the_managed_database_is_the_production_default() -> None:
    assert prod().postgres.mode == "azureFlexible" and prod().postgres.flexible is not None
    assert parse({}).postgres.mode == "inCluster" and parse({}).postgres.flexible is None
    assert parse({"postgres": {"mode": "azureFlexible"}}).postgres.flexible is not None
    assert prod(postgres={"mode": "inCluster"}).postgres.flexible is None


def test_zone_redundant_ha_is_the_default_only_where_the_region_has_zones() -> None:
    assert flexible("westeurope").high_availability
    assert not flexible("westcentralus").high_availability


def flexible(location: str = "westeurope", **raw: Any):
    return parse_flexible(Section("postgres.azureFlexible", raw), location)


def test_flexible_server_settings_are_parsed() -> None:
    f = flexible(version=17, backupRetentionDays=14, highAvailability=False, tier="Burstable")
    assert (f.version, f.backup_retention_days, f.high_availability) == ("17", 14, False)
    d = flexible()
    assert d.version == "16" and d.high_availability and d.backup_retention_days == 35


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"version": "15"}, r"version = '15' .* pinned major"),
        ({"version": "16.4"}, r"version = '16\.4'"),
        ({"backupRetentionDays": 40}, r"backupRetentionDays = 40 .* 7 to 35"),
        (
            {"tier": "Burstable", "highAvailability": True},
            r"highAvailability = True .* not Burstable",
        ),
        ({"sku": "D4ds_v5"}, r"sku = 'D4ds_v5'"),
    ],
)
def test_flexible_server_bad_input(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(SettingsError, match=match):
        flexible(**raw)


def test_zone_redundant_ha_needs_a_region_with_zones() -> None:
    with pytest.raises(SettingsError, match=r"highAvailability = True .* westus has no"):
        flexible("westus", highAvailability=True)
    assert flexible("westus", highAvailability=False).high_availability is False


def test_flexible_settings_contradictions_are_refused() -> None:
    burstable = {"mode": "azureFlexible", "azureFlexible": {"tier": "Burstable"}}
    assert not parse({"postgres": burstable}).postgres.flexible.high_availability
    burstable_ha = {**burstable["azureFlexible"], "highAvailability": True}
    refused(
        {"postgres": {"mode": "azureFlexible", "azureFlexible": burstable_ha}},
        r"highAvailability = True",
    )
    refused(
        {"postgres": {"azureFlexible": {"version": "16"}}},
        r"postgres\.azureFlexible = '\(set\)' .* only for postgres\.mode azureFlexible",
    )


# -- the address users reach (issue 19 #6) ------------------------------------------------------


def test_production_needs_the_address_users_reach() -> None:
    bare = {**PROD, "aidbox": {**PROD["aidbox"], "internal": None}}
    with pytest.raises(SettingsError, match=r"aidbox\.host = None .* required on production"):
        parse(bare, secret_keys=("aidboxLicense",))
    public = {
        **PROD["aidbox"],
        "internal": None,
        "host": "fhir.example.org",
        "tls": {"secretName": "fhir-tls"},
    }
    # A public host answers through the load balancer, so production keeps it only with
    # Aidbox's egress narrowed (behind the egress firewall it is refused: tests/test_egress.py).
    narrowed = {"egress": {"mode": "loadBalancer"}, "aidboxEgressCidrs": ["198.51.100.7/32"]}
    s = parse({**PROD, "aidbox": public, "network": narrowed}, secret_keys=("aidboxLicense",))
    assert s.aidbox.base_url == "https://fhir.example.org"
    internal = prod({"internal": {"baseUrl": "https://aidbox.hospital.example"}})
    assert internal.aidbox.base_url == "https://aidbox.hospital.example"


@pytest.mark.parametrize(
    "url",
    [
        "http://aidbox.hospital.example",
        "https://aidbox.default.svc",
        "https://aidbox.default.svc.cluster.local:8080",
        "https://localhost:8080",
        "aidbox.hospital.example",
        "https://user:pw@aidbox.hospital.example",
    ],
)
def test_production_internal_url_is_https_outside_the_cluster(url: str) -> None:
    assert parse({"aidbox": {"internal": {"baseUrl": "http://localhost:8080"}}}).aidbox.base_url
    with pytest.raises(SettingsError, match=r"aidbox\.internal\.baseUrl = ") as error:
        prod({"internal": {"baseUrl": url}})
    assert "pw" not in str(error.value)


def test_internal_url_and_host_exclude_each_other() -> None:
    refused(
        {
            "aidbox": {
                "host": "fhir.example.org",
                "tls": {"secretName": "fhir-tls"},
                "internal": {"baseUrl": "https://fhir.example.org"},
            }
        },
        r"aidbox\.internal\.baseUrl = .* not with aidbox\.host",
    )


# -- the Clients the init Bundle creates (issue 18 #8) ------------------------------------------


def test_production_leaves_basic_auth_out_unless_configured() -> None:
    dev = parse({}).secrets[0]
    assert dev.grant_types == ("client_credentials", "basic")
    assert prod().secrets[0].grant_types == ("client_credentials",)
    configured = {"client-secret": {"scope": "Client/basic", "grantTypes": ["basic"]}}
    assert prod(secrets=configured).secrets[0].grant_types == ("basic",)


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"scope": "Client", "grantTypes": ["basic"]}, r"grantTypes = .* Client/<id>"),
        ({"scope": "TokenIntrospector/t", "grantTypes": ["basic"]}, r"grantTypes = "),
        (
            {"scope": "Client/basic", "grantTypes": ["client-credentials"]},
            r"grantTypes = \['client-credentials'\] .*'client_credentials'",
        ),
        ({"scope": "Client/basic", "grantTypes": []}, r"grantTypes = \[\]"),
    ],
)
def test_grant_types_bad_input(entry: dict[str, Any], match: str) -> None:
    refused({"secrets": {"client-secret": entry}}, rf"secrets\.client-secret\.{match}")
