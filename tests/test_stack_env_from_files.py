"""The signing keys, the database password and the env-only settings taken from the store never
pass through etcd (issue 19 #4). Aidbox reads them from environment variables only (its settings
reference: "Set via: Environment variables", no file form), so its container starts through a
script that exports them from the store's mounted files and then runs the image's own
entrypoint; nothing is mirrored into a Kubernetes Secret, and the driver gets no write access to
Secrets unless a user's `secrets.<name>.kubernetesSecret` asks for a mirror."""

from __future__ import annotations

from pathlib import Path

import cases
import pytest
import shells
from harness import AZURE_DEV, AZURE_PUBLIC, ENV_FROM_STORE, VAULT_PUBLIC, StackRun, run_stack
from test_helm_render import _grants_on_secrets, install_of

from components import versions

SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
# What Aidbox reads from env only and the store holds: never from a Kubernetes Secret.
STORE_ENV = (
    "BOX_DB_PASSWORD",
    "BOX_SECURITY_AUTH_KEYS_PRIVATE",
    "BOX_SECURITY_AUTH_KEYS_PUBLIC",
    "BOX_SECURITY_AUTH_KEYS_SECRET",
)
# Every stack file, and modes without a user's mirror.
UNMIRRORED = [
    "Pulumi.dev.yaml",
    "Pulumi.dev-vault.yaml",
    "Pulumi.prod.yaml",
    "Pulumi.local.yaml",
    "vault-external",
    "vault-ha",
    "azure-workload",
    "azure-aksAddon",
    "azure-servicePrincipal",
]


def aidbox_container(run: StackRun) -> dict:
    pod = run.k8s("apps/v1:Deployment", "aidbox").props["spec"]["template"]["spec"]
    return pod["containers"][0]


def secret_refs(container: dict) -> dict[str, str]:
    """env name -> the Kubernetes Secret it is read from."""
    return {
        e["name"]: e["valueFrom"]["secretKeyRef"]["name"]
        for e in container["env"]
        if "secretKeyRef" in (e.get("valueFrom") or {})
    }


@pytest.mark.parametrize("case", UNMIRRORED)
def test_nothing_is_mirrored_and_the_driver_may_not_write_secrets(case: str) -> None:
    run = cases.run(case)
    for spc in run.of_type(SPC):
        name = spc.props["metadata"]["name"]
        assert "secretObjects" not in spc.props["spec"], f"{case}: {name} mirrors into a Secret"
    install = install_of(case, versions.CSI_DRIVER)
    if install is not None:  # the Helm-installed driver (the AKS add-on's is AKS's)
        assert install.values["syncSecret"] == {"enabled": False}
        assert _grants_on_secrets(install.render()) == [], f"{case}: the driver writes Secrets"
    refs = secret_refs(aidbox_container(run))
    assert not [name for name in STORE_ENV if name in refs], f"{case}: {refs}"


def test_a_users_mirror_still_turns_secret_sync_on() -> None:
    run = cases.run("azure-synced")
    (spc,) = [s for s in run.of_type(SPC) if s.props["metadata"]["name"] == "aidbox-secrets"]
    mirrors = [m["secretName"] for m in spc.props["spec"]["secretObjects"]]
    assert mirrors == ["aidbox-synced"]  # the user's own, and only that
    install = install_of("azure-synced", versions.CSI_DRIVER)
    assert install is not None and install.values["syncSecret"] == {"enabled": True}


@pytest.mark.parametrize("config", [AZURE_PUBLIC, VAULT_PUBLIC], ids=["azure", "vault"])
@pytest.mark.parametrize("shell", shells.SHELLS)
def test_the_start_script_exports_the_store_files_and_runs_the_image(
    config: dict, shell: str, tmp_path: Path
) -> None:
    run = run_stack(config)
    container = aidbox_container(run)
    refs = secret_refs(container)
    # aidbox.envFromStore: read from the mounted files, not from the user's mirror.
    assert not set(ENV_FROM_STORE) & set(refs), refs
    assert not [name for name in STORE_ENV if name in refs], refs
    mount_path = next(
        m["mountPath"] for m in container["volumeMounts"] if m["name"] == ("secrets-store")
    )
    mount = tmp_path / "mount"
    mount.mkdir()
    values = {
        "aidbox-db-app-password": "app-password-from-the-store",
        "aidbox-license": "license-from-the-store",
        # A trailing newline, as `az keyvault secret set --file` keeps it: not part of a value.
        "admin-password": "admin-password-from-the-store\n",
        "client-secret": "client-secret-value",
    }
    for name, value in values.items():
        (mount / name).write_text(value)
    from components import key_bundle

    (mount / "aidbox-auth-keys").write_text(
        key_bundle.compose(
            "-----BEGIN RSA PRIVATE KEY-----\nAAA\n-----END RSA PRIVATE KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\nBBB\n-----END PUBLIC KEY-----\n",
            "hs",
        )
    )
    command = container["command"]
    assert command[:2] == ["/bin/sh", "-c"] and "args" not in container
    # The image's own entrypoint (HealthSamurai/documentation how-to-run-aidbox-using-different-
    # java.md: ENTRYPOINT ["/aidbox.sh"]), with no arguments, as the image runs it.
    assert command[2].rstrip().endswith("exec /aidbox.sh")
    script = command[2].replace(mount_path, str(mount))
    script = script.replace("/aidbox.sh", str(shells.entrypoint(tmp_path)))
    env = shells.exported(shells.run_script(shell, script, {"BOX_ID": "aidbox-dev"}))
    assert env["BOX_DB_PASSWORD"] == "app-password-from-the-store"
    assert env["BOX_LICENSE"] == "license-from-the-store"
    assert env["BOX_ADMIN_PASSWORD"] == "admin-password-from-the-store"
    assert env["BOX_ID"] == "aidbox-dev"  # the Deployment's own env passes through
    assert env["ARGV"] == ""


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_a_missing_file_stops_the_start_naming_it_and_nothing_else(
    shell: str, tmp_path: Path
) -> None:
    container = aidbox_container(run_stack(AZURE_DEV))
    mount_path = next(
        m["mountPath"] for m in container["volumeMounts"] if m["name"] == ("secrets-store")
    )
    mount = tmp_path / "mount"
    mount.mkdir()
    (mount / "aidbox-auth-keys").write_text("not a bundle: s3cr3t-value\n")
    (mount / "aidbox-db-app-password").write_text("pw-9f8e7d")
    script = container["command"][2].replace(mount_path, str(mount))
    script = script.replace("/aidbox.sh", str(shells.entrypoint(tmp_path)))
    result = shells.run_script(shell, script)
    assert result.returncode != 0 and b"ARGV=" not in result.stdout  # Aidbox never started
    error = result.stderr.decode()
    assert f"{mount}/aidbox-auth-keys" in error and "private key" in error
    assert "s3cr3t-value" not in error and "pw-9f8e7d" not in error


def test_env_from_store_needs_no_mirror() -> None:
    """aidbox.envFromStore names a secret of `secrets`; a kubernetesSecret is no longer needed
    (Aidbox's start script reads the file)."""
    config = {
        **AZURE_DEV,
        # Neither a scope (no FHIR resource uses it) nor a mirror: for env only.
        "secrets": {"client-secret": {"scope": "Client/basic"}, "aidbox-license": {}},
        "aidbox": {"envFromStore": {"BOX_LICENSE": "aidbox-license"}},
    }
    run = run_stack(config)
    assert "BOX_LICENSE" not in secret_refs(aidbox_container(run))
    assert "aidbox-license" in aidbox_container(run)["command"][2]
