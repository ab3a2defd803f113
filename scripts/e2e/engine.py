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

from pulumi import automation as auto

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from checks import DATABASE_SPC, NAMESPACE, Checks, plaintext_in  # noqa: E402
from clients import Failed, check, wait_for  # noqa: E402
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
ADDED = "added-secret"  # the secret the secret-added phase adds, then removes


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
        "aidbox-secrets:namespace": auto.ConfigValue(NAMESPACE),
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
        pods = checks.pods_admitted(objects)
        detail.append(
            f"{len(objects)} objects admitted, pods of {pods} admitted by Pod Security; "
            f"releases {sorted(deployed)} deployed; Aidbox's "
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
