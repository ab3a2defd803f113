"""Stand-in for pulumi-vault (7.14.0), E2E ONLY: the resources and the function the program uses.

pulumi-vault cannot be built on this machine (neither its provider module nor
terraform-provider-vault is served), so the end-to-end run uses this instead. It applies each
resource to the real Vault through its HTTP API, reads it back on refresh (drift, rotation and
vanished objects are real) and deletes it on destroy, with the requests and the replace-versus-
update behaviour of terraform-provider-vault. It cannot show the real provider's own bugs and
edge cases, nor bridge behaviour beyond what is implemented here (retries, resource-level
namespaces, import, and every property the program does not use are not).

Behaviour from terraform-provider-vault (pulumi-vault 7.11.0 pins v5.10.1, 7.14.0 a later v5.x;
the files named here are the same in v5.10.1, v5.11.0 and the August 2026 main), vault/:
vault_kv.py for the KV secret; resource_mount.go (type ForceNew; path remounts; description and
options tune), resource_audit.go (every field ForceNew),
resource_auth_backend.go (type and local ForceNew; path remounts), resource_policy.go (name
ForceNew; a policy gone from Vault reads back as ""), resource_kubernetes_auth_backend_config.go
(backend ForceNew; token_reviewer_jwt is never read back; Delete is a no-op),
resource_kubernetes_auth_backend_role.go and auth_token.go (backend and role_name ForceNew).
"""

from __future__ import annotations

import re
import time
from typing import Any, ClassVar

from .protocol import Failure, Plugin, Prop, Resource, same_set, schema
from .vault_client import CONFIG_KEYS, META, VaultError
from .vault_kv import SecretV2, get_secret_v2


def same_path(a: Any, b: Any) -> bool:
    """Paths compare without their leading and trailing slashes (StateFunc, DiffSuppressFunc)."""
    return (a or "").strip("/") == (b or "").strip("/")


def mount_gone(error: VaultError) -> bool:
    """mountutil.IsMountNotFoundError."""
    messages = ("No secret engine mount at", "No auth engine at")
    return error.status == 404 or (
        error.status == 400 and any(m in e for e in error.errors for m in messages)
    )


def remount(old: str, new: str) -> None:
    """api.Sys.Remount: start the migration and wait for it."""
    started = META.client.call("POST", "sys/remount", {"from": old, "to": new})
    migration = (started.get("data") or {}).get("migration_id") or started.get("migration_id")
    for _ in range(100):
        if not migration:
            return
        status = META.client.call("GET", f"sys/remount/status/{migration}")
        info = (status.get("data") or {}).get("migration_info") or {}
        if info.get("status") == "success":
            return
        if info.get("status") == "failure":
            raise Failure(f"error remounting to {new!r}: the migration failed")
        time.sleep(0.1)
    raise Failure(f"error remounting to {new!r}: still running")


class Mount(Resource):
    token = "vault:index/mount:Mount"
    props = schema(
        path=Prop(required=True),  # a changed path remounts
        type=Prop(replace=True, required=True),
        description=Prop(),
        options=Prop(),
    )
    computed = frozenset({"accessor"})

    def create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        path = inputs["path"]
        body = {
            "type": inputs["type"],
            "description": inputs.get("description") or "",
            "config": {"default_lease_ttl": "0s", "max_lease_ttl": "0s", "force_no_cache": False},
            "local": False,
            "options": inputs.get("options") or {},
            "seal_wrap": False,
            "external_entropy_access": False,
        }
        try:
            META.client.call("POST", f"sys/mounts/{path}", body)
        except Failure as error:
            raise Failure(f"error writing to Vault: {error}") from error
        return path, self.read(path, inputs) or inputs

    def update(self, id_: str, state: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        path = inputs["path"]
        if path != id_:
            remount(id_, path)
        tune: dict[str, Any] = {"default_lease_ttl": "0s", "max_lease_ttl": "0s"}
        tune["options"] = inputs.get("options") or {}
        if inputs.get("description") != state.get("description"):
            tune["description"] = inputs.get("description") or ""
        META.client.call("POST", f"sys/mounts/{path}/tune", tune)
        return self.read(path, {**state, **inputs}) or {**state, **inputs}

    def read(self, id_: str, state: dict[str, Any]) -> dict[str, Any] | None:
        try:
            mount = META.client.call("GET", f"sys/mounts/{id_}")
        except VaultError as error:
            if mount_gone(error):
                return None
            raise
        mount = mount.get("data") or mount
        config = mount.get("config") or {}
        return {
            **state,
            "path": id_,
            "type": mount.get("type"),
            "description": mount.get("description"),
            "options": mount.get("options") or {},
            "accessor": mount.get("accessor"),
            "local": mount.get("local"),
            "sealWrap": mount.get("seal_wrap"),
            "externalEntropyAccess": mount.get("external_entropy_access"),
            "defaultLeaseTtlSeconds": config.get("default_lease_ttl"),
            "maxLeaseTtlSeconds": config.get("max_lease_ttl"),
        }

    def delete(self, id_: str, state: dict[str, Any]) -> None:
        META.client.call("DELETE", f"sys/mounts/{id_}")


class Audit(Resource):
    token = "vault:index/audit:Audit"
    props = schema(
        type=Prop(replace=True, required=True),
        path=Prop(replace=True, computed=True),
        description=Prop(replace=True),
        local=Prop(replace=True),
        options=Prop(replace=True, required=True),
    )

    def create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        path = inputs.get("path") or inputs["type"]
        body = {
            "type": inputs["type"],
            "description": inputs.get("description") or "",
            "options": inputs["options"],
            "local": bool(inputs.get("local")),
        }
        try:
            META.client.call("PUT", f"sys/audit/{path}", body)
        except Failure as error:
            raise Failure(f"error enabling audit backend: {error}") from error
        return path, {**inputs, "path": path}

    def read(self, id_: str, state: dict[str, Any]) -> dict[str, Any] | None:
        listed = META.client.call("GET", "sys/audit")
        audit = (listed.get("data") or listed).get(id_.strip("/") + "/")
        if audit is None:
            return None
        return {
            **state,
            "path": id_,
            "type": audit.get("type"),
            "description": audit.get("description"),
            "options": audit.get("options") or {},
        }

    def delete(self, id_: str, state: dict[str, Any]) -> None:
        META.client.call("DELETE", f"sys/audit/{id_}")


class AuthBackend(Resource):
    token = "vault:index/authBackend:AuthBackend"
    props = schema(
        type=Prop(replace=True, required=True),
        # A changed path remounts; "x" and "x/" are the same (DiffSuppressFunc).
        path=Prop(computed=True, same=same_path),
        description=Prop(),
        local=Prop(replace=True),
        disableRemount=Prop(default=False),
    )
    computed = frozenset({"accessor"})

    def create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        path = inputs.get("path") or inputs["type"]
        body = {
            "type": inputs["type"],
            "description": inputs.get("description") or "",
            "local": bool(inputs.get("local")),
            "config": {},
        }
        try:
            META.client.call("POST", f"sys/auth/{path}", body)
        except Failure as error:
            raise Failure(f"error writing to Vault: {error}") from error
        return path, self.read(path, {**inputs, "path": path}) or inputs

    def update(self, id_: str, state: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        path = (inputs.get("path") or id_).strip("/")
        if path != id_:
            remount(f"auth/{id_}", f"auth/{path}")
        if inputs.get("description") != state.get("description"):
            tune = {"description": inputs.get("description") or ""}
            META.client.call("POST", f"sys/mounts/auth/{path}/tune", tune)
        return self.read(path, {**state, **inputs}) or {**state, **inputs}

    def read(self, id_: str, state: dict[str, Any]) -> dict[str, Any] | None:
        try:
            mount = META.client.call("GET", f"sys/mounts/auth/{id_}")
        except VaultError as error:
            if mount_gone(error):
                return None
            raise
        mount = mount.get("data") or mount
        return {
            **state,
            "path": id_,
            "type": mount.get("type"),
            "description": mount.get("description"),
            "local": mount.get("local"),
            "accessor": mount.get("accessor"),
        }

    def delete(self, id_: str, state: dict[str, Any]) -> None:
        try:
            META.client.call("DELETE", f"sys/auth/{id_}")
        except Failure as error:
            raise Failure(f"error disabling auth from Vault: {error}") from error


class Policy(Resource):
    token = "vault:index/policy:Policy"
    props = schema(name=Prop(replace=True, required=True), policy=Prop(required=True))

    def create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        # policyCreate looks for an existing policy first; allow_overwrite (unset) is true.
        META.client.read(f"sys/policies/acl/{inputs['name']}")
        return inputs["name"], self.update(inputs["name"], {}, inputs)

    def update(self, id_: str, state: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        try:
            META.client.call("PUT", f"sys/policies/acl/{id_}", {"policy": inputs["policy"]})
        except Failure as error:
            raise Failure(f"error writing to Vault: {error}") from error
        return self.read(id_, {**state, **inputs})

    def read(self, id_: str, state: dict[str, Any]) -> dict[str, Any]:
        found = META.client.read(f"sys/policies/acl/{id_}")
        return {**state, "name": id_, "policy": ((found or {}).get("data") or {}).get("policy", "")}

    def delete(self, id_: str, state: dict[str, Any]) -> None:
        META.client.call("DELETE", f"sys/policies/acl/{id_}")


BACKEND = Prop(replace=True, default="kubernetes", same=same_path)


class AuthBackendConfig(Resource):
    token = "vault:kubernetes/authBackendConfig:AuthBackendConfig"
    props = schema(
        backend=BACKEND,
        kubernetesHost=Prop(required=True),
        kubernetesCaCert=Prop(computed=True),
        tokenReviewerJwt=Prop(secret=True, default=""),
    )
    READ: ClassVar = {
        "kubernetesCaCert": "kubernetes_ca_cert",
        "kubernetesHost": "kubernetes_host",
        "issuer": "issuer",
        "disableIssValidation": "disable_iss_validation",
        "disableLocalCaJwt": "disable_local_ca_jwt",
        "pemKeys": "pem_keys",
        "useAnnotationsAsAliasMetadata": "use_annotations_as_alias_metadata",
    }

    def create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        path = f"auth/{inputs['backend'].strip('/')}/config"
        return path, self.update(path, {}, inputs)

    def update(self, id_: str, state: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        """kubernetesAuthBackendConfigCreate / Update (the same request here)."""
        body: dict[str, Any] = {"kubernetes_host": inputs["kubernetesHost"]}
        if inputs.get("kubernetesCaCert"):
            body["kubernetes_ca_cert"] = inputs["kubernetesCaCert"]
        if inputs.get("tokenReviewerJwt"):
            body["token_reviewer_jwt"] = inputs["tokenReviewerJwt"]
        body |= {"disable_iss_validation": False, "use_annotations_as_alias_metadata": False}
        try:
            META.client.call("POST", id_, body)
        except Failure as error:
            message = f"error writing Kubernetes auth backend config {id_!r}: {error}"
            raise Failure(message) from error
        state = {**state, **inputs, "backend": inputs["backend"].strip("/")}
        return self.read(id_, state) or state

    def read(self, id_: str, state: dict[str, Any]) -> dict[str, Any] | None:
        found = META.client.read(id_)
        if found is None:
            return None
        data = found.get("data") or {}
        backend = re.fullmatch(r"auth/(.+)/config", id_)
        # token_reviewer_jwt stays as written: Vault never returns it.
        fresh = {key: data.get(field) for key, field in self.READ.items()}
        return {**state, **fresh, "backend": backend.group(1) if backend else state["backend"]}


ROLE_FIELDS = {  # output -> Vault field, read back by kubernetesAuthBackendRoleRead
    "boundServiceAccountNames": "bound_service_account_names",
    "boundServiceAccountNamespaces": "bound_service_account_namespaces",
    "boundServiceAccountNamespaceSelector": "bound_service_account_namespace_selector",
    "audience": "audience",
    "aliasNameSource": "alias_name_source",
    "tokenBoundCidrs": "token_bound_cidrs",
    "tokenExplicitMaxTtl": "token_explicit_max_ttl",
    "tokenMaxTtl": "token_max_ttl",
    "tokenNoDefaultPolicy": "token_no_default_policy",
    "tokenPeriod": "token_period",
    "tokenPolicies": "token_policies",
    "tokenTtl": "token_ttl",
    "tokenType": "token_type",
    "tokenNumUses": "token_num_uses",
    "aliasMetadata": "alias_metadata",
}


class AuthBackendRole(Resource):
    token = "vault:kubernetes/authBackendRole:AuthBackendRole"
    props = schema(
        backend=BACKEND,
        roleName=Prop(replace=True, required=True),
        boundServiceAccountNames=Prop(required=True, same=same_set),
        boundServiceAccountNamespaces=Prop(same=same_set),
        tokenPolicies=Prop(same=same_set),
        tokenTtl=Prop(),
        tokenMaxTtl=Prop(),
        audience=Prop(default=""),
        tokenType=Prop(default="default"),
    )
    # Written on create when set, on update when changed (updateTokenFields and
    # kubernetesAuthBackendRoleUpdateFields).
    WRITTEN = ("tokenPolicies", "tokenTtl", "tokenMaxTtl", "tokenType", "audience")

    def create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        path = f"auth/{inputs['backend'].strip('/')}/role/{inputs['roleName'].strip('/')}"
        return path, self._write(path, {}, inputs, create=True)

    def update(self, id_: str, state: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        return self._write(id_, state, inputs, create=False)

    def _write(self, path: str, state: dict, inputs: dict, create: bool) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for key in self.WRITTEN:
            value = inputs.get(key)
            if value if create else value != state.get(key):  # GetOk / HasChange
                body[ROLE_FIELDS[key]] = value
        for key in ("boundServiceAccountNames", "boundServiceAccountNamespaces"):
            if inputs.get(key):
                body[ROLE_FIELDS[key]] = inputs[key]
        body["bound_service_account_namespace_selector"] = ""
        verb = "writing" if create else "updating"
        try:
            META.client.call("POST", path, body)
        except Failure as error:
            raise Failure(f"error {verb} Kubernetes auth backend role {path!r}: {error}") from error
        written = {**state, **inputs}
        return self.read(path, written) or written

    def read(self, id_: str, state: dict[str, Any]) -> dict[str, Any] | None:
        found = META.client.read(id_)
        if found is None:
            return None
        data = found.get("data") or {}
        backend, role = re.fullmatch(r"auth/(.+)/role/(.+)", id_).groups()  # type: ignore[union-attr]
        fresh = {key: data[field] for key, field in ROLE_FIELDS.items() if field in data}
        return {**state, **fresh, "backend": backend, "roleName": role}

    def delete(self, id_: str, state: dict[str, Any]) -> None:
        try:
            META.client.call("DELETE", id_)
        except VaultError as error:
            if error.status != 404:
                raise Failure(f"error deleting Kubernetes auth backend role {id_!r}") from error


PLUGIN = Plugin(
    name="vault",
    resources=[
        SecretV2(),
        Mount(),
        Audit(),
        AuthBackend(),
        Policy(),
        AuthBackendConfig(),
        AuthBackendRole(),
    ],
    config_props={key: Prop() for key in CONFIG_KEYS},
    configure=META.configure,
    functions={"vault:kv/getSecretV2:getSecretV2": get_secret_v2},
    secret_results=frozenset({"data", "dataJson"}),
)
