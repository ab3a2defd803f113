"""The KV v2 secret and the function that reads one, of the pulumi-vault stand-in
(vault_provider.py), E2E ONLY.

From terraform-provider-vault, vault/resource_kv_secret_v2.go: mount and name are ForceNew;
Create and Update write the whole secret from data_json (kvSecretV2Write), also when only
disable_read or delete_all_versions changed; Read (kvSecretV2Read) never sets data_json, makes no
request at all with disable_read, and otherwise only notices that the secret is gone and reads
its metadata; Delete soft-deletes the latest version, or every version and the metadata with
delete_all_versions (kvSecretV2Delete). vault/data_source_kv_secret_v2.go for the function;
vault/resource_generic_secret.go for the JSON normalisation.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .protocol import Failure, Prop, Resource, schema
from .vault_client import META


def go_json(value: Any) -> str:
    """encoding/json's Marshal: sorted keys, no spaces, <, >, & and U+2028/9 escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char in "<>&\u2028\u2029":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def same_json(a: Any, b: Any) -> bool:
    """data_json's StateFunc (NormalizeDataJSONFunc): the same document is no change."""
    try:
        return a is not None and b is not None and json.loads(a) == json.loads(b)
    except (TypeError, ValueError):
        return a == b


def as_strings(data: dict[str, Any]) -> dict[str, str]:
    """serializeDataMapToString: strings as they are, anything else as JSON."""
    return {k: v if isinstance(v, str) else go_json(v) for k, v in (data or {}).items()}


def seconds(duration: str) -> int:
    """A Go duration such as "3h12m10s" in seconds."""
    units = {"h": 3600, "m": 60, "s": 1}
    return int(sum(float(n) * units[u] for n, u in re.findall(r"([\d.]+)([hms])", duration)))


class SecretV2(Resource):
    token = "vault:kv/secretV2:SecretV2"
    props = schema(
        mount=Prop(replace=True, required=True),
        name=Prop(replace=True, required=True),
        # Optional upstream (data_json_wo is the alternative, which the stand-in lacks).
        dataJson=Prop(required=True, secret=True, same=same_json),
        disableRead=Prop(default=False),
        deleteAllVersions=Prop(default=False),
    )
    computed = frozenset({"path", "data", "metadata", "customMetadata"})
    secret_outputs = frozenset({"data"})

    def validate(self, inputs: dict[str, Any]) -> list[tuple[str, str]]:
        try:
            json.loads(inputs["dataJson"])
        except ValueError as error:
            return [("dataJson", str(error))]
        return []

    def create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        path = f"{inputs['mount']}/data/{inputs['name']}"
        return path, self.update(path, {}, inputs)

    def update(self, id_: str, state: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        """kvSecretV2Write: the whole secret from data_json (also for a change of
        disable_read or delete_all_versions), then kvSecretV2Read."""
        data = json.loads(inputs["dataJson"])
        path = f"{inputs['mount']}/data/{inputs['name']}"
        META.client.call("POST", path, {"data": data, "cas": 0, "options": {}})
        written = {**state, **inputs, "dataJson": go_json(data)}
        return self.read(path, written) or written

    def read(self, id_: str, state: dict[str, Any]) -> dict[str, Any] | None:
        mount, name = id_.split("/data/", 1)
        state = {**state, "path": id_, "mount": mount, "name": name}
        if state.get("disableRead"):
            return state
        secret = META.client.read(id_)
        if secret is None:
            return None
        metadata = (secret.get("data") or {}).get("metadata") or {}
        state |= {"data": {}, "metadata": as_strings(metadata)}
        if "custom_metadata" in metadata:
            meta = META.client.read(f"{mount}/metadata/{name}") or {}
            meta = meta.get("data") or {}
            state["customMetadata"] = {
                "maxVersions": meta.get("max_versions"),
                "casRequired": meta.get("cas_required"),
                "deleteVersionAfter": seconds(meta.get("delete_version_after") or "0s"),
                "data": meta.get("custom_metadata"),
            }
        return state

    def delete(self, id_: str, state: dict[str, Any]) -> None:
        base = "metadata" if state.get("deleteAllVersions") else "data"
        path = f"{state['mount']}/{base}/{state['name']}"
        try:
            META.client.call("DELETE", path)
        except Failure as error:
            raise Failure(f'error deleting "{path}" from Vault: "{error}"') from error


def get_secret_v2(args: dict[str, Any]) -> dict[str, Any]:
    """data_source_kv_secret_v2.go kvSecretV2DataSourceRead."""
    given = {k for k, v in args.items() if v is not None}
    unsupported = sorted(given - {"mount", "name", "version"})
    if unsupported:
        raise Failure(f"the vault stand-in does not implement arguments {unsupported}")
    path = f"{args['mount']}/data/{args['name']}"
    query = {"version": str(args["version"])} if args.get("version") else None
    try:
        secret = META.client.read(path, query)
    except Failure as error:
        raise Failure(f'error reading secret "{path}" from Vault: {error}') from error
    if secret is None:
        raise Failure(f'no secret found at "{path}"')
    data = (secret.get("data") or {}).get("data")
    metadata = (secret.get("data") or {}).get("metadata") or {}
    result = {
        "id": path,
        "path": path,
        "mount": args["mount"],
        "name": args["name"],
        "dataJson": go_json(data),
        "data": as_strings(data) if isinstance(data, dict) else None,
        "createdTime": metadata.get("created_time"),
        "deletionTime": metadata.get("deletion_time"),
        "destroyed": metadata.get("destroyed"),
        "version": metadata.get("version"),
    }
    if metadata.get("custom_metadata"):
        result["customMetadata"] = as_strings(metadata["custom_metadata"])
    return result
