"""The Pulumi provider gRPC protocol for the stand-in plugins (README.md here): E2E ONLY.

pulumi-random, pulumi-tls and pulumi-vault cannot be built on this machine (their provider
modules and Terraform upstreams are not served), so the end-to-end run puts these stand-ins on
PATH in their place. They are never used by a real deploy, and they cannot show the real
providers' own bugs and edge cases, nor Terraform-bridge behaviour beyond what is implemented
here.

One `Plugin` per provider: its resource types (a property table each, with the published
provider's replace-versus-update behaviour) and functions. This module speaks the protocol the
engine speaks to every provider (pulumi/runtime/proto/provider.proto): it serves on 127.0.0.1
and prints the port, as the SDK's dynamic provider does; it checks inputs against the table
(defaults, required and unknown properties), diffs them (replacements), keeps secrets secret and
leaves computed outputs unknown in a preview. The resource classes only ever see plain values.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from threading import Event
from types import MappingProxyType
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import plugin_pb2, provider_pb2_grpc
from pulumi.runtime.proto import provider_pb2 as proto

SIG, SECRET_SIG, UNKNOWN = rpc._special_sig_key, rpc._special_secret_sig, rpc.UNKNOWN
# Keys the engine adds to a provider's own inputs.
ENGINE_CONFIG_KEYS = frozenset({"version", "pluginDownloadURL"})
Kind = proto.PropertyDiff.Kind


class Failure(Exception):
    """An error the engine shows as the operation's failure."""


@dataclass(frozen=True)
class Prop:
    """One input property, as the published provider's schema has it."""

    replace: bool = False  # ForceNew / RequiresReplace: a change replaces the resource
    required: bool = False
    default: Any = None  # the schema's Default, filled in by Check
    secret: bool = False  # Sensitive: secret in the outputs too
    computed: bool = False  # Optional + Computed: left out, the state's value stands
    # How two values compare (e.g. as sets, or as JSON documents); plain equality otherwise.
    same: Callable[[Any, Any], bool] | None = None


def schema(**props: Prop) -> Mapping[str, Prop]:
    """A resource's input properties, by their names on the wire (camelCase)."""
    return MappingProxyType(props)


class Resource:
    """A resource type: its token, input properties and CRUD on plain (revealed) values.
    `create` and `update` return the whole new state; `read` returns it, or None when the
    resource is gone."""

    token: str
    props: Mapping[str, Prop]
    computed: frozenset[str] = frozenset()  # outputs that are unknown until created
    secret_outputs: frozenset[str] = frozenset()

    def validate(self, inputs: dict[str, Any]) -> list[tuple[str, str]]:
        return []

    def extra_replaces(self, state: dict[str, Any], inputs: dict[str, Any]) -> list[str]:
        return []

    def create(self, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def read(self, id_: str, state: dict[str, Any]) -> dict[str, Any] | None:
        return state

    def update(self, id_: str, state: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        return {**state, **inputs}

    def delete(self, id_: str, state: dict[str, Any]) -> None:
        return None


@dataclass
class Plugin:
    name: str
    resources: list[Resource]
    config_props: Mapping[str, Prop] = field(default_factory=dict)
    configure: Callable[[dict[str, Any]], None] = lambda config: None
    functions: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]] = field(
        default_factory=dict
    )
    secret_results: frozenset[str] = frozenset()  # function results that are secret


# --- values -----------------------------------------------------------------------------------


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG) == SECRET_SIG


def reveal(value: Any) -> Any:
    """`value` without secret wrappers, numbers that are whole as ints (protobuf sends floats)."""
    if is_secret(value):
        return reveal(value.get("value"))
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def has_secret(value: Any) -> bool:
    if is_secret(value):
        return True
    if isinstance(value, dict):
        return any(has_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(has_secret(v) for v in value)
    return False


def has_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknown(v) for v in value)
    return False


def secret(value: Any) -> dict[str, Any]:
    return {SIG: SECRET_SIG, "value": value}


def from_struct(message: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(message)


def to_struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update({k: v for k, v in values.items() if v is not None})
    return message


def empty(value: Any) -> bool:
    """Terraform's zero values: an unset optional property and "", [], {}, false, 0 agree."""
    return (
        value is None
        or value == ""
        or value == []
        or value == {}
        or value is False
        or (isinstance(value, int | float) and not isinstance(value, bool) and value == 0)
    )


def same_set(a: Any, b: Any) -> bool:
    return sorted(map(json.dumps, a or [])) == sorted(map(json.dumps, b or []))


# --- the operations, on plain data (tested without gRPC) -------------------------------------


def check(
    props: Mapping[str, Prop], news: dict[str, Any], allowed: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """`news` with the schema's defaults filled in, and what is wrong with them."""
    checked = dict(news)
    failures = []
    for key in news:
        if key not in props and key not in allowed and not key.startswith("__"):
            failures.append((key, f"the stand-in does not implement property {key!r}"))
    for key, prop in props.items():
        if key not in checked and prop.default is not None:
            checked[key] = prop.default
        if prop.required and checked.get(key) is None:
            failures.append((key, f'Missing required argument: the argument "{key}" is required'))
    return checked, failures


def diff(
    resource: Resource,
    state: dict[str, Any],
    news: dict[str, Any],
    ignore_changes: list[str] = (),  # type: ignore[assignment]
) -> proto.DiffResponse:
    """Compare checked inputs with the state (as the bridge does, against the outputs)."""
    olds, new_values = reveal(state), reveal(news)
    ignored = {path.split(".")[0].split("[")[0] for path in ignore_changes}
    detailed: dict[str, proto.PropertyDiff] = {}
    for key, prop in resource.props.items():
        if key in ignored or (key not in new_values and prop.computed):
            continue
        old, new = olds.get(key), new_values.get(key)
        if not has_unknown(new) and (
            prop.same(old, new) if prop.same else (old == new or (empty(old) and empty(new)))
        ):
            continue
        kind = Kind.ADD if old is None else Kind.DELETE if new is None else Kind.UPDATE
        if prop.replace:
            kind += 1  # ADD_REPLACE, DELETE_REPLACE, UPDATE_REPLACE
        detailed[key] = proto.PropertyDiff(kind=kind, inputDiff=True)
    if not any(has_unknown(v) for v in new_values.values()):
        for key in resource.extra_replaces(olds, new_values):
            detailed[key] = proto.PropertyDiff(kind=Kind.UPDATE_REPLACE, inputDiff=False)
    replaces = [k for k, d in detailed.items() if d.kind in REPLACING]
    return proto.DiffResponse(
        changes=proto.DiffResponse.DIFF_SOME if detailed else proto.DiffResponse.DIFF_NONE,
        replaces=replaces,
        diffs=list(detailed),
        detailedDiff=detailed,
        hasDetailedDiff=True,
        deleteBeforeReplace=False,
    )


REPLACING = {Kind.ADD_REPLACE, Kind.DELETE_REPLACE, Kind.UPDATE_REPLACE}


def wrap_outputs(resource: Resource, outputs: dict[str, Any], inputs: dict[str, Any]) -> dict:
    """Outputs the provider marks sensitive, and any whose input was secret, as secrets."""
    wrapped = {}
    for key, value in outputs.items():
        prop = resource.props.get(key)
        hidden = key in resource.secret_outputs or (prop is not None and prop.secret)
        if value is not None and (hidden or has_secret(inputs.get(key))):
            value = secret(value)
        wrapped[key] = value
    return wrapped


def preview_outputs(resource: Resource, inputs: dict[str, Any]) -> dict[str, Any]:
    return {**inputs, **{k: UNKNOWN for k in resource.computed}}


def refreshed_inputs(inputs: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """Inputs after a refresh: each taken from the state read back, secret where it was."""
    fresh = {}
    for key, value in inputs.items():
        if key in state and not key.startswith("__"):
            value = secret(state[key]) if has_secret(value) else state[key]
        fresh[key] = value
    return fresh


# --- gRPC ---------------------------------------------------------------------------------------


def _log(plugin: str, method: str, detail: str = "") -> None:
    """Each call the engine makes, to $STANDINS_CALL_LOG when set (to see what it calls)."""
    path = os.environ.get("STANDINS_CALL_LOG")
    if path:
        with open(path, "a") as log:
            log.write(f"{plugin} {method} {detail}".rstrip() + "\n")


def _rpc(method: Callable[..., Any]) -> Callable[..., Any]:
    def call(self: Servicer, request: Any, context: grpc.ServicerContext) -> Any:
        _log(self.plugin.name, method.__name__, getattr(request, "type", "") or "")
        try:
            return method(self, request, context)
        except Failure as error:
            context.abort(grpc.StatusCode.UNKNOWN, str(error))
        except Exception as error:  # a stand-in bug: show it whole
            traceback.print_exc(file=sys.stderr)
            context.abort(grpc.StatusCode.INTERNAL, f"{type(error).__name__}: {error}")

    call.__name__ = method.__name__
    return call


class Servicer(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self, plugin: Plugin, version: str) -> None:
        self.plugin, self.version = plugin, version
        self.types = {r.token: r for r in plugin.resources}

    def _resource(self, request: Any) -> Resource:
        token = request.type or request.urn.split("::")[2]
        if token not in self.types:
            raise Failure(f"the {self.plugin.name} stand-in does not implement {token}")
        return self.types[token]

    @_rpc
    def GetPluginInfo(self, request: Any, context: Any) -> plugin_pb2.PluginInfo:
        return plugin_pb2.PluginInfo(version=self.version)

    @_rpc
    def Handshake(self, request: Any, context: Any) -> proto.ProviderHandshakeResponse:
        return proto.ProviderHandshakeResponse(accept_secrets=True)

    @_rpc
    def CheckConfig(self, request: Any, context: Any) -> proto.CheckResponse:
        config = from_struct(request.news)
        news, failures = check(self.plugin.config_props, config, ENGINE_CONFIG_KEYS)
        return proto.CheckResponse(
            inputs=to_struct(news),
            failures=[proto.CheckFailure(property=k, reason=r) for k, r in failures],
        )

    @_rpc
    def DiffConfig(self, request: Any, context: Any) -> proto.DiffResponse:
        # The bridge's DiffConfig: a changed setting updates the provider, never replaces it
        # (pulumi-terraform-bridge pkg/tfbridge/provider.go, configDiffer.DiffConfig).
        olds = from_struct(request.old_inputs) or from_struct(request.olds)
        olds, news = reveal(olds), reveal(from_struct(request.news))
        changed = [k for k in olds.keys() | news.keys() if olds.get(k) != news.get(k)]
        return proto.DiffResponse(
            changes=proto.DiffResponse.DIFF_SOME if changed else proto.DiffResponse.DIFF_NONE,
            diffs=changed,
            detailedDiff={k: proto.PropertyDiff(kind=Kind.UPDATE, inputDiff=True) for k in changed},
            hasDetailedDiff=True,
        )

    @_rpc
    def Configure(self, request: Any, context: Any) -> proto.ConfigureResponse:
        config = reveal(from_struct(request.args))
        self.plugin.configure({k: v for k, v in config.items() if k not in ENGINE_CONFIG_KEYS})
        return proto.ConfigureResponse(acceptSecrets=True, supportsPreview=True)

    @_rpc
    def Check(self, request: Any, context: Any) -> proto.CheckResponse:
        resource = self._resource(request)
        news, failures = check(resource.props, from_struct(request.news))
        plain = reveal(news)
        if not failures and not has_unknown(plain):
            failures = resource.validate(plain)
        return proto.CheckResponse(
            inputs=to_struct(news),
            failures=[proto.CheckFailure(property=k, reason=r) for k, r in failures],
        )

    @_rpc
    def Diff(self, request: Any, context: Any) -> proto.DiffResponse:
        return diff(
            self._resource(request),
            from_struct(request.olds),
            from_struct(request.news),
            list(request.ignoreChanges),
        )

    @_rpc
    def Create(self, request: Any, context: Any) -> proto.CreateResponse:
        resource, inputs = self._resource(request), from_struct(request.properties)
        if request.preview:
            return proto.CreateResponse(properties=to_struct(preview_outputs(resource, inputs)))
        id_, state = resource.create(reveal(inputs))
        return proto.CreateResponse(
            id=id_, properties=to_struct(wrap_outputs(resource, state, inputs))
        )

    @_rpc
    def Read(self, request: Any, context: Any) -> proto.ReadResponse:
        resource, inputs = self._resource(request), from_struct(request.inputs)
        state = resource.read(request.id, reveal(from_struct(request.properties)))
        if state is None:
            return proto.ReadResponse(id="")
        return proto.ReadResponse(
            id=request.id,
            properties=to_struct(wrap_outputs(resource, state, inputs)),
            inputs=to_struct(refreshed_inputs(inputs, state)),
        )

    @_rpc
    def Update(self, request: Any, context: Any) -> proto.UpdateResponse:
        resource, inputs = self._resource(request), from_struct(request.news)
        olds = from_struct(request.olds)
        if request.preview:
            return proto.UpdateResponse(properties=to_struct({**olds, **inputs}))
        state = resource.update(request.id, reveal(olds), reveal(inputs))
        return proto.UpdateResponse(properties=to_struct(wrap_outputs(resource, state, inputs)))

    @_rpc
    def Delete(self, request: Any, context: Any) -> empty_pb2.Empty:
        self._resource(request).delete(request.id, reveal(from_struct(request.properties)))
        return empty_pb2.Empty()

    @_rpc
    def Invoke(self, request: Any, context: Any) -> proto.InvokeResponse:
        function = self.plugin.functions.get(request.tok)
        if function is None:
            raise Failure(f"the {self.plugin.name} stand-in does not implement {request.tok}")
        result = function(reveal(from_struct(request.args)))
        result = {
            k: secret(v) if k in self.plugin.secret_results and v is not None else v
            for k, v in result.items()
        }
        return proto.InvokeResponse(**{"return": to_struct(result)})

    @_rpc
    def Cancel(self, request: Any, context: Any) -> empty_pb2.Empty:
        return empty_pb2.Empty()


def serve(plugin: Plugin, version: str) -> None:
    """Serve on 127.0.0.1 and print the port, as the engine expects of a plugin (its own address,
    the first argument, is not needed: the stand-ins log nothing to it)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(Servicer(plugin, version), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    try:
        Event().wait()
    except KeyboardInterrupt:
        server.stop(0)
