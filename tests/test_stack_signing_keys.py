"""Aidbox's token-signing keys rotate atomically (issue 19 #3): the RSA key pair and the HS256
secret are one store entry, `aidbox-auth-keys` (one Key Vault secret, one Vault KV entry), so a
rotation is one write and every pod reads one version of all three. Aidbox's start script splits
that one file into the three variables Aidbox reads; here under mocks for both stores, and the
script the Deployment carries run by real shells."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shells
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from harness import AZURE_DEV, PEM_PRIVATE_HEAD, VAULT_EXTERNAL, Mocks, StackRun, run_stack

# The names, written out: the same in the stores, the runbooks of docs/operations.md and
# existing stacks.
AUTH_KEYS = "aidbox-auth-keys"
RETIRED_SECRETS = ("aidbox-auth-private-key", "aidbox-auth-public-key", "aidbox-auth-secret")

KV_SECRET = "azure-native:keyvault:Secret"
KV2 = "vault:kv/secretV2:SecretV2"
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
KEY_ENV = (
    "BOX_SECURITY_AUTH_KEYS_PRIVATE",
    "BOX_SECURITY_AUTH_KEYS_PUBLIC",
    "BOX_SECURITY_AUTH_KEYS_SECRET",
)
STORES = {"azure": AZURE_DEV, "vault": VAULT_EXTERNAL}


@pytest.fixture(scope="module", params=list(STORES))
def run(request: pytest.FixtureRequest) -> StackRun:
    return run_stack(STORES[request.param], secret_keys=("vault",))


def seeds(run: StackRun) -> dict[str, str]:
    """Each store entry the program creates, with the value it is seeded with."""
    if run.of_type(KV2):
        return {
            r.props["name"].rsplit("/", 1)[1]: json.loads(r.props["dataJson"])["value"]
            for r in run.of_type(KV2)
        }
    return {r.props["secretName"]: r.props["properties"]["value"] for r in run.of_type(KV_SECRET)}


def aidbox_container(run: StackRun) -> dict:
    pod = run.k8s("apps/v1:Deployment", "aidbox").props["spec"]["template"]["spec"]
    return pod["containers"][0]


def aidbox_mount(run: StackRun) -> str:
    mounts = aidbox_container(run)["volumeMounts"]
    return next(m["mountPath"] for m in mounts if m["name"] == "secrets-store")


def test_the_key_pair_and_secret_are_one_store_entry(run: StackRun) -> None:
    values = seeds(run)
    assert AUTH_KEYS in values
    assert not set(RETIRED_SECRETS) & set(values), "the keys are still three store entries"
    from components import key_bundle

    bundle = key_bundle.parse(values[AUTH_KEYS])
    assert bundle.private_key.startswith(PEM_PRIVATE_HEAD)
    assert bundle.public_key.startswith("-----BEGIN PUBLIC KEY-----\n")
    assert bundle.secret == "generated-generated-auth-secret"
    # The class Aidbox mounts lists the bundle, and none of the old names.
    objects = [
        s["spec"]["parameters"]["objects"]
        for s in (r.props for r in run.of_type(SPC))
        if s["metadata"]["name"] == "aidbox-secrets"
    ]
    assert len(objects) == 1 and AUTH_KEYS in objects[0]
    assert not [name for name in RETIRED_SECRETS if name in objects[0]]


def _pem_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # `openssl genrsa -traditional`
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_the_deployment_splits_the_one_file_into_the_three_settings(
    run: StackRun, shell: str, tmp_path: Path
) -> None:
    """The Deployment's own start command, run by a real shell over a mount holding a bundle:
    the three variables are the bundle's three parts, byte for byte."""
    from components import key_bundle

    command = aidbox_container(run)["command"]
    assert command[:2] == ["/bin/sh", "-c"]
    mount = tmp_path / "mount"
    mount.mkdir()
    private, public = _pem_pair()
    (mount / AUTH_KEYS).write_text(key_bundle.compose(private, public, "hs256-0123456789abcdef"))
    for name in ("aidbox-db-app-password", "client-secret"):
        (mount / name).write_text(f"{name}-value")
    script = command[2].replace(aidbox_mount(run), str(mount))
    script = script.replace("/aidbox.sh", str(shells.entrypoint(tmp_path)))
    env = shells.exported(shells.run_script(shell, script))
    assert env["BOX_SECURITY_AUTH_KEYS_PRIVATE"] == private.rstrip("\n")
    assert env["BOX_SECURITY_AUTH_KEYS_PUBLIC"] == public.rstrip("\n")
    assert env["BOX_SECURITY_AUTH_KEYS_SECRET"] == "hs256-0123456789abcdef"
    # None of them comes from a Kubernetes Secret any more.
    assert not [e for e in aidbox_container(run)["env"] if e["name"] in KEY_ENV]


def test_an_older_vault_stack_seeds_the_bundle_from_its_three_entries() -> None:
    """vault.seedKeyBundleFromEntries: the keys in use (a rotation included) go into the
    bundle, so the upgrade keeps every session."""
    from components import key_bundle

    kv = {f"secret/aidbox/client/{name}": {"value": f"current-{name}"} for name in RETIRED_SECRETS}
    kv["secret/aidbox/client/aidbox-auth-private-key"] = {
        "value": "-----BEGIN RSA PRIVATE KEY-----\nR\n-----END RSA PRIVATE KEY-----\n"
    }
    kv["secret/aidbox/client/aidbox-auth-public-key"] = {
        "value": "-----BEGIN PUBLIC KEY-----\nP\n-----END PUBLIC KEY-----\n"
    }
    config = {
        **VAULT_EXTERNAL,
        "vault": {**VAULT_EXTERNAL["vault"], "seedKeyBundleFromEntries": True},
    }
    run = run_stack(config, secret_keys=("vault",), mocks=Mocks(vault_kv=kv))
    bundle = key_bundle.parse(seeds(run)[AUTH_KEYS])
    assert bundle.private_key == "-----BEGIN RSA PRIVATE KEY-----\nR\n-----END RSA PRIVATE KEY-----"
    assert bundle.public_key == "-----BEGIN PUBLIC KEY-----\nP\n-----END PUBLIC KEY-----"
    assert bundle.secret == "current-aidbox-auth-secret"
