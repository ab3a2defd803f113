"""Pure renderers: vault config, init Bundle, container env."""

from __future__ import annotations

import json

from components.aidbox import render
from components.settings import Scope, SecretSpec

CLIENT = SecretSpec("client-secret", Scope("Client", "basic"))
ANY_CLIENT = SecretSpec("shared", Scope("Client"))
INTROSPECTOR = SecretSpec("jwt-key", Scope("TokenIntrospector", "ti-1"))


def test_vault_config_maps_each_secret_to_its_file_and_scope() -> None:
    config = render.vault_config([CLIENT, ANY_CLIENT, INTROSPECTOR], "/run/azure-secrets")
    assert config == {
        "secret": {
            "client-secret": {
                "path": "/run/azure-secrets/client-secret",
                "scope": {"resource_type": "Client", "id": "basic"},
            },
            "shared": {"path": "/run/azure-secrets/shared", "scope": {"resource_type": "Client"}},
            "jwt-key": {
                "path": "/run/azure-secrets/jwt-key",
                "scope": {"resource_type": "TokenIntrospector", "id": "ti-1"},
            },
        }
    }


def test_vault_config_follows_the_mount_dir() -> None:
    config = render.vault_config([CLIENT], "/run/vault-secrets/")
    assert config["secret"]["client-secret"]["path"] == "/run/vault-secrets/client-secret"


def test_init_bundle_creates_each_client_scoped_by_id_only_if_absent() -> None:
    """A conditional create (Aidbox: configuration/init-bundle.md, `ifNoneExist: _id=...`), not
    a PUT: a Client changed at run time is left as it is at the next start."""
    bundle = render.init_bundle([CLIENT, ANY_CLIENT, INTROSPECTOR])
    assert bundle is not None
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "transaction"
    assert len(bundle["entry"]) == 1  # only Client/basic names a Client to create
    entry = bundle["entry"][0]
    assert entry["request"] == {"method": "POST", "url": "Client", "ifNoneExist": "_id=basic"}
    client = entry["resource"]
    assert client["resourceType"] == "Client" and client["id"] == "basic"
    assert client["grant_types"] == ["client_credentials", "basic"]  # the dev default
    only = SecretSpec(
        "client-secret", Scope("Client", "basic"), grant_types=("client_credentials",)
    )
    created = render.init_bundle([only])
    assert created is not None and created["entry"][0]["resource"]["grant_types"] == [
        "client_credentials"
    ]
    assert "secret" not in client  # the value never appears, only the reference
    assert client["_secret"] == {
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                "valueCode": "masked",
            },
            {
                "url": "http://health-samurai.io/fhir/secret-reference",
                "valueString": "client-secret",
            },
        ]
    }


def test_no_bundle_without_a_client_id() -> None:
    assert render.init_bundle([ANY_CLIENT, INTROSPECTOR]) is None


def test_json_is_stable_and_checksum_changes_with_content() -> None:
    doc = render.vault_config([CLIENT], "/run/azure-secrets")
    text = render.to_json(doc)
    assert json.loads(text) == doc and text == render.to_json(json.loads(text))
    other = render.to_json(render.vault_config([CLIENT], "/run/vault-secrets"))
    assert render.checksum(text) != render.checksum(other)
    assert render.checksum(text) == render.checksum(text)


ENV_ARGS: dict[str, object] = dict(
    box_id="aidbox-dev",
    base_url="http://aidbox.default.svc.cluster.local:8080",
    db_host="aidbox-db.default.svc.cluster.local",
    db_port=5432,
    db_name="aidbox",
    db_user="aidbox",
    db_tls=False,
    credentials_secret="aidbox",
    from_store=(),
    has_license=True,
    has_init_bundle=True,
    legacy_secret_dir=None,
    java_opts="-XX:MaxRAMPercentage=75",
)
# What the store holds and Aidbox reads from env: the start script exports it (start.py).
STORE_ENV = (
    "BOX_DB_PASSWORD",
    "BOX_SECURITY_AUTH_KEYS_PRIVATE",
    "BOX_SECURITY_AUTH_KEYS_PUBLIC",
    "BOX_SECURITY_AUTH_KEYS_SECRET",
)


def env(**overrides: object) -> dict[str, dict]:
    args = {**ENV_ARGS, **overrides}
    return {e["name"]: e for e in render.aidbox_env(**args)}  # type: ignore[arg-type]


def test_env_takes_generated_credentials_from_their_secret_and_store_values_not_at_all() -> None:
    by_name = env()
    for name, (secret, key) in {
        "BOX_ADMIN_PASSWORD": ("aidbox", "admin-password"),
        "BOX_ROOT_CLIENT_SECRET": ("aidbox", "root-client-secret"),
        "BOX_LICENSE": ("aidbox", "license"),
    }.items():
        assert "value" not in by_name[name]
        assert by_name[name]["valueFrom"] == {"secretKeyRef": {"name": secret, "key": key}}
    assert not [name for name in STORE_ENV if name in by_name]
    assert by_name["BOX_VAULT_CONFIG"]["value"] == "/etc/aidbox/vault-config.json"
    assert by_name["BOX_INIT_BUNDLE"]["value"] == "file:///etc/aidbox/init-bundle.json"
    assert by_name["BOX_WEB_PORT"]["value"] == "8080"
    assert by_name["BOX_DB_HOST"]["value"] == "aidbox-db.default.svc.cluster.local"
    assert "AIDBOX_SECRET_FILES_ENABLED" not in by_name


def test_env_without_license_bundle_and_with_legacy_switch() -> None:
    by_name = env(has_license=False, has_init_bundle=False, legacy_secret_dir="/run/azure-secrets")
    assert "BOX_LICENSE" not in by_name and "BOX_INIT_BUNDLE" not in by_name
    assert by_name["AIDBOX_SECRET_FILES_ENABLED"]["value"] == "true"
    assert by_name["AIDBOX_SECRET_FILES_DIRS"]["value"] == "/run/azure-secrets"


def test_env_from_the_store_replaces_generated_credentials() -> None:
    by_name = env(has_license=False, from_store=("BOX_LICENSE", "BOX_ADMIN_PASSWORD"))
    assert "BOX_LICENSE" not in by_name and "BOX_ADMIN_PASSWORD" not in by_name
    assert by_name["BOX_ROOT_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "aidbox"
    files = render.store_env_files(
        "/run/vault-secrets/",
        db_password_secret="aidbox-db-app-password",
        env_from_store=(("BOX_LICENSE", "lic"), ("BOX_ADMIN_PASSWORD", "admin")),
    )
    assert files == {
        "BOX_DB_PASSWORD": "/run/vault-secrets/aidbox-db-app-password",
        "BOX_LICENSE": "/run/vault-secrets/lic",
        "BOX_ADMIN_PASSWORD": "/run/vault-secrets/admin",
    }


def test_env_only_secrets_stay_out_of_the_vault_config() -> None:
    env_only = SecretSpec("license", None)
    config = render.vault_config([CLIENT, env_only], "/run/azure-secrets")
    assert list(config["secret"]) == ["client-secret"]
    assert render.init_bundle([env_only]) is None


def test_recommended_settings_are_defaults_and_dev_mode_is_off() -> None:
    by_name = env()
    assert by_name["BOX_BOOTSTRAP_FHIR_PACKAGES"]["value"] == "hl7.fhir.r4.core#4.0.1"
    for name in (
        "BOX_FHIR_COMPLIANT_MODE",
        "BOX_FHIR_SCHEMA_VALIDATION",
        "BOX_SECURITY_AUDIT_LOG_ENABLED",
    ):
        assert by_name[name]["value"] == "true"
    assert by_name["BOX_SETTINGS_MODE"]["value"] == "read-write"
    assert by_name["BOX_SECURITY_DEV_MODE"]["value"] == "false"
    assert env(dev_mode=True)["BOX_SECURITY_DEV_MODE"]["value"] == "true"


def test_extra_env_adds_and_overrides_recommended_settings_once() -> None:
    extra = (("BOX_FHIR_TERMINOLOGY_ENGINE", "local"), ("BOX_WEB_THREAD", "8"))
    listed = render.aidbox_env(**{**ENV_ARGS, "extra_env": extra})  # type: ignore[arg-type]
    names = [e["name"] for e in listed]
    assert len(names) == len(set(names))
    by_name = {e["name"]: e for e in listed}
    assert by_name["BOX_FHIR_TERMINOLOGY_ENGINE"]["value"] == "local"
    assert by_name["BOX_WEB_THREAD"]["value"] == "8"


def test_managed_database_connection_requires_verified_tls() -> None:
    assert "AIDBOX_DB_PARAM_SSLMODE" not in env()
    by_name = env(db_tls=True)
    assert by_name["AIDBOX_DB_PARAM_SSLMODE"]["value"] == "verify-full"
    assert by_name["AIDBOX_DB_PARAM_SSLFACTORY"]["value"].startswith("org.postgresql.ssl.")
