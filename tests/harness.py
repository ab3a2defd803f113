"""Run __main__.py under Pulumi mocks and collect what it registered, as plain data.

Each run sets fresh mocks and config and re-runs the program (runpy), as Pulumi recommends.
Secret values stay wrapped ({SECRET_SIG: ..., "value": ...}) in recorded inputs, so tests can
assert that they are secret.
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import functools
import gc
import hashlib
import ipaddress
import json
import os
import pickle
import runpy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import rpc, settings

from components import images
from components.settings.postgres import DEFAULT_POSTGRES_IMAGE

ROOT = Path(__file__).resolve().parent.parent
MAIN = ROOT / "__main__.py"
PROJECT = "aidbox-secrets"
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
TENANT = "00000000-0000-0000-0000-0000000000aa"
DEPLOYER = "00000000-0000-0000-0000-0000000000de"
KUBELET_CLIENT, KUBELET_OBJECT = "kubelet-client-id", "kubelet-object-id"
ADDON_CLIENT, ADDON_OBJECT = "addon-client-id", "addon-object-id"
UAMI_CLIENT, UAMI_PRINCIPAL = "uami-client-id", "uami-principal-id"
# The database's own identity (Key Vault, workload mode): ids of its own, to tell the two apart.
DB_UAMI_CLIENT, DB_UAMI_PRINCIPAL = "db-uami-client-id", "db-uami-principal-id"
OIDC_ISSUER = "https://oidc.example/issuer/"
LB_IP = "203.0.113.50"
FIREWALL_PUBLIC_IP = "198.51.100.10"  # the public address Azure gives the created firewall
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
API_SERVER = "https://aks.example:443"
# What listManagedClusterUserCredentials(format=exec) returns for an Entra ID cluster.
KUBECONFIG = yaml.safe_dump(
    {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "aks",
                "cluster": {
                    "server": API_SERVER,
                    "certificate-authority-data": base64.b64encode(CA_PEM.encode()).decode(),
                },
            }
        ],
        "users": [
            {
                "name": "clusterUser_rg_aks",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "kubelogin",
                        "args": ["get-token", "--login", "devicecode", "--server-id", "x"],
                    }
                },
            }
        ],
    }
)
# What getManagedCluster returns for an existing cluster (cluster.mode existingAks): OIDC issuer
# and workload identity on, no Key Vault add-on, no application routing.
EXISTING_KUBELET_CLIENT, EXISTING_KUBELET_OBJECT = "ext-kubelet-client", "ext-kubelet-object"
EXISTING_ADDON_CLIENT, EXISTING_ADDON_OBJECT = "ext-addon-client", "ext-addon-object"
EXISTING_OIDC_ISSUER = "https://oidc.example/existing/"
EXISTING_CLUSTER: dict[str, Any] = {
    "name": "aks-platform",
    "location": "westeurope",
    "identityProfile": {
        "kubeletidentity": {
            "clientId": EXISTING_KUBELET_CLIENT,
            "objectId": EXISTING_KUBELET_OBJECT,
            "resourceId": "/kubelet",
        }
    },
    "oidcIssuerProfile": {"enabled": True, "issuerURL": EXISTING_OIDC_ISSUER},
    "securityProfile": {"workloadIdentity": {"enabled": True}},
    "addonProfiles": {},
}
EXISTING_ADDON = {
    "azureKeyvaultSecretsProvider": {
        "enabled": True,
        "config": {"enableSecretRotation": "true", "rotationPollInterval": "30s"},
        "identity": {"clientId": EXISTING_ADDON_CLIENT, "objectId": EXISTING_ADDON_OBJECT},
    }
}
SA_TOKEN = "reviewer-jwt"
ENTRA_TOKEN = "entra-token-for-aks"
VAULT_CA_PEM = "-----BEGIN CERTIFICATE-----\nVAULTCA\n-----END CERTIFICATE-----\n"
VAULT_CERT_PEM = "-----BEGIN CERTIFICATE-----\nVAULTSERVER\n-----END CERTIFICATE-----\n"
PEM_PRIVATE_HEAD = "-----BEGIN RSA PRIVATE KEY-----\n"


def is_secret(value: Any) -> bool:
    return rpc.is_rpc_secret(value)


def unwrap(value: Any) -> Any:
    """Strip secret wrappers, recursively, to compare values."""
    if is_secret(value):
        return unwrap(value["value"])
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


@dataclass(frozen=True)
class AliasSpec:
    """A pulumi.Alias as plain data; `...` (the SDK's "unchanged") where the program left a
    field out, a parent resource by its logical name."""

    name: Any = ...
    type_: Any = ...
    parent: Any = ...
    stack: Any = ...
    project: Any = ...

    @classmethod
    def of(cls, alias: pulumi.Alias | str) -> AliasSpec | str:
        if isinstance(alias, str):
            return alias
        parent = alias.parent
        if isinstance(parent, pulumi.Resource):
            parent = parent._name
        return cls(alias.name, alias.type_, parent, alias.stack, alias.project)


@dataclass(frozen=True)
class Options:
    """The resource options the program passed, as plain data (a run can be pickled)."""

    protect: bool | None = None
    ignore_changes: list[str] | None = None
    delete_before_replace: bool | None = None
    retain_on_delete: bool | None = None
    replace_on_changes: list[str] | None = None
    additional_secret_outputs: list[str] | None = None
    depends_on: tuple[str, ...] = ()  # logical names of the resources waited for
    aliases: tuple[AliasSpec | str, ...] = ()

    @classmethod
    def of(cls, opts: pulumi.ResourceOptions) -> Options:
        deps = opts.depends_on
        if deps is None:
            deps = []
        elif not isinstance(deps, list):
            deps = [deps]
        return cls(
            protect=opts.protect,
            ignore_changes=opts.ignore_changes,
            delete_before_replace=opts.delete_before_replace,
            retain_on_delete=opts.retain_on_delete,
            replace_on_changes=opts.replace_on_changes,
            additional_secret_outputs=opts.additional_secret_outputs,
            # An Output in depends_on (a resource known once it resolves) is recorded by the
            # monitor among the registration's dependencies, not here.
            depends_on=tuple(d._name for d in deps if isinstance(d, pulumi.Resource)),
            aliases=tuple(AliasSpec.of(a) for a in opts.aliases or []),
        )


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    parent: str  # parent URN, "" for the stack
    custom: bool
    provider: str
    opts: Options | None = None  # as the program passed them
    # input property -> URNs of the resources its value came from (Outputs passed as inputs)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    urn: str = ""
    # URNs this registration waits for: depends_on and every resource whose outputs feed
    # an input (the engine's view, from the RegisterResource request).
    dependencies: tuple[str, ...] = ()

    @property
    def props(self) -> dict[str, Any]:
        return unwrap(self.inputs)


@dataclass
class Captured:
    value: Any
    secret: bool


@dataclass
class StackRun:
    resources: list[Registered]
    outputs: dict[str, Captured] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # invokes, with args

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registered:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, got {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> Registered:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"expected one resource named {name}, got {len(found)}"
        return found[0]

    def types(self) -> set[str]:
        return {r.type for r in self.resources}

    def k8s(self, kind: str, name: str) -> Registered:
        """A Kubernetes object by kind (e.g. 'apps/v1:Deployment') and metadata.name."""
        found = [
            r
            for r in self.of_type(f"kubernetes:{kind}")
            if (r.props.get("metadata") or {}).get("name") == name
        ]
        assert len(found) == 1, f"expected one {kind} named {name}, got {len(found)}"
        return found[0]

    def spc(self, name: str = "aidbox-secrets") -> Registered:
        """A SecretProviderClass by name: Aidbox's by default (`aidbox-db-secrets` is the
        database's)."""
        return self.k8s("secrets-store.csi.x-k8s.io/v1:SecretProviderClass", name)

    def output(self, name: str) -> Any:
        return unwrap(self.outputs[name].value)


def _fake_outputs(typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """What the cloud would add to a resource's inputs: ids, names, identities, addresses."""
    out = dict(inputs)
    rid = f"{name}-id"
    rg = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{inputs.get('resourceGroupName')}"
    if typ == "azure-native:resources:ResourceGroup":
        out["name"] = inputs["resourceGroupName"]
        rid = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{out['name']}"
    elif typ == "azure-native:keyvault:Vault":
        out["name"] = inputs["vaultName"]
        out["properties"] = {
            **unwrap(inputs["properties"]),
            "vaultUri": f"https://{out['name']}.vault.azure.net/",
        }
        rid = f"{rg}/providers/Microsoft.KeyVault/vaults/{out['name']}"
    elif typ == "azure-native:containerservice:ManagedCluster":
        out["name"] = inputs["resourceName"]
        out["identityProfile"] = {
            "kubeletidentity": {
                "clientId": KUBELET_CLIENT,
                "objectId": KUBELET_OBJECT,
                "resourceId": "/kubelet",
            }
        }
        out["oidcIssuerProfile"] = {"enabled": True, "issuerURL": OIDC_ISSUER}
        out["fqdn"] = "aks.example"
        addons = inputs.get("addonProfiles") or {}
        if "azureKeyvaultSecretsProvider" in addons:
            profile = dict(addons["azureKeyvaultSecretsProvider"])
            profile["identity"] = {"clientId": ADDON_CLIENT, "objectId": ADDON_OBJECT}
            out["addonProfiles"] = {**addons, "azureKeyvaultSecretsProvider": profile}
        rid = f"{rg}/providers/Microsoft.ContainerService/managedClusters/{out['name']}"
    elif typ == "azure-native:containerregistry:Registry":
        out["name"] = inputs["registryName"]
        out["loginServer"] = f"{inputs['registryName']}.azurecr.io"
        rid = f"{rg}/providers/Microsoft.ContainerRegistry/registries/{out['name']}"
    elif typ == "azure-native:storage:StorageAccount":
        out["name"] = inputs["accountName"]
        rid = f"{rg}/providers/Microsoft.Storage/storageAccounts/{out['name']}"
    elif typ == "azure-native:storage:BlobContainer":
        out["name"] = inputs["containerName"]
        account = f"{rg}/providers/Microsoft.Storage/storageAccounts/{inputs['accountName']}"
        rid = f"{account}/blobServices/default/containers/{out['name']}"
    elif typ == "azure-native:dbforpostgresql:Server":
        out["name"] = inputs["serverName"]
        out["fullyQualifiedDomainName"] = f"{inputs['serverName']}.postgres.database.azure.com"
    elif typ == "azure-native:network:PublicIPAddress":
        out["ipAddress"] = FIREWALL_PUBLIC_IP
    elif typ == "azure-native:network:FirewallPolicy":
        out["name"] = inputs["firewallPolicyName"]
    elif typ == "azure-native:managedidentity:UserAssignedIdentity":
        ids = (UAMI_CLIENT, UAMI_PRINCIPAL)
        if name.endswith("-database-identity"):
            ids = (DB_UAMI_CLIENT, DB_UAMI_PRINCIPAL)
        out |= {"name": f"{name}-uami", "clientId": ids[0], "principalId": ids[1]}
    elif typ == "kubernetes:core/v1:Service" and inputs.get("spec", {}).get("type") == (
        "LoadBalancer"
    ):
        out["status"] = {"loadBalancer": {"ingress": [{"ip": LB_IP}]}}
    elif typ == "kubernetes:core/v1:Secret" and inputs.get("type") == (
        "kubernetes.io/service-account-token"
    ):
        out["data"] = {"token": base64.b64encode(SA_TOKEN.encode()).decode()}
    elif typ == "tls:index/privateKey:PrivateKey":
        out["privateKeyPem"] = rpc.wrap_rpc_secret(
            f"{PEM_PRIVATE_HEAD}{name}\n-----END RSA PRIVATE KEY-----\n"
        )
        out["publicKeyPem"] = f"-----BEGIN PUBLIC KEY-----\n{name}\n-----END PUBLIC KEY-----\n"
    elif typ == "random:index/randomPassword:RandomPassword":
        out["result"] = rpc.wrap_rpc_secret(f"generated-{name}")
    elif typ == "tls:index/privateKey:PrivateKey":
        out["privateKeyPem"] = rpc.wrap_rpc_secret(f"private-key-{name}")
    elif typ == "tls:index/selfSignedCert:SelfSignedCert":
        out["certPem"] = VAULT_CA_PEM
    elif typ == "tls:index/certRequest:CertRequest":
        out["certRequestPem"] = f"csr-{name}"
    elif typ == "tls:index/locallySignedCert:LocallySignedCert":
        out["certPem"] = VAULT_CERT_PEM
    return rid, out


class Mocks(pulumi.runtime.Mocks):
    def __init__(
        self,
        existing_cluster: Mapping[str, Any] = EXISTING_CLUSTER,
        subscription: str = SUBSCRIPTION,
        vault_kv: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.existing_cluster = dict(existing_cluster)
        self.subscription = subscription  # the deployer's, from getClientConfig
        self.vault_kv = dict(vault_kv or {})  # "<mount>/<name>" -> data, for kv getSecretV2
        self.resources: list[Registered] = []
        self.parents: dict[str, str] = {}
        self.property_dependencies: dict[str, dict[str, list[str]]] = {}
        self.options: dict[str, Options] = {}
        self.calls: list[str] = []
        self.call_args: list[tuple[str, dict[str, Any]]] = []
        self.dependencies: dict[tuple[str, str], tuple[str, ...]] = {}

    def record_options(
        self, args: pulumi.ResourceTransformationArgs
    ) -> pulumi.ResourceTransformationResult | None:
        """A (legacy, SDK-side) stack transformation: it runs under mocks, unlike transforms,
        so tests can see options such as protect, ignore_changes and depends_on."""
        self.options[args.name] = Options.of(args.opts)
        return None

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        if args.typ == "azure-native:network:AzureFirewall":
            return self._firewall(args)
        self.resources.append(self._registered(args))
        return _fake_outputs(args.typ, args.name, args.inputs)

    def _registered(self, args: pulumi.runtime.MockResourceArgs) -> Registered:
        return Registered(
            type=args.typ,
            name=args.name,
            inputs=args.inputs,
            parent=self.parents.get(args.name, ""),
            custom=bool(args.custom),
            provider=args.provider or "",
            opts=self.options.get(args.name),
            property_dependencies=self.property_dependencies.get(args.name, {}),
            dependencies=self.dependencies.get((args.typ, args.name), ()),
        )

    def _firewall(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        """Azure gives an Azure Firewall the first address its subnet may use: read the
        subnet's range from the network the program declared."""
        self.resources.append(self._registered(args))
        subnets = [
            subnet
            for r in self.resources
            if r.type == "azure-native:network:VirtualNetwork"
            for subnet in unwrap(r.inputs).get("subnets") or []
            if subnet["name"] == "AzureFirewallSubnet"
        ]
        rid, out = _fake_outputs(args.typ, args.name, args.inputs)
        first = str(ipaddress.IPv4Network(subnets[0]["addressPrefix"]).network_address + 4)
        out["ipConfigurations"] = [
            {**config, "privateIPAddress": first} for config in args.inputs["ipConfigurations"]
        ]
        return rid, out

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        self.calls.append(args.token)
        self.call_args.append((args.token, dict(args.args)))
        if args.token == "azure-native:authorization:getClientToken":
            return {"token": ENTRA_TOKEN}, []
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": "deployer-client",
                "objectId": DEPLOYER,
                "subscriptionId": self.subscription,
                "tenantId": TENANT,
            }, []
        if args.token == "azure-native:containerservice:getManagedCluster":
            return self.existing_cluster, []
        if args.token.startswith("azure-native:containerservice:listManagedCluster"):
            value = base64.b64encode(KUBECONFIG.encode()).decode()
            return {"kubeconfigs": [{"name": "clusterUser", "value": value}]}, []
        if args.token == "vault:kv/getSecretV2:getSecretV2":
            data = self.vault_kv[f"{args.args['mount']}/{args.args['name']}"]
            return {"data": dict(data), "dataJson": json.dumps(data)}, []
        raise AssertionError(f"unexpected call {args.token}")


class _Monitor(pulumi.runtime.mocks.MockMonitor):
    """Notes each registration's parent and property dependencies, which MockResourceArgs
    does not carry."""

    def RegisterResource(self, request: Any) -> Any:
        self.mocks.parents[request.name] = request.parent  # type: ignore[attr-defined]
        self.mocks.property_dependencies[request.name] = {  # type: ignore[attr-defined]
            key: list(deps.urns) for key, deps in request.propertyDependencies.items()
        }
        found = set(request.dependencies)
        for deps in request.propertyDependencies.values():
            found |= set(deps.urns)
        key = (request.type, request.name)
        self.mocks.dependencies[key] = tuple(sorted(found))  # type: ignore[attr-defined]
        response = super().RegisterResource(request)
        for resource in reversed(self.mocks.resources):  # type: ignore[attr-defined]
            if (resource.type, resource.name) == key:
                resource.urn = response.urn
                break
        return response


def _encode(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def with_imports(config: Mapping[str, Any], stack: str = "dev") -> dict[str, Any]:
    """`config` with registry.imported as scripts/import-images.sh leaves it: every image the
    settings run, copied into the registry you own (a stack without one is unchanged)."""
    from components.settings import parse_settings

    full = {(k if ":" in k else f"{PROJECT}:{k}"): v for k, v in config.items()}
    prefix = f"{PROJECT}:"
    raw = {k[len(prefix) :]: v for k, v in full.items() if k.startswith(prefix)}
    settings = parse_settings(
        raw,
        project=PROJECT,
        stack=stack,
        location=full.get("azure-native:location"),
        secret_keys=frozenset({"aidboxLicense", "azure", "vault", "cluster"} & set(raw)),
        registry_bootstrap=True,
    )
    if not settings.registry.owned:
        return full
    registry = dict(raw.get("registry") or {})
    registry["imported"] = [r.source for r in images.required_by(settings)]
    return {**full, f"{PROJECT}:registry": registry}


def stack_config(path: Path) -> dict[str, Any]:
    """The `config:` of a committed stack file, as `key -> value` (keys keep namespaces)."""
    document = yaml.safe_load(path.read_text()) or {}
    return dict(document.get("config") or {})


def run_stack(
    config: Mapping[str, Any],
    *,
    secret_keys: Iterable[str] = (),
    stack: str = "dev",
    mocks: Mocks | None = None,
) -> StackRun:
    """Run the program with `config` (keys with or without the project prefix).

    `secret_keys` names keys Pulumi holds as secrets (as `--secret` would). Runs with the
    harness's own mocks are remembered by their inputs: tests only read what a run recorded, so
    the many tests that look at the same configuration share one run."""
    full = {(k if ":" in k else f"{PROJECT}:{k}"): _encode(v) for k, v in config.items()}
    secrets = sorted({k if ":" in k else f"{PROJECT}:{k}" for k in secret_keys})
    if mocks is None:
        key = json.dumps([full, secrets, stack], sort_keys=True)
        if key not in _RUNS:
            _RUNS[key] = _shared_run(key, lambda: _run(full, secrets, stack, Mocks()))
        return _RUNS[key]
    return _run(full, secrets, stack, mocks)


_RUNS: dict[str, StackRun] = {}
# A directory the test session's processes (pytest-xdist workers) share runs through; set by
# tests/conftest.py for one session and removed after it.
CACHE_ENV = "AIDBOX_SECRETS_RUN_CACHE"


@functools.cache
def source_digest() -> str:
    """A digest of everything a run depends on: the program, its components and stack files,
    and these mocks. A run is only ever reused for the very sources it was made from."""
    digest = hashlib.sha256()
    files = [MAIN, Path(__file__), *ROOT.glob("Pulumi*.yaml"), *ROOT.glob("charts/*.yaml")]
    files += [p for p in (ROOT / "components").rglob("*") if p.is_file()]
    for path in sorted(set(files)):
        if "__pycache__" in path.parts:
            continue
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _shared_run(key: str, make: Callable[[], StackRun]) -> StackRun:
    """`make()`, or the run another process of this session already made for the same key.
    One process makes each run; the others wait for it (a lock per key)."""
    directory = os.environ.get(CACHE_ENV)
    if not directory:
        return make()
    name = hashlib.sha256(f"{source_digest()}\0{key}".encode()).hexdigest()
    path = Path(directory) / f"{name}.pickle"
    with open(Path(directory) / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return pickle.loads(path.read_bytes())
        run = make()
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(pickle.dumps(run, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(partial, path)
        return run


def _run(full: dict[str, str], secrets: list[str], stack: str, mocks: Mocks) -> StackRun:
    pulumi.runtime.set_all_config(full, secrets)
    settings.ROOT.set(None)  # a fresh Stack per run: exports do not leak between tests
    pulumi.runtime.set_mocks(
        mocks,
        project=PROJECT,
        stack=stack,
        preview=False,
        monitor=_Monitor(mocks),
        organization="organization",
    )
    run = StackRun(mocks.resources, calls=mocks.call_args)

    async def collect() -> None:
        root = settings.get_root_resource()
        for key, value in root.outputs.items():  # type: ignore[union-attr]
            output = pulumi.Output.from_input(value)
            run.outputs[key] = Captured(await output.future(), await output.is_secret())

    @pulumi.runtime.test
    def program() -> Any:
        pulumi.runtime.register_stack_transformation(mocks.record_options)
        runpy.run_path(str(MAIN), run_name="__main__")
        return asyncio.ensure_future(collect())

    # The SDK's asyncio machinery makes many reference cycles per run (a few MB): the cyclic
    # collector would scan them, and every long-lived object (the provider SDKs, earlier runs),
    # again and again. A test process is short-lived: no collection during a run, and what it
    # leaves goes to the permanent generation (gc.freeze), never scanned again.
    gc.disable()
    try:
        program()
    finally:
        gc.freeze()
        gc.enable()
    return run


def ints(value: Any) -> Any:
    """Mocked inputs carry every number as a float (protobuf); JSON would carry 5432, not 5432.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [ints(v) for v in value]
    return value


def depends_on(resource: Registered) -> set[str]:
    """Logical names of the resources `resource` was told to wait for."""
    return set(resource.opts.depends_on) if resource.opts else set()


def plain_strings(value: Any) -> list[str]:
    """Every string in `value` that is not inside a secret."""
    if is_secret(value):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in plain_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in plain_strings(v)]
    return []


# As Pulumi.dev.yaml: the kubelet identity reads the vault (the default is workload).
AZURE_DEV = {
    "azure-native:location": "westeurope",
    "secretStore": "azure",
    "azure": {"identity": "kubelet"},
    "secrets": {"client-secret": {"scope": "Client/basic"}},
}
VAULT_DEV = {
    "azure-native:location": "westeurope",
    "secretStore": "vault",
    "vault": {"mode": "dev"},
    "secrets": {"client-secret": {"scope": "Client/basic"}},
}
VAULT_HA = {
    **VAULT_DEV,
    "vault": {"mode": "ha"},
    "cluster": {"userPool": {"minCount": 3, "maxCount": 3}},
}
# An external Vault, and an ha Vault after its one-time init; distinctive tokens, so that tests
# can look for them in plain text.
VAULT_EXTERNAL = {
    **VAULT_DEV,
    "vault": {"mode": "external", "address": "https://vault.example:8200", "token": "t0ken"},
}
VAULT_EXTERNAL_CA_FILE = str(ROOT / "tests" / "data" / "vault-ca.pem")
VAULT_EXTERNAL_CA = {
    **VAULT_EXTERNAL,
    "vault": {**VAULT_EXTERNAL["vault"], "caCertFile": VAULT_EXTERNAL_CA_FILE},
}
VAULT_HA_INIT = {**VAULT_HA, "vault": {"mode": "ha", "token": "h4-root"}}
# A production stack with an ha Vault (after init), reachable only from the administrators'.
PRODUCTION_AIDBOX_IMAGE = "healthsamurai/aidboxone:2605.0"  # production pins YYMM.N
VAULT_HA_PRODUCTION = {
    **VAULT_HA_INIT,
    "production": True,
    "cluster": {
        **VAULT_HA["cluster"],
        "apiServerAuthorizedRanges": ["203.0.113.0/28"],
        "adminGroupObjectIds": ["0f6b1e2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"],
    },
    "aidbox": {
        "replicas": 2,
        "image": PRODUCTION_AIDBOX_IMAGE,
        "internal": {"baseUrl": "https://fhir.example.org"},
    },
    "aidboxLicense": "test-license",
    "postgres": {"mode": "inCluster"},
    # Its own registry (production's default), holding what scripts/import-images.sh copies.
    "registry": {
        "imported": [
            image.source
            for image in images.required(
                aidbox_image=PRODUCTION_AIDBOX_IMAGE,
                postgres_image=DEFAULT_POSTGRES_IMAGE,
                csi_helm=True,
                azure_provider=False,
                vault_mode="ha",
                vault_snapshots=True,
            )
        ]
    },
}
VAULT_HA_PRODUCTION_SECRETS = ("vault", "aidboxLicense")

# Richer shared configurations. Each program run costs a third of a second, so the tests of
# single settings share a few runs that carry many settings at once; each test looks only at
# what its own setting drives (and reads the expected value from here where it can).
CLINIC_NAMESPACE, CLINIC_ACCOUNT = "clinic", "fhir"
SP_CLIENT = "11111111-2222-3333-4444-555555555555"
SP_OBJECT = "66666666-7777-8888-9999-000000000000"
# Azure Key Vault, kubelet identity, in namespace "clinic" with ServiceAccount "fhir", and one
# non-default value for each of several single settings.
AZURE_TUNED = {
    **AZURE_DEV,
    "keyVault": {
        "purgeProtection": False,
        "secretsOfficers": [{"objectId": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "type": "User"}],
    },
    "rotationPollInterval": "2m",
    "namespace": CLINIC_NAMESPACE,
    "aidbox": {"serviceAccount": CLINIC_ACCOUNT},
    "aidboxLicense": "{not-json",  # a string that looks like JSON is read as written
    "secrets": {"client-secret": {"scope": "Client/other", "value": "s3cr3t"}},
    "csi": {"metrics": "none"},
    "postgres": {"mode": "azureFlexible", "azureFlexible": {"backupRetentionDays": 14}},
}
AZURE_TUNED_SECRETS = ("aidboxLicense", "secrets")
# Aidbox and its database sized and imaged by hand, a named Key Vault with its retention.
AZURE_SIZED = {
    **AZURE_DEV,
    "aidbox": {
        "image": "registry.example/aidboxone:2602.1",
        "replicas": 3,
        "cpuRequest": "750m",
        "memoryRequest": "3Gi",
        "cpuLimit": "3",
        "memoryLimit": "6Gi",
    },
    "postgres": {"image": "registry.example/postgres:17.7", "storageSize": "64Gi"},
    "keyVault": {"name": "kv-clinic-01", "retentionDays": 30},
}
# A dev Vault with its own names, a configured secret value, three replicas and a license that
# looks like JSON.
VAULT_TUNED = {
    **VAULT_DEV,
    "vault": {
        **VAULT_DEV["vault"],
        "authMountPath": "aks",
        "secretPath": "apps/aidbox",
        "policyName": "aidbox-read",
        "roleName": "aidbox-app",
    },
    "secrets": {"client-secret": {"scope": "Client/basic", "value": "v4lue"}},
    "aidbox": {"replicas": 3},
    "aidboxLicense": '{"a": 1}',
}
VAULT_TUNED_SECRETS = ("secrets", "aidboxLicense")
# Aidbox in public (a host with a TLS Secret) and autoscaled, with env from the store.
STORE_SECRETS = {
    "client-secret": {"scope": "Client/basic"},
    "aidbox-license": {"kubernetesSecret": {"name": "aidbox-store", "key": "license"}},
    "admin-password": {"kubernetesSecret": {"name": "aidbox-store"}},
}
ENV_FROM_STORE = {"BOX_LICENSE": "aidbox-license", "BOX_ADMIN_PASSWORD": "admin-password"}
PUBLIC = {
    "host": "fhir.example.org",
    "tls": {"secretName": "fhir-tls"},
    "autoscaling": {"minReplicas": 2, "maxReplicas": 5, "targetCPUUtilization": 60},
    "envFromStore": ENV_FROM_STORE,
}
AZURE_PUBLIC = {
    **AZURE_DEV,
    "secrets": STORE_SECRETS,
    "aidbox": {
        **PUBLIC,
        "env": {"BOX_WEB_THREAD": 8, "BOX_FHIR_TERMINOLOGY_ENGINE": "local", "BOX_X": 3},
    },
}
# The same with Vault, ServiceMonitors, the Azure database, in namespace "clinic".
VAULT_PUBLIC = {
    **VAULT_DEV,
    "secrets": STORE_SECRETS,
    "aidbox": {**PUBLIC, "serviceAccount": CLINIC_ACCOUNT},
    "namespace": CLINIC_NAMESPACE,
    "csi": {"metrics": "serviceMonitor"},
    "postgres": AZURE_TUNED["postgres"],
}
