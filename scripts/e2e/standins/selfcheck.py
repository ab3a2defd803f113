"""Self-check of the stand-ins with the real engine and a real Vault (README.md here). Not part of
the test suite: it needs the Pulumi CLI and the Vault server the e2e builds.

    python scripts/e2e/standins/selfcheck.py --pulumi PULUMI_BINARY --vault VAULT_BINARY

A throwaway inline program (a RandomPassword; a tls PrivateKey and SelfSignedCert; an explicit
Vault provider with address, token and caCertFile; a Policy, a KV v2 secret with disableRead and
ignore_changes on dataJson, a second one without deleteAllVersions, kv.getSecretV2, a Mount with a
secret in it, an Audit device, a Kubernetes AuthBackend with its config and a role) runs
against a dev-mode Vault with its own TLS CA on 127.0.0.1, a file backend in a temporary
directory: up; a preview that changes nothing; `vault kv patch` out of band, refresh, then up
(the rotated value survives, nothing is replaced); a policy and a role deleted out of band come
back; the CA file gone and the token revoked each
fail a refresh with the real provider's message; a new token updates the provider and nothing
else; destroy. Each phase is an assertion and is timed; the calls the engine made are listed.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import pulumi
import pulumi.automation as auto
import pulumi_random as random
import pulumi_tls as tls
import pulumi_vault as vault

from scripts.e2e.standins.launchers import write_launchers

SEED = {"app": "seed", "other": "kept"}
PATHS = ("selfcheck/app", "selfcheck/kept")


def program() -> None:
    config = pulumi.Config()
    password = random.RandomPassword("password", length=24, special=False)
    key = tls.PrivateKey("ca-key", algorithm="ECDSA", ecdsa_curve="P256")
    ca = tls.SelfSignedCert(
        "ca",
        private_key_pem=key.private_key_pem,
        is_ca_certificate=True,
        subject={"common_name": "selfcheck CA"},
        validity_period_hours=48,
        allowed_uses=["cert_signing", "crl_signing"],
    )
    provider = vault.Provider(
        "vault",
        address=config.require("address"),
        token=config.require_secret("token"),
        ca_cert_file=config.require("caCertFile"),
    )
    # Vault 1.21 fails requests that arrive while an audit device is being enabled ("failed to
    # audit request", 500): the rest waits for it.
    audit = vault.Audit(
        "audit",
        type="file",
        path="selfcheck-audit",
        options={"file_path": "stdout"},
        opts=pulumi.ResourceOptions(provider=provider),
    )
    opts = pulumi.ResourceOptions(provider=provider, depends_on=[audit])
    policy = vault.Policy("policy", name="selfcheck", policy='path "secret/data/*" {}', opts=opts)
    mount = vault.Mount(
        "kv", path="selfcheck-kv", type="kv", options={"version": "2"}, description="d", opts=opts
    )
    vault.kv.SecretV2(
        "in-mount",
        mount=mount.path,
        name="a/b",
        data_json='{"x": "1"}',
        delete_all_versions=True,
        opts=opts,
    )
    auth = vault.AuthBackend("auth", type="kubernetes", path="selfcheck-k8s", opts=opts)
    config = vault.kubernetes.AuthBackendConfig(
        "auth-config",
        backend=auth.path,
        kubernetes_host="https://127.0.0.1:6443",
        kubernetes_ca_cert=ca.cert_pem,
        token_reviewer_jwt=pulumi.Output.secret("reviewer-jwt"),
        opts=opts,
    )
    vault.kubernetes.AuthBackendRole(
        "role",
        backend=auth.path,
        role_name="selfcheck",
        bound_service_account_names=["aidbox"],
        bound_service_account_namespaces=["default"],
        token_policies=[policy.name],
        token_ttl=3600,
        audience="vault",
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[audit, config]),
    )
    data = password.result.apply(lambda p: json.dumps({**SEED, "password": p}))
    app = vault.kv.SecretV2(
        "app",
        mount="secret",
        name=PATHS[0],
        data_json=pulumi.Output.secret(data),
        disable_read=True,
        delete_all_versions=True,
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(ignore_changes=["dataJson"])
        ),
    )
    vault.kv.SecretV2("kept", mount="secret", name=PATHS[1], data_json='{"a": "b"}', opts=opts)
    read = vault.kv.get_secret_v2_output(
        mount="secret",
        name=PATHS[0],
        opts=pulumi.InvokeOutputOptions(provider=provider, depends_on=[app]),
    )
    pulumi.export("app", read.data.apply(lambda d: d["app"]))


class Vault:
    """A dev-mode Vault server with TLS (its own CA) on 127.0.0.1, and its HTTP API."""

    def __init__(self, binary: str, directory: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.address, self.token = f"https://127.0.0.1:{port}", secrets.token_hex(16)
        self.binary, certs = binary, directory / "vault-tls"
        certs.mkdir()
        self.ca = certs / "vault-ca.pem"
        self.process = subprocess.Popen(
            [
                *(binary, "server", "-dev", "-dev-tls", f"-dev-tls-cert-dir={certs}"),
                *(f"-dev-listen-address=127.0.0.1:{port}", f"-dev-root-token-id={self.token}"),
            ],
            stdout=(directory / "vault.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for _ in range(300):
            try:
                if self.ca.exists() and self.call("GET", "sys/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"Vault did not start: {(directory / 'vault.log').read_text()[-2000:]}")

    def call(self, method: str, path: str, token: str | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(f"{self.address}/v1/{path}", method=method)
        request.add_header("X-Vault-Token", token or self.token)
        context = ssl.create_default_context(cafile=str(self.ca))
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            return error.code, None

    def cli(self, *args: str) -> str:
        env = {**os.environ, "VAULT_ADDR": self.address, "VAULT_CACERT": str(self.ca)}
        env["VAULT_TOKEN"] = self.token
        return subprocess.run(
            [self.binary, *args], env=env, check=True, capture_output=True, text=True
        ).stdout

    def new_token(self) -> str:
        return json.loads(self.cli("token", "create", "-format=json"))["auth"]["client_token"]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@contextmanager
def phase(name: str, timings: list[tuple[str, float]]) -> Iterator[None]:
    print(f"--- {name}", flush=True)
    start = time.monotonic()
    yield
    timings.append((name, time.monotonic() - start))
    print(f"    ok ({timings[-1][1]:.1f} s)", flush=True)


def fails(action: Any, expected: str) -> None:
    try:
        action()
    except auto.CommandError as error:
        if expected not in str(error):
            raise AssertionError(f"expected {expected!r} in:\n{error}") from None
        line = next(line for line in str(error).splitlines() if expected in line)
        print(f"    failed as expected: {line.strip()}")
        return
    raise AssertionError(f"expected a failure with {expected!r}")


def changes(result: Any) -> dict[str, int]:
    return {k: v for k, v in result.summary.resource_changes.items() if k != "same"}


def check(pulumi_binary: str, vault_binary: str, directory: Path) -> list[tuple[str, float]]:
    timings: list[tuple[str, float]] = []
    write_launchers(directory / "bin")
    calls = directory / "calls.log"
    env = {
        "PATH": f"{directory / 'bin'}:{Path(pulumi_binary).parent}:{os.environ['PATH']}",
        "PULUMI_CONFIG_PASSPHRASE": secrets.token_hex(8),
        "PULUMI_HOME": str(directory / "pulumi-home"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "STANDINS_CALL_LOG": str(calls),
    }
    (directory / "state").mkdir()
    server = Vault(vault_binary, directory)
    try:
        ca_file = directory / "provider-ca.pem"  # the path the provider's state keeps
        shutil.copy(server.ca, ca_file)
        token = server.new_token()
        stack = auto.create_or_select_stack(
            "selfcheck",
            "standins-selfcheck",
            program,
            opts=auto.LocalWorkspaceOptions(
                pulumi_home=env["PULUMI_HOME"],
                env_vars=env,
                project_settings=auto.ProjectSettings(
                    name="standins-selfcheck",
                    runtime="python",
                    backend=auto.ProjectBackend(f"file://{directory / 'state'}"),
                ),
                pulumi_command=auto.PulumiCommand(
                    root=str(Path(pulumi_binary).parent.parent), skip_version_check=True
                ),
            ),
        )
        stack.set_all_config(
            {
                "address": auto.ConfigValue(server.address),
                "token": auto.ConfigValue(token, secret=True),
                "caCertFile": auto.ConfigValue(str(ca_file)),
            }
        )
        app_data = f"secret/data/{PATHS[0]}"
        with phase("up: everything created, the secret seeded", timings):
            result = stack.up()
            assert changes(result) == {"create": 14}, result.summary.resource_changes
            assert result.outputs["app"].value == "seed" and result.outputs["app"].secret
            assert server.call("GET", app_data)[1]["data"]["data"]["app"] == "seed"
            assert server.call("GET", "sys/policies/acl/selfcheck")[0] == 200
        with phase("preview: no changes", timings):
            assert stack.preview().change_summary == {"same": 14}
        with phase("vault kv patch out of band, refresh, up: the rotated value survives", timings):
            server.cli("kv", "patch", "-mount=secret", PATHS[0], "app=rotated")
            assert changes(stack.refresh()) == {}
            result = stack.up()
            assert changes(result) == {}, result.summary.resource_changes
            assert result.outputs["app"].value == "rotated"
            assert server.call("GET", app_data)[1]["data"]["data"]["app"] == "rotated"
        with phase("a policy and a role deleted out of band: refresh, up put them back", timings):
            server.cli("policy", "delete", "selfcheck")
            server.cli("delete", "auth/selfcheck-k8s/role/selfcheck")
            assert changes(stack.refresh()) == {"delete": 1, "update": 1}
            result = stack.up()
            assert changes(result) == {"create": 1, "update": 1}, result.summary.resource_changes
            assert server.call("GET", "auth/selfcheck-k8s/role/selfcheck")[0] == 200
        with phase("the provider's CA file gone: refresh fails as the real provider does", timings):
            ca_file.rename(ca_file.with_suffix(".away"))
            fails(stack.refresh, "failed to configure TLS for Vault API: Error loading CA File")
            ca_file.with_suffix(".away").rename(ca_file)
        with phase("the token revoked: refresh fails as the real provider does", timings):
            server.cli("token", "revoke", token)
            fails(stack.refresh, "failed to lookup token")
        with phase("a new token: the provider is updated, nothing else changes", timings):
            stack.set_config("token", auto.ConfigValue(server.new_token(), secret=True))
            result = stack.up()
            assert changes(result) == {"update": 1}, result.summary.resource_changes
        with phase("destroy: Vault as it was, but the secret without deleteAllVersions", timings):
            assert changes(stack.destroy()) == {"delete": 14}
            assert server.call("GET", "sys/policies/acl/selfcheck")[0] == 404
            for path in ("sys/mounts/selfcheck-kv", "sys/mounts/auth/selfcheck-k8s"):
                assert server.call("GET", path)[0] == 400, path  # "no mount at"
            assert "selfcheck-audit/" not in server.call("GET", "sys/audit")[1]["data"]
            assert server.call("GET", f"secret/metadata/{PATHS[0]}")[0] == 404
            kept = server.call("GET", f"secret/metadata/{PATHS[1]}")
            # The real provider soft-deletes the latest version only (kvSecretV2Delete).
            assert kept[0] == 200 and kept[1]["data"]["versions"]["1"]["deletion_time"]
            server.call("DELETE", f"secret/metadata/{PATHS[1]}")
            listed = server.call("LIST", "secret/metadata/selfcheck")
            assert listed[0] == 404, listed
    finally:
        server.stop()
    print("calls the engine made:")
    seen: dict[str, None] = {}
    for line in calls.read_text().splitlines():
        seen.setdefault(line, None)
    print("  " + "\n  ".join(seen))
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pulumi", required=True)
    parser.add_argument("--vault", required=True)
    args = parser.parse_args()
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="standins-selfcheck-") as directory:
        timings = check(args.pulumi, args.vault, Path(directory))
    for name, seconds in timings:
        print(f"{seconds:6.1f} s  {name}")
    print(f"{time.monotonic() - start:6.1f} s  in all")


if __name__ == "__main__":
    main()
