"""Pure renderers for Aidbox: vault config, init Bundle, container env. No Pulumi here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from ..settings import SecretSpec

CONFIG_DIR = "/etc/aidbox"
VAULT_CONFIG_FILE = "vault-config.json"
INIT_BUNDLE_FILE = "init-bundle.json"
WEB_PORT = 8080
METRICS_PORT = 8765

DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
SECRET_REFERENCE = "http://health-samurai.io/fhir/secret-reference"


def secret_file(mount_dir: str, name: str) -> str:
    return f"{mount_dir.rstrip('/')}/{name}"


def vault_config(secrets: Iterable[SecretSpec], mount_dir: str) -> dict[str, Any]:
    """Aidbox's BOX_VAULT_CONFIG document: each secret's file and the resources that may use it."""
    entries = {}
    for spec in secrets:
        if spec.scope is None:
            continue
        scope: dict[str, str] = {"resource_type": spec.scope.resource_type}
        if spec.scope.id:
            scope["id"] = spec.scope.id
        entries[spec.name] = {"path": secret_file(mount_dir, spec.name), "scope": scope}
    return {"secret": entries}


def secret_reference(name: str) -> dict[str, Any]:
    """The `_<field>` element that stands for a secret: masked, and naming the secret."""
    return {
        "extension": [
            {"url": DATA_ABSENT_REASON, "valueCode": "masked"},
            {"url": SECRET_REFERENCE, "valueString": name},
        ]
    }


def init_bundle(secrets: Iterable[SecretSpec]) -> dict[str, Any] | None:
    """A transaction Bundle that creates each Client a secret is scoped to by id, only if it is
    absent: a conditional create (`ifNoneExist: _id=<id>`, Aidbox's init Bundle page,
    configuration/init-bundle.md). Aidbox runs the Bundle at every start; a PUT would undo every
    change made to the Client at run time. A later change of grantTypes in the settings does
    not reach an existing Client either: change it through Aidbox's API."""
    entries = []
    for spec in secrets:
        if spec.scope is None or spec.scope.resource_type != "Client" or not spec.scope.id:
            continue
        client = {
            "resourceType": "Client",
            "id": spec.scope.id,
            "grant_types": list(spec.grant_types),
            "_secret": secret_reference(spec.name),
        }
        request = {"method": "POST", "url": "Client", "ifNoneExist": f"_id={spec.scope.id}"}
        entries.append({"request": request, "resource": client})
    if not entries:
        return None
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def to_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def checksum(*texts: str) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
    return digest.hexdigest()


def secret_env(name: str, secret_name: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}


# Aidbox's recommended settings (docs: configuration/recommended-envs.md), minus what the
# program sets itself (ports, base URL, database, credentials, dev mode). `aidbox.env` may
# override any of them.
RECOMMENDED_ENV = {
    "BOX_BOOTSTRAP_FHIR_PACKAGES": "hl7.fhir.r4.core#4.0.1",
    "BOX_COMPATIBILITY_VALIDATION_JSON__SCHEMA_REGEX": "#{:fhir-datetime}",
    "BOX_FHIR_BUNDLE_EXECUTION_VALIDATION_MODE": "limited",
    "BOX_FHIR_COMPLIANT_MODE": "true",
    "BOX_FHIR_CORRECT_AIDBOX_FORMAT": "true",
    "BOX_FHIR_CREATEDAT_URL": "https://aidbox.app/ex/createdAt",
    "BOX_FHIR_SCHEMA_VALIDATION": "true",
    "BOX_FHIR_SEARCH_AUTHORIZE_INLINE_REQUESTS": "true",
    "BOX_FHIR_SEARCH_CHAIN_SUBSELECT": "true",
    "BOX_FHIR_SEARCH_COMPARISONS": "true",
    "BOX_FHIR_TERMINOLOGY_ENGINE": "hybrid",
    "BOX_FHIR_TERMINOLOGY_ENGINE_HYBRID_EXTERNAL_TX_SERVER": "https://tx.health-samurai.io/fhir",
    "BOX_FHIR_TERMINOLOGY_SERVICE_BASE_URL": "https://tx.health-samurai.io/fhir",
    "BOX_MODULE_SDC_STRICT_ACCESS_CONTROL": "true",
    "BOX_SEARCH_INCLUDE_CONFORMANT": "true",
    "BOX_SECURITY_AUDIT_LOG_ENABLED": "true",
    "BOX_SETTINGS_MODE": "read-write",
}
# What the program generates into the `aidbox` Kubernetes Secret (env var -> key), unless
# aidbox.envFromStore reads it from the store.
GENERATED_CREDENTIALS = {
    "BOX_ADMIN_PASSWORD": "admin-password",
    "BOX_ROOT_CLIENT_SECRET": "root-client-secret",
}
# JDBC parameters (AIDBOX_DB_PARAM_<NAME> -> <name>) for a managed server: TLS required, the
# certificate checked against the JVM's trust store and the host name.
DB_TLS_ENV = {
    "AIDBOX_DB_PARAM_SSLMODE": "verify-full",
    "AIDBOX_DB_PARAM_SSLFACTORY": "org.postgresql.ssl.DefaultJavaSSLFactory",
}


def store_env_files(
    mount_dir: str, *, db_password_secret: str, env_from_store: Iterable[tuple[str, str]]
) -> dict[str, str]:
    """Env vars Aidbox's start script exports from the store's mounted files (start.py):
    the database password and aidbox.envFromStore (the signing keys come from their bundle)."""
    files = {"BOX_DB_PASSWORD": secret_file(mount_dir, db_password_secret)}
    files |= {env: secret_file(mount_dir, name) for env, name in env_from_store}
    return files


def aidbox_env(
    *,
    box_id: str,
    base_url: object,
    db_host: object,
    db_port: int,
    db_name: str,
    db_user: str,
    db_tls: bool,
    credentials_secret: str,
    from_store: Collection[str],
    has_license: bool,
    has_init_bundle: bool,
    legacy_secret_dir: str | None,
    java_opts: str,
    dev_mode: bool = False,
    extra_env: Iterable[tuple[str, str]] = (),
) -> list[dict[str, Any]]:
    """The container env: plain settings as values, the generated credentials from their
    Secret. What the store holds (`from_store`, the database password, the signing keys) is
    not here: the start script exports it from the mounted files. `db_host` and `base_url` may
    be Pulumi outputs."""
    env: list[dict[str, Any]] = [
        {"name": "BOX_ID", "value": box_id},
        {"name": "BOX_WEB_PORT", "value": str(WEB_PORT)},
        {"name": "BOX_METRICS_PORT", "value": str(METRICS_PORT)},
        {"name": "BOX_WEB_BASE_URL", "value": base_url},
        {"name": "BOX_DB_HOST", "value": db_host},
        {"name": "BOX_DB_PORT", "value": str(db_port)},
        {"name": "BOX_DB_DATABASE", "value": db_name},
        {"name": "BOX_DB_USER", "value": db_user},
    ]
    if db_tls:
        env += [{"name": k, "value": v} for k, v in DB_TLS_ENV.items()]
    generated = dict(GENERATED_CREDENTIALS)
    if has_license:
        generated["BOX_LICENSE"] = "license"
    for name in ("BOX_ADMIN_PASSWORD", "BOX_ROOT_CLIENT_SECRET", "BOX_LICENSE"):
        if name in generated and name not in from_store:
            env.append(secret_env(name, credentials_secret, generated[name]))
    env.append({"name": "BOX_VAULT_CONFIG", "value": f"{CONFIG_DIR}/{VAULT_CONFIG_FILE}"})
    if has_init_bundle:
        env.append({"name": "BOX_INIT_BUNDLE", "value": f"file://{CONFIG_DIR}/{INIT_BUNDLE_FILE}"})
    if legacy_secret_dir:
        # Builds before BOX_VAULT_CONFIG read every file under these directories instead.
        env.append({"name": "AIDBOX_SECRET_FILES_ENABLED", "value": "true"})
        env.append({"name": "AIDBOX_SECRET_FILES_DIRS", "value": legacy_secret_dir})
    env.append({"name": "BOX_SECURITY_DEV_MODE", "value": "true" if dev_mode else "false"})
    env.append({"name": "JAVA_OPTS", "value": java_opts})
    settings = {**RECOMMENDED_ENV, **dict(extra_env)}
    env += [{"name": k, "value": settings[k]} for k in sorted(settings)]
    return env
