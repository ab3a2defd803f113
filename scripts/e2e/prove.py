"""The end-to-end proof against a real API server and a real Vault (scripts/e2e.sh starts them
and runs this with their addresses in the environment).

What is real: kube-apiserver with etcd and kube-controller-manager, Vault, Helm with the
vendored charts, and the program itself (`__main__.py`, kubeconfig mode, an external Vault: the
local one). What is not: the Pulumi engine and its providers, which cannot be built on this
machine (README, "End-to-end run"). So the program runs under the Pulumi SDK's mocks
(tests/harness.py), which record every resource it declares with its exact inputs, and this
script hands those inputs to the real servers the way the providers would: Helm releases to
Helm, Kubernetes objects to the API server (server-side apply), Vault resources to Vault's
HTTP API. The one value the engine would have wired from a resource's output, the token
reviewer JWT, is read from the Secret the controller manager filled.

Each check is an assertion that fails the run; each phase prints its time.
"""

from __future__ import annotations

import base64
import json
import os
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

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import harness  # noqa: E402

FIELD_MANAGER = "aidbox-secrets-e2e"
STACK = "e2e"
NAMESPACE = "default"


class Failed(AssertionError):
    pass


def check(condition: object, message: str) -> None:
    if not condition:
        raise Failed(message)


@contextmanager
def phase(name: str, timings: list[tuple[str, float]]) -> Iterator[None]:
    print(f"--- {name}", flush=True)
    start = time.monotonic()
    yield
    timings.append((name, time.monotonic() - start))
    print(f"    ok ({timings[-1][1]:.1f} s)", flush=True)


class Http:
    def __init__(self, base: str, context: ssl.SSLContext | None, headers: dict[str, str]):
        self.base, self.context, self.headers = base.rstrip("/"), context, headers

    def call(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={**self.headers, "Content-Type": content_type},
        )
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            raw, status = error.read(), error.code
        try:
            return status, json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return status, raw.decode(errors="replace")


class Kube(Http):
    def __init__(self) -> None:
        context = ssl.create_default_context(cafile=os.environ["E2E_CA_FILE"])
        context.load_cert_chain(os.environ["E2E_CLIENT_CERT"], os.environ["E2E_CLIENT_KEY"])
        super().__init__(os.environ["E2E_APISERVER"], context, {})
        self._resources: dict[str, dict[str, tuple[str, bool]]] = {}

    def _discover(self, api_version: str, *, fresh: bool = False) -> dict[str, tuple[str, bool]]:
        """kind -> (plural, namespaced), from API discovery (again after CRDs are added)."""
        if fresh or api_version not in self._resources:
            prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            status, body = self.call("GET", prefix)
            check(status == 200, f"API discovery of {api_version}: {status}")
            self._resources[api_version] = {
                r["kind"]: (r["name"], r["namespaced"])
                for r in body["resources"]
                if "/" not in r["name"]
            }
        return self._resources[api_version]

    def path(self, api_version: str, kind: str, name: str, namespace: str | None) -> str:
        if kind not in self._discover(api_version):
            self._discover(api_version, fresh=True)
        check(kind in self._discover(api_version), f"the API server has no {api_version} {kind}")
        plural, namespaced = self._discover(api_version)[kind]
        prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        where = f"/namespaces/{namespace or NAMESPACE}" if namespaced else ""
        return f"{prefix}{where}/{plural}/{name}"

    def apply(self, obj: dict) -> tuple[int, Any]:
        meta = obj["metadata"]
        path = self.path(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        return self.call(
            "PATCH",
            f"{path}?fieldManager={FIELD_MANAGER}&force=true",
            obj,
            "application/apply-patch+yaml",
        )

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        status, body = self.call("GET", self.path(api_version, kind, name, namespace))
        check(status == 200, f"{kind} {namespace}/{name} is not in the API server: {status}")
        return body


def manifest(resource: harness.Registered) -> dict:
    """A Kubernetes resource's inputs as the object the provider would send."""
    obj = harness.ints(resource.props)
    group_version, kind = resource.type.removeprefix("kubernetes:").rsplit(":", 1)
    obj.setdefault("apiVersion", group_version.removeprefix("core/"))
    obj.setdefault("kind", kind)
    return obj


def declared(kubeconfig: str, vault_addr: str, vault_token: str) -> harness.StackRun:
    config = {
        "secretStore": "vault",
        "cluster": {"mode": "kubeconfig", "kubeconfigPath": kubeconfig},
        "vault": {"mode": "external", "address": vault_addr, "token": vault_token},
        "secrets": {"client-secret": {"scope": "Client/basic"}},
    }
    return harness.run_stack(config, secret_keys=("vault",), stack=STACK)


def helm_install(release: harness.Registered, kubeconfig: str) -> None:
    """The release as Helm installs it (the chart's CRDs included). Without nodes nothing is
    scheduled: no waiting, and no hooks (a hook Job would never finish)."""
    p = harness.ints(release.props)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as values:
        json.dump(p.get("values") or {}, values)
        values.flush()
        command = [
            os.environ["E2E_HELM"],
            "install",
            p["name"],
            str(ROOT / p["chart"]),
            "--namespace",
            p["namespace"],
            "--values",
            values.name,
            "--no-hooks",
            "--kubeconfig",
            kubeconfig,
        ]
        if p.get("createNamespace"):
            command.append("--create-namespace")
        result = subprocess.run(command, capture_output=True, text=True)
    check(result.returncode == 0, f"helm install {p['name']}: {result.stderr.strip()}")


def snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


# The pulumi-vault inputs this applier knows, per resource type; any other fails the run, so a
# program change that sets a new property gets a line here instead of passing unseen.
VAULT_FIELDS = {
    "vault:index/authBackend:AuthBackend": {"type", "path"},
    "vault:kubernetes/authBackendConfig:AuthBackendConfig": {
        "backend",
        "kubernetesHost",
        "kubernetesCaCert",
        "tokenReviewerJwt",
    },
    "vault:index/policy:Policy": {"name", "policy"},
    "vault:kubernetes/authBackendRole:AuthBackendRole": {
        "backend",
        "roleName",
        "boundServiceAccountNames",
        "boundServiceAccountNamespaces",
        "tokenPolicies",
        "tokenTtl",
        "audience",
    },
    "vault:kv/secretV2:SecretV2": {"mount", "name", "dataJson", "disableRead"},
}


def vault_apply(vault: Http, resource: harness.Registered, reviewer_jwt: str) -> None:
    p = harness.ints(resource.props)
    unknown = set(p) - VAULT_FIELDS.get(resource.type, set())
    check(resource.type in VAULT_FIELDS, f"no Vault mapping for {resource.type}")
    check(not unknown, f"{resource.type}: no Vault mapping for {sorted(unknown)}")
    if resource.type.endswith("AuthBackend"):
        status, body = vault.call("POST", f"/v1/sys/auth/{p['path']}", {"type": p["type"]})
    elif resource.type.endswith("AuthBackendConfig"):
        body = {snake(k): v for k, v in p.items() if k != "backend"}
        if body.get("token_reviewer_jwt") == harness.SA_TOKEN:  # the mocks' stand-in
            body["token_reviewer_jwt"] = reviewer_jwt
        status, body = vault.call("POST", f"/v1/auth/{p['backend']}/config", body)
    elif resource.type.endswith("Policy"):
        status, body = vault.call(
            "PUT", f"/v1/sys/policies/acl/{p['name']}", {"policy": p["policy"]}
        )
    elif resource.type.endswith("AuthBackendRole"):
        body = {snake(k): v for k, v in p.items() if k not in ("backend", "roleName")}
        status, body = vault.call("POST", f"/v1/auth/{p['backend']}/role/{p['roleName']}", body)
    else:
        data = json.loads(p["dataJson"])
        status, body = vault.call("POST", f"/v1/{p['mount']}/data/{p['name']}", {"data": data})
    check(status in (200, 204), f"Vault refused {resource.type} {resource.name}: {status} {body}")


def wait_for(what: str, probe: Any, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    raise Failed(f"timed out after {seconds:.0f} s waiting for {what}")


def main(timings: list[tuple[str, float]]) -> int:
    kubeconfig = os.environ["KUBECONFIG"]
    vault_addr = os.environ["VAULT_ADDR"]
    vault_token = Path(os.environ["E2E_VAULT_TOKEN_FILE"]).read_text().strip()
    kube = Kube()
    vault = Http(vault_addr, None, {"X-Vault-Token": vault_token})

    with phase("program: __main__.py in kubeconfig mode, external Vault (SDK mocks)", timings):
        run = declared(kubeconfig, vault_addr, vault_token)
        releases = run.of_type("kubernetes:helm.sh/v3:Release")
        objects = [
            r
            for r in run.resources
            if r.custom and r.type.startswith("kubernetes:") and r not in releases
        ]
        vault_resources = [r for r in run.resources if r.type.startswith("vault:") and r.custom]
        check(objects and releases and vault_resources, "the program declared nothing to apply")
        print(
            f"    {len(objects)} Kubernetes objects, {len(releases)} Helm releases, "
            f"{len(vault_resources)} Vault resources"
        )

    with phase("Kubernetes: namespaces, Helm releases (vendored charts), every object", timings):
        ordered = sorted(objects, key=lambda r: r.type != "kubernetes:core/v1:Namespace")
        namespaces = [r for r in ordered if r.type.endswith(":Namespace")]
        for resource in namespaces:
            status, body = kube.apply(manifest(resource))
            check(status in (200, 201), f"Namespace {resource.name} refused: {status} {body}")
        for release in releases:
            helm_install(release, kubeconfig)
        crd = "secretproviderclasses.secrets-store.csi.x-k8s.io"
        wait_for(
            f"CRD {crd} established",
            lambda: any(
                c["type"] == "Established" and c["status"] == "True"
                for c in (
                    kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", crd)
                    .get("status", {})
                    .get("conditions", [])
                )
            ),
        )
        refused = []
        for resource in ordered[len(namespaces) :]:
            status, body = kube.apply(manifest(resource))
            if status not in (200, 201):
                refused.append(f"{resource.type} {resource.name}: {status} {body}")
        check(not refused, "objects the API server refused:\n  " + "\n  ".join(refused))
        spc = run.one("kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass").props
        kube.get("secrets-store.csi.x-k8s.io/v1", "SecretProviderClass", spc["metadata"]["name"])
        print(f"    admitted: {len(objects)} objects, the SecretProviderClass by the chart's CRD")

    with phase("Vault: auth backend, its config, policy, role and the KV secret", timings):
        reviewer = next(
            r for r in objects if r.props.get("type") == "kubernetes.io/service-account-token"
        ).props["metadata"]
        token = wait_for(
            "the controller manager to fill the token reviewer's token",
            lambda: (
                kube.get("v1", "Secret", reviewer["name"], reviewer["namespace"])
                .get("data", {})
                .get("token")
            ),
        )
        reviewer_jwt = base64.b64decode(token).decode()
        order = list(VAULT_FIELDS)
        for resource in sorted(vault_resources, key=lambda r: order.index(r.type)):
            vault_apply(vault, resource, reviewer_jwt)

    settings_vault = _vault_settings()
    with phase("Vault holds what the program configured", timings):
        status, auths = vault.call("GET", "/v1/sys/auth")
        check(auths["data"][f"{settings_vault['auth']}/"]["type"] == "kubernetes", "no auth")
        status, config = vault.call("GET", f"/v1/auth/{settings_vault['auth']}/config")
        check(config["data"]["kubernetes_host"] == os.environ["E2E_APISERVER"], f"{config}")
        status, policy = vault.call("GET", f"/v1/sys/policies/acl/{settings_vault['policy']}")
        rules = policy["data"]["policy"]
        check('capabilities = ["read"]' in rules, f"the policy is not read-only: {rules}")
        status, role = vault.call(
            "GET", f"/v1/auth/{settings_vault['auth']}/role/{settings_vault['role']}"
        )
        check(role["data"]["bound_service_account_names"] == ["aidbox"], f"{role}")
        check(role["data"]["bound_service_account_namespaces"] == [NAMESPACE], f"{role}")
        check(role["data"]["token_policies"] == [settings_vault["policy"]], f"{role}")
        status, secret = vault.call("GET", f"/v1/{settings_vault['api_path']}")
        check(status == 200, f"no KV secret at {settings_vault['api_path']}: {status}")
        values = secret["data"]["data"]
        check("client-secret" in values, f"the KV secret lacks client-secret: {sorted(values)}")

    with phase(
        "the CSI provider's path: the aidbox ServiceAccount logs in, reads, cannot write", timings
    ):

        def sa_token(name: str, namespace: str) -> str:
            status, body = kube.call(
                "POST",
                f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
                {
                    "apiVersion": "authentication.k8s.io/v1",
                    "kind": "TokenRequest",
                    "spec": {"audiences": [settings_vault["audience"]], "expirationSeconds": 600},
                },
            )
            check(status == 201, f"TokenRequest for {namespace}/{name}: {status} {body}")
            return body["status"]["token"]

        login = Http(vault_addr, None, {})
        status, body = login.call(
            "POST",
            f"/v1/auth/{settings_vault['auth']}/login",
            {"role": settings_vault["role"], "jwt": sa_token("aidbox", NAMESPACE)},
        )
        check(status == 200, f"the aidbox ServiceAccount cannot log in to Vault: {status} {body}")
        as_aidbox = Http(vault_addr, None, {"X-Vault-Token": body["auth"]["client_token"]})
        status, read = as_aidbox.call("GET", f"/v1/{settings_vault['api_path']}")
        check(status == 200, f"aidbox cannot read its secret: {status} {read}")
        check(read["data"]["data"]["client-secret"] == values["client-secret"], "wrong value")
        status, _ = as_aidbox.call(
            "POST", f"/v1/{settings_vault['api_path']}", {"data": {"client-secret": "x"}}
        )
        check(status == 403, f"aidbox may write its secret (status {status}): not read-only")
        reviewer_account = reviewer["annotations"]["kubernetes.io/service-account.name"]
        other = sa_token(reviewer_account, reviewer["namespace"])
        status, _ = login.call(
            "POST",
            f"/v1/auth/{settings_vault['auth']}/login",
            {"role": settings_vault["role"], "jwt": other},
        )
        check(status in (400, 403), f"another ServiceAccount logged in as aidbox: {status}")

    with phase("no store value in plain text in any object but a Secret", timings):
        leaked = []
        for resource in objects:
            obj = manifest(resource)
            if obj["kind"] == "Secret":
                continue
            stored = json.dumps(
                kube.get(
                    obj["apiVersion"],
                    obj["kind"],
                    obj["metadata"]["name"],
                    obj["metadata"].get("namespace"),
                )
            )
            leaked += [
                f"{obj['kind']} {obj['metadata']['name']}: {k}"
                for k, v in values.items()
                if len(v) >= 8 and v in stored
            ]
        check(not leaked, f"store values in plain text: {leaked}")

    print("--- timings")
    for name, seconds in timings:
        print(f"    {seconds:6.1f} s  {name}")
    print(
        f"PASS: {len(objects)} objects, {len(releases)} releases, {len(vault_resources)} "
        "Vault resources applied to real servers; Vault login and read as aidbox"
    )
    summary(len(timings), 0)
    return 0


def summary(passed: int, failed: int) -> None:
    """The closing line `scripts/e2e.sh` prints last (after the servers have stopped)."""
    line = f"e2e: {passed} passed, {failed} failed"
    target = os.environ.get("E2E_SUMMARY")
    if target:
        Path(target).write_text(line + "\n")
    else:
        print(line)


def _vault_settings() -> dict[str, str]:
    """What the program configured, from its own settings (defaults of the e2e stack)."""
    from components.settings.vault import VaultSettings

    v = VaultSettings()
    return {
        "auth": v.auth_mount_path,
        "policy": v.policy_name,
        "role": v.role_name,
        "audience": v.audience,
        "api_path": v.secret_api_path,
    }


if __name__ == "__main__":
    done: list[tuple[str, float]] = []  # the phases that passed, with their times
    try:
        sys.exit(main(done))
    except Failed as failure:
        print(f"FAIL: {failure}", file=sys.stderr)
        summary(len(done), 1)
        sys.exit(1)
