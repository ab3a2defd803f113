"""The engine run (README, "End-to-end run"): the program's whole life cycle with the real Pulumi
CLI and the real Kubernetes provider, against the real API server and Vault that
scripts/e2e/servers.sh starts on loopback (scripts/e2e.sh runs this with their addresses in the
environment). The program runs in `cluster.mode: kubeconfig` with an external Vault that serves
TLS with a CA of its own. Each phase is an assertion that fails the run, and is timed:

  preview          a preview of the new stack against the real API server
  up               every object admitted; both Helm releases deployed from the vendored
                   archives; the aidbox ServiceAccount's token logs in through Vault's Kubernetes
                   auth (reviewed by the real API server), reads each secret and may not write it;
                   the database's account (aidbox-db) likewise reads its class's two passwords,
                   and neither account reads what only the other's class lists
  no-change-up     `up --expect-no-changes` with the same config
  rotation-kept    a value rotated out of band (`vault kv patch`) survives `up` and `refresh`
  secret-added     a secret added to the config reaches Vault where the SecretProviderClass looks
                   for it; removed again, it leaves the SecretProviderClass (and Vault)
  fresh-refresh    `refresh` in a fresh process without the program, the temp files of the
                   previous runs gone (as a CI job a day later runs it)
  state-plaintext  `pulumi stack export`: no store or generated value in plain text
  fresh-destroy    `destroy`, likewise in a fresh process without the program
  destroy-clean    no object of the program's in the API server, no Helm release, nothing the
                   program created left in Vault, an empty stack

E2E_REPORT names a JSON file for the report: each phase's {"ok", "seconds", "detail"}, the
engine's and the Kubernetes provider's versions."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pulumi import automation as auto

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from clients import Failed, Kube, Vault, check, wait_for  # noqa: E402
from stack import HELM_RELEASE, E2eStack  # noqa: E402
from standins.launchers import write_launchers  # noqa: E402

PHASES = (
    "preview",
    "up",
    "no-change-up",
    "rotation-kept",
    "secret-added",
    "fresh-refresh",
    "state-plaintext",
    "fresh-destroy",
    "destroy-clean",
)
NAMESPACE = "default"  # the e2e stack's Aidbox namespace (the program's default)
ADDED = "added-secret"  # the secret the secret-added phase adds, then removes
# The program's SecretProviderClasses there, and the workload whose pods mount each: Aidbox's,
# and the database's (the in-cluster PostgreSQL; its role Job mounts the same).
AIDBOX_SPC, DATABASE_SPC = "aidbox-secrets", "aidbox-db-secrets"
WORKLOADS = {AIDBOX_SPC: ("Deployment", "aidbox"), DATABASE_SPC: ("StatefulSet", "aidbox-db")}
SPC_API_VERSION = "secrets-store.csi.x-k8s.io/v1"


def base_config(kubeconfig: str, vault_addr: str, vault_token: str) -> dict[str, auto.ConfigValue]:
    """The e2e stack's config, as `pulumi config set --path` would write it. The CA file is the
    user's own, kept in the checkout beside the program."""
    return {
        "aidbox-secrets:secretStore": auto.ConfigValue("vault"),
        "aidbox-secrets:cluster.mode": auto.ConfigValue("kubeconfig"),
        "aidbox-secrets:cluster.kubeconfigPath": auto.ConfigValue(kubeconfig),
        "aidbox-secrets:vault.mode": auto.ConfigValue("external"),
        "aidbox-secrets:vault.address": auto.ConfigValue(vault_addr),
        "aidbox-secrets:vault.caCertFile": auto.ConfigValue("vault-ca.pem"),
        "aidbox-secrets:vault.token": auto.ConfigValue(vault_token, secret=True),
        "aidbox-secrets:secrets.client-secret.scope": auto.ConfigValue("Client/basic"),
    }


@dataclass
class Report:
    phases: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    def write(self, target: str | None) -> None:
        if target:
            Path(target).write_text(json.dumps({**self.versions, **self.phases}, indent=2) + "\n")

    @property
    def failed(self) -> list[str]:
        return [name for name in PHASES if not self.phases.get(name, {}).get("ok")]


@contextmanager
def phase(report: Report, name: str) -> Iterator[list[str]]:
    """Times the phase; a Failed (or any error) marks it failed with its message. The block
    appends its detail line(s) to the list it is given."""
    detail: list[str] = []
    start = time.monotonic()
    print(f"--- {name}", flush=True)
    ok = True
    try:
        yield detail
    except Failed as failure:
        ok, detail = False, [str(failure)]
    except auto.CommandError as error:
        ok, detail = False, [_tail(str(error))]
    except Exception:
        ok, detail = False, [traceback.format_exc()]
    seconds = round(time.monotonic() - start, 1)
    report.phases[name] = {"ok": ok, "seconds": seconds, "detail": "; ".join(detail)}
    print(f"    {'ok  ' if ok else 'FAIL'} {seconds:6.1f} s  {'; '.join(detail)}", flush=True)


def _tail(text: str, lines: int = 40) -> str:
    """The CLI's error lines (or its last lines when it printed none)."""
    found = [line.strip() for line in text.splitlines() if "error" in line.lower()]
    return "\n".join(found[-lines:] or text.strip().splitlines()[-lines:])


def skipped(report: Report, because: str) -> None:
    for name in PHASES:
        report.phases.setdefault(name, {"ok": False, "seconds": 0, "detail": f"not run: {because}"})


class Checks:
    """What the phases look at on the real servers."""

    def __init__(self, e2e: E2eStack) -> None:
        self.e2e, self.kube, self.vault = e2e, Kube(), Vault()

    # --- the program's objects -----------------------------------------------------------

    def kubernetes_objects(self, state: dict[str, Any]) -> list[dict[str, Any]]:
        """The Kubernetes objects of the state, as the provider created them (outputs)."""
        return [
            r["outputs"]
            for r in state.get("resources") or []
            if r["type"].startswith("kubernetes:")
            and r.get("custom")
            and r["type"] != HELM_RELEASE
            and "apiVersion" in (r.get("outputs") or {})
        ]

    def present(self, obj: dict[str, Any]) -> bool:
        meta = obj["metadata"]
        return (
            self.kube.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
            is not None
        )

    def helm_releases(self) -> dict[str, str]:
        """Helm's own view: release name -> status, in every namespace."""
        result = subprocess.run(
            [os.environ["E2E_HELM"], "list", "--all-namespaces", "--all", "--output", "json"],
            capture_output=True,
            text=True,
            env={**os.environ, "KUBECONFIG": os.environ["KUBECONFIG"]},
        )
        check(result.returncode == 0, f"helm list: {result.stderr.strip()}")
        return {r["name"]: r["status"] for r in json.loads(result.stdout or "[]")}

    def secret_provider_class(self, name: str = AIDBOX_SPC) -> dict[str, Any] | None:
        found = self.kube.get(
            "secrets-store.csi.x-k8s.io/v1", "SecretProviderClass", name, NAMESPACE
        )
        return found

    def spc_objects(self, name: str = AIDBOX_SPC) -> dict[str, dict[str, str]]:
        """objectName -> the object the vault-csi-provider fetches (secretPath, secretKey)."""
        spc = self.secret_provider_class(name)
        check(spc is not None, f"no SecretProviderClass {name} in the API server")
        objects = yaml.safe_load(spc["spec"]["parameters"]["objects"])
        return {o["objectName"]: o for o in objects}

    # --- the CSI provider's path ---------------------------------------------------------

    def read_as_aidbox(self) -> dict[str, str]:
        return self.read_as(AIDBOX_SPC)

    def read_as(self, spc_name: str) -> dict[str, str]:
        """What the vault-csi-provider does for the pod: a TokenRequest token of the pod's
        ServiceAccount (audience as the SecretProviderClass says) logs in through Vault's
        Kubernetes auth, which reviews it at the real API server, and reads every object. Also:
        it may not write, it may not read what the program's other class lists, and another
        ServiceAccount may not log in with its role."""
        spc = self.secret_provider_class(spc_name)
        check(spc is not None, f"no SecretProviderClass {spc_name} in the API server")
        params = spc["spec"]["parameters"]
        mount = params.get("vaultKubernetesMountPath", "kubernetes")
        role, audience = params["roleName"], params.get("audience", "vault")
        pod_account = self._pod_service_account(spc_name)
        jwt = self.kube.service_account_token(pod_account, NAMESPACE, audience)
        status, body = self.vault.login(mount, role, jwt)
        check(status == 200, f"{pod_account} cannot log in to Vault: {status} {body}")
        as_pod = Vault(token=body["auth"]["client_token"])
        values: dict[str, str] = {}
        objects = self.spc_objects(spc_name)
        for name, obj in objects.items():
            data = as_pod.kv_read(obj["secretPath"])
            check(data is not None, f"{pod_account} cannot read {obj['secretPath']} ({name})")
            check(
                obj["secretKey"] in data,
                f"{obj['secretPath']} has no key {obj['secretKey']} ({name}): the "
                "vault-csi-provider would fail the whole mount",
            )
            values[name] = data[obj["secretKey"]]
            status, _ = as_pod.call("POST", f"/v1/{obj['secretPath']}", {"data": {"x": "y"}})
            check(status == 403, f"{pod_account} may write {obj['secretPath']} ({status})")
        other_spc = DATABASE_SPC if spc_name == AIDBOX_SPC else AIDBOX_SPC
        for name, obj in self.spc_objects(other_spc).items():
            if name in objects:
                continue  # both read it (Aidbox's role's password)
            status, _ = as_pod.call("GET", f"/v1/{obj['secretPath']}")
            check(status == 403, f"{pod_account} may read {obj['secretPath']} ({name}): {status}")
        other = self.kube.service_account_token("default", NAMESPACE, audience)
        status, _ = self.vault.login(mount, role, other)
        check(status in (400, 403), f"another ServiceAccount logged in as {pod_account}: {status}")
        return values

    def _pod_service_account(self, spc_name: str = AIDBOX_SPC) -> str:
        kind, name = WORKLOADS[spc_name]
        workload = self.kube.get("apps/v1", kind, name, NAMESPACE)
        check(workload is not None, f"no {kind} {name} in {NAMESPACE}")
        return workload["spec"]["template"]["spec"]["serviceAccountName"]

    def vault_configured(self) -> str:
        """Vault holds what the program configured: the API server as reviewer host, and for
        each class a read-only policy and a role bound to its pods' ServiceAccount alone, in
        their namespace."""
        described = []
        for spc_name in WORKLOADS:
            params = self.secret_provider_class(spc_name)["spec"]["parameters"]
            mount = params.get("vaultKubernetesMountPath", "kubernetes")
            status, config = self.vault.call("GET", f"/v1/auth/{mount}/config")
            check(status == 200, f"no Kubernetes auth config at auth/{mount}: {status}")
            check(
                config["data"]["kubernetes_host"] == os.environ["E2E_APISERVER"],
                f"Vault reviews tokens at {config['data']['kubernetes_host']}",
            )
            status, role = self.vault.call("GET", f"/v1/auth/{mount}/role/{params['roleName']}")
            check(status == 200, f"no role {params['roleName']}: {status}")
            data = role["data"]
            check(
                data["bound_service_account_namespaces"] == [NAMESPACE],
                f"role bound to namespaces {data['bound_service_account_namespaces']}",
            )
            account = self._pod_service_account(spc_name)
            check(
                data["bound_service_account_names"] == [account],
                f"role {params['roleName']} bound to {data['bound_service_account_names']}, "
                f"not {account} alone",
            )
            for policy in data["token_policies"]:
                status, body = self.vault.call("GET", f"/v1/sys/policies/acl/{policy}")
                check(status == 200, f"no policy {policy}: {status}")
                check(
                    'capabilities = ["read"]' in body["data"]["policy"]
                    and "update" not in body["data"]["policy"],
                    f"policy {policy} is not read-only: {body['data']['policy']}",
                )
            described.append(
                f"role {params['roleName']} -> {data['bound_service_account_names']}"
                f"@{NAMESPACE}, read-only policies {data['token_policies']}"
            )
        return "; ".join(described)

    # --- values that must never be in plain text -----------------------------------------

    def sensitive_values(self, state: dict[str, Any]) -> dict[str, str]:
        """Every value of the store under the SecretProviderClass's paths, every Secret the
        program created, and the Vault token of the stack config."""
        found: dict[str, str] = {"vault token": self.vault.headers["X-Vault-Token"]}
        objects = {**self.spc_objects(DATABASE_SPC), **self.spc_objects(AIDBOX_SPC)}
        for name, obj in objects.items():
            for key, value in (self.vault.kv_read(obj["secretPath"]) or {}).items():
                found[f"Vault {obj['secretPath']}:{key} ({name})"] = value
        for obj in self.kubernetes_objects(state):
            if obj["kind"] != "Secret":
                continue
            meta = obj["metadata"]
            live = self.kube.get("v1", "Secret", meta["name"], meta.get("namespace")) or {}
            for key, value in (live.get("data") or {}).items():
                found[f"Secret {meta.get('namespace')}/{meta['name']}:{key}"] = base64.b64decode(
                    value
                ).decode(errors="replace")
        return {k: v for k, v in found.items() if len(v) >= 8}

    def objects_without_values(self, state: dict[str, Any], values: dict[str, str]) -> None:
        leaked = []
        for obj in self.kubernetes_objects(state):
            if obj["kind"] == "Secret":
                continue
            meta = obj["metadata"]
            live = json.dumps(
                self.kube.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
            )
            leaked += [f"{obj['kind']} {meta['name']}: {k}" for k, v in values.items() if v in live]
        check(not leaked, f"store values in plain text in objects: {leaked}")


def plaintext_in(text: str, values: dict[str, str]) -> list[str]:
    """The names of the values that appear in `text` as they are or base64-encoded."""
    return [
        name
        for name, value in values.items()
        if value in text or base64.b64encode(value.encode()).decode() in text
    ]


def run_phases(e2e: E2eStack, checks: Checks, config: dict, report: Report) -> None:
    stack = e2e.stack
    log: Callable[[str], None] = lambda line: None  # noqa: E731 - the CLI's chatter
    baseline = checks.vault.inventory()

    with phase(report, "preview") as detail:
        result = stack.preview(on_output=log)
        creates = result.change_summary.get(auto.OpType.CREATE, 0)
        check(creates > 0, f"the preview of a new stack creates nothing: {result.change_summary}")
        detail.append(f"{creates} resources to create")
    if not report.phases["preview"]["ok"]:
        return skipped(report, "preview failed")

    with phase(report, "up") as detail:
        stack.up(on_output=log)
        state = e2e.export()
        objects = checks.kubernetes_objects(state)
        missing = [
            o["kind"] + " " + o["metadata"]["name"] for o in objects if not checks.present(o)
        ]
        check(objects and not missing, f"objects the API server does not hold: {missing}")
        releases = [r for r in state["resources"] if r["type"] == HELM_RELEASE]
        deployed = checks.helm_releases()
        for release in releases:
            name = release["outputs"]["name"]
            check(deployed.get(name) == "deployed", f"Helm release {name}: {deployed.get(name)}")
        check(len(releases) == 2, f"Helm releases: {[r['outputs']['name'] for r in releases]}")
        values = checks.read_as_aidbox()
        database = checks.read_as(DATABASE_SPC)
        configured = checks.vault_configured()
        checks.objects_without_values(state, checks.sensitive_values(state))
        detail.append(
            f"{len(objects)} objects admitted, releases {sorted(deployed)} deployed; Aidbox's "
            f"ServiceAccount read {sorted(values)} through Vault's Kubernetes auth, the "
            f"database's {sorted(database)}, neither the other's; {configured}"
        )
    if not report.phases["up"]["ok"]:
        return skipped(report, "up failed")

    with phase(report, "no-change-up") as detail:
        result = stack.up(expect_no_changes=True, on_output=log)
        detail.append(f"changes: {dict(result.summary.resource_changes or {})}")

    with phase(report, "rotation-kept") as detail:
        objects = checks.spc_objects()
        target = objects["client-secret"]
        rotated = f"rotated-{secrets.token_hex(16)}"
        checks.vault.kv_patch(target["secretPath"], {target["secretKey"]: rotated})

        def held(after: str) -> None:
            data = checks.vault.kv_read(target["secretPath"]) or {}
            check(
                data.get(target["secretKey"]) == rotated,
                f"the rotated value is gone after {after} (Vault holds another value)",
            )

        stack.up(on_output=log)
        held("up")
        stack.refresh(on_output=log)
        held("refresh")
        stack.up(expect_no_changes=True, on_output=log)
        held("a no-change up after the refresh")
        # A value set in the config later seeds nothing: the entry exists already.
        seed = {
            "aidbox-secrets:secrets.client-secret.value": auto.ConfigValue(
                "configured-later-seed-9f3a", secret=True
            )
        }
        e2e.configure({**config, **seed})
        stack.up(on_output=log)
        held("up with a new configured seed value")
        e2e.configure(config)
        check(checks.read_as_aidbox()["client-secret"] == rotated, "the pod reads another value")
        detail.append(
            "vault kv patch survived up, refresh, a no-change up and a new configured seed"
        )

    with phase(report, "secret-added") as detail:
        e2e.configure(
            {**config, f"aidbox-secrets:secrets.{ADDED}.scope": auto.ConfigValue("Client")}
        )
        stack.up(on_output=log)
        objects = checks.spc_objects()
        check(ADDED in objects, f"the SecretProviderClass does not list {ADDED}: {sorted(objects)}")
        values = checks.read_as_aidbox()
        check(ADDED in values, f"{ADDED} is not readable where the SecretProviderClass says")
        added_at = objects[ADDED]
        e2e.configure(config)
        stack.up(on_output=log)
        objects = checks.spc_objects()
        check(ADDED not in objects, f"{ADDED} is still in the SecretProviderClass after removal")
        checks.read_as_aidbox()  # the others still mount
        left = (checks.vault.kv_read(added_at["secretPath"]) or {}).get(added_at["secretKey"])
        check(left is None, f"{ADDED} is still in Vault at {added_at['secretPath']}")
        detail.append(
            f"{ADDED} written to {added_at['secretPath']} and listed; removed from the "
            "SecretProviderClass and Vault"
        )

    state_before = e2e.export()
    with phase(report, "fresh-refresh") as detail:
        e2e.new_tmp()
        result = e2e.cli("refresh", "--yes", "--skip-preview")
        check(result.returncode == 0, f"refresh failed: {_tail(result.stdout + result.stderr)}")
        detail.append("refresh without the program, in a fresh process and temp folder")

    with phase(report, "state-plaintext") as detail:
        values = checks.sensitive_values(state_before)
        exported = e2e.cli("stack", "export")
        check(exported.returncode == 0, f"stack export: {exported.stderr.strip()}")
        leaked = plaintext_in(exported.stdout, values)
        check(not leaked, f"in plain text in the state: {leaked}")
        detail.append(f"none of {len(values)} store and generated values in the exported state")

    with phase(report, "fresh-destroy") as detail:
        e2e.new_tmp()
        result = e2e.cli("destroy", "--yes", "--skip-preview")
        check(result.returncode == 0, f"destroy failed: {_tail(result.stdout + result.stderr)}")
        detail.append("destroy without the program, in a fresh process and temp folder")

    with phase(report, "destroy-clean") as detail:
        objects = checks.kubernetes_objects(state_before)
        for obj in objects:
            wait_for(
                f"{obj['kind']} {obj['metadata']['name']} to be deleted",
                lambda obj=obj: not checks.present(obj),
            )
        releases = checks.helm_releases()
        check(not releases, f"Helm releases left: {releases}")
        after = checks.vault.inventory()
        check(
            after == baseline, f"Vault differs from before the run: {_difference(baseline, after)}"
        )
        state = e2e.export()
        left = [r["urn"] for r in state.get("resources") or []]
        check(not left, f"the stack still holds {left}")
        detail.append(
            f"{len(objects)} objects gone, no Helm release, Vault as before, an empty stack"
        )


def _difference(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, Any]:
    return {
        kind: {"added": sorted(set(after[kind]) - set(before[kind]))}
        for kind in before
        if set(after[kind]) != set(before[kind])
    }


def versions(pulumi: Path) -> dict[str, str]:
    engine = subprocess.run([pulumi, "version"], capture_output=True, text=True).stdout.strip()
    go_mod = (HERE / "pulumi-kubernetes" / "go.mod").read_text()
    provider = next(
        line.split()[1]
        for line in go_mod.splitlines()
        if line.strip().startswith("github.com/pulumi/pulumi-kubernetes/provider/v4 ")
    )
    return {"engine": engine, "kubernetes_provider": provider}


def main() -> int:
    started = time.monotonic()
    report = Report()
    work = Path(tempfile.mkdtemp(prefix="engine-", dir=os.environ.get("E2E_WORK")))
    standins = work / "bin"
    write_launchers(standins)
    tools = {
        name: Path(os.environ[variable])
        for name, variable in (
            ("pulumi", "E2E_PULUMI"),
            ("pulumi-resource-kubernetes", "E2E_KUBERNETES_PROVIDER"),
        )
    }
    e2e = E2eStack(work, tools, standins)
    (e2e.project / "vault-ca.pem").write_text(Path(os.environ["VAULT_CACERT"]).read_text())
    token = Path(os.environ["E2E_VAULT_TOKEN_FILE"]).read_text().strip()
    config = base_config(os.environ["KUBECONFIG"], os.environ["VAULT_ADDR"], token)
    e2e.configure(config)
    report.versions = versions(tools["pulumi"])
    print(
        f"engine {report.versions['engine']}, kubernetes provider "
        f"{report.versions['kubernetes_provider']}, stand-ins for random, tls, vault"
    )
    try:
        run_phases(e2e, Checks(e2e), config, report)
    finally:
        skipped(report, "an earlier phase stopped the run")
        report.write(os.environ.get("E2E_REPORT"))
    total = time.monotonic() - started
    failed = report.failed
    print(
        f"engine run: {total:.0f} s, {len(PHASES) - len(failed)} phases passed"
        + (f", failed: {', '.join(failed)}" if failed else "")
    )
    summary(len(PHASES) - len(failed), len(failed))
    return 1 if failed else 0


def summary(passed: int, failed: int) -> None:
    """The closing line `scripts/e2e.sh` prints last (after the servers have stopped)."""
    line = f"e2e: {passed} passed, {failed} failed"
    target = os.environ.get("E2E_SUMMARY")
    if target:
        Path(target).write_text(line + "\n")
    else:
        print(line)


if __name__ == "__main__":
    sys.exit(main())
