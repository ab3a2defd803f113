"""What the engine run's phases look at on the real servers (scripts/e2e/engine.py): the
program's objects in the API server, Helm's releases, the SecretProviderClasses and the CSI
provider's path through Vault's Kubernetes auth, and the values that must never be in plain
text."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from typing import Any

import yaml
from clients import Failed, Kube, Vault, check, wait_for
from stack import HELM_RELEASE, E2eStack

# The e2e stack's Aidbox namespace: one the program creates, with its Pod Security Admission
# labels (enforce restricted), so the real API server judges the program's pods.
NAMESPACE = "aidbox"
# The program's SecretProviderClasses there, and the workload whose pods mount each: Aidbox's,
# and the database's (the in-cluster PostgreSQL; its role Job mounts the same).
AIDBOX_SPC, DATABASE_SPC = "aidbox-secrets", "aidbox-db-secrets"
WORKLOADS = {AIDBOX_SPC: ("Deployment", "aidbox"), DATABASE_SPC: ("StatefulSet", "aidbox-db")}
SPC_API_VERSION = "secrets-store.csi.x-k8s.io/v1"
ENFORCE = "pod-security.kubernetes.io/enforce"
# Where each workload kind counts the pods its controller created (pending ones included).
POD_COUNT = {"Deployment": "replicas", "StatefulSet": "replicas", "Job": "active"}


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

    def pods_admitted(self, objects: list[dict[str, Any]]) -> list[str]:
        """Each Deployment, StatefulSet and Job of the program in a namespace that enforces a
        Pod Security standard got its pods from the controllers (no kubelet runs them, but the
        API server admits or refuses each one): the real PodSecurity admission agrees with
        the program's security contexts. A refusal is reported with the API server's event."""
        enforced = {
            o["metadata"]["name"]: labels[ENFORCE]
            for o in objects
            if o["kind"] == "Namespace" and ENFORCE in (labels := o["metadata"].get("labels") or {})
        }
        admitted = []
        for obj in objects:
            meta = obj["metadata"]
            namespace = meta.get("namespace")
            if obj["kind"] not in POD_COUNT or namespace not in enforced:
                continue
            what = f"{obj['kind']} {namespace}/{meta['name']}"
            try:
                wait_for(f"pods of {what}", lambda obj=obj: self.has_pods(obj), seconds=30)
            except Failed:
                check(False, f"{what} has no pod: {self.refusals(namespace)}")
            admitted.append(f"{what} ({enforced[namespace]})")
        check(admitted, f"no workload in a namespace that enforces a standard: {enforced}")
        return admitted

    def has_pods(self, obj: dict[str, Any]) -> bool:
        """The workload's controller has created at least one pod (pending counts)."""
        meta = obj["metadata"]
        live = self.kube.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        return bool((live or {}).get("status", {}).get(POD_COUNT[obj["kind"]]))

    def refusals(self, namespace: str) -> list[str]:
        """The API server's FailedCreate events there (a PodSecurity refusal says why)."""
        _, body = self.kube.call("GET", f"/api/v1/namespaces/{namespace}/events")
        return [
            e.get("message", "")
            for e in (body or {}).get("items", [])
            if e.get("reason") == "FailedCreate"
        ]

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
