"""Everything the program renders, validated against the schema that will judge it (issue 5).

For every committed stack file and each store/identity mode below, the program runs once under
mocks (cached) and:

- core Kubernetes objects validate, strictly (unknown fields are errors), against the
  kubernetes-validate schemas of the Kubernetes version the stack's AKS cluster runs;
- SecretProviderClasses validate against the vendored driver chart's CRD (made strict),
  their provider's required parameters and the format of its `objects` document;
- Helm values: each key path the program sets is listed in versions.py's `values_keys`, each
  listed key exists in the vendored chart's own values.yaml, and the Vault chart's values meet
  its values.schema.json (tests/test_helm_render.py renders the charts with real Helm);
- the Vault policy parses as HCL and grants only `read` on the configured path;
- Aidbox's vault config and init Bundle meet the project's JSON schemas in schemas/.

Failures name the case (stack file or mode), the resource and the field.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
import jsonschema
import kubernetes_validate
import pytest
import yaml
from cases import CASES, VAULT_CASES
from cases import run as _run
from cases import settings as _settings
from cases import target_version as _target_version
from harness import ROOT, Registered, StackRun, ints
from hcl2.utils import SerializationOptions

import charts
from components import versions
from components.aidbox.render import SECRET_REFERENCE
from components.kubernetes.vault_snapshot import SNAPSHOT_NAME, SNAPSHOT_PATH

SCHEMAS = ROOT / "schemas"
SPC_TYPE = f"kubernetes:{versions.SPC_API_VERSION}:SecretProviderClass"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
WORKLOADS = (DEPLOYMENT, "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job")
CONFIG_MAP_NAME = "aidbox-config"
# Custom-resource kinds with no schema in kubernetes-validate or the vendored charts: only their
# metadata is validated (as ObjectMeta). Any other kind without a schema fails.
METADATA_ONLY_KINDS = {
    "kubernetes:monitoring.coreos.com/v1:ServiceMonitor": (
        "prometheus-operator CRD, not vendored (the operator is the cluster's, not this program's)"
    ),
    "kubernetes:azmonitoring.coreos.com/v1:ServiceMonitor": (
        "Azure Monitor managed Prometheus CRD, installed by its AKS add-on, not vendored"
    ),
    "kubernetes:azmonitoring.coreos.com/v1:PodMonitor": (
        "Azure Monitor's managed Prometheus CRD, installed by AKS's metrics add-on, not vendored"
    ),
}
REQUIRED_PARAMETERS = {
    "azure": ("keyvaultName", "tenantID", "objects"),
    "vault": ("roleName", "objects", "vaultAddress"),
}
AZURE_OBJECT_TYPES = ("secret", "key", "cert")
VAULT_OBJECT_KEYS = ("objectName", "secretPath", "secretKey")
HCL = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


# -- helpers ----------------------------------------------------------------------------------


@dataclass
class Problems:
    """Collects every broken rule of one test, then fails once, listing them all."""

    where: str
    found: list[str] = field(default_factory=list)

    def add(self, what: str, at: str = "") -> None:
        self.found.append(f"{self.where}: {at}: {what}" if at else f"{self.where}: {what}")

    def check(self) -> None:
        if self.found:
            pytest.fail("\n".join(self.found), pytrace=False)


def _path(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top)"


def _schema_errors(
    error: jsonschema.ValidationError, prefix: Sequence[str | int] = ()
) -> Iterator[tuple[str, str]]:
    """(field path, message) for one error: an additionalProperties error names each field."""
    path = [*prefix, *error.absolute_path]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        extras = sorted(k for k in error.instance if k not in known)
        for extra in extras:
            yield _path([*path, extra]), "Additional properties are not allowed"
        if extras:
            return
    yield _path(path), error.message


def _type_parts(type_token: str) -> tuple[str, str]:
    """`kubernetes:apps/v1:Deployment` -> ("apps/v1", "Deployment"); core/v1 is plain v1."""
    _, group_version, kind = type_token.split(":")
    return ("v1" if group_version == "core/v1" else group_version), kind


def render(resource: Registered) -> dict[str, Any]:
    """The object as `kubectl apply` would send it: apiVersion/kind from the type token."""
    api_version, kind = _type_parts(resource.type)
    return {"apiVersion": api_version, "kind": kind, **ints(resource.props)}


def _is_k8s_object(resource: Registered) -> bool:
    return (
        resource.custom
        and resource.type.startswith("kubernetes:")
        and resource.type != HELM_RELEASE
    )


def _label(resource: Registered) -> str:
    return f"{resource.type} {resource.name}"


def _k8s_validate(obj: dict[str, Any], version: str, where: str, problems: Problems) -> None:
    try:
        used = kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        for at, message in _schema_errors(error):
            problems.add(f"{message} (Kubernetes {error.version}, strict)", f"{where}: {at}")
        return
    except kubernetes_validate.SchemaNotFoundError as error:
        problems.add(
            f"no Kubernetes {version} schema for {error.api_version} {error.kind}: a custom "
            "resource needs its own check in tests/test_schemas.py",
            where,
        )
        return
    assert used == version, f"{where}: validated against {used}, not {version}"


def _objects(run: StackRun, type_token: str) -> list[tuple[Registered, dict[str, Any]]]:
    return [(r, render(r)) for r in run.of_type(type_token)]


def _csi_volumes(pod_spec: Mapping[str, Any]) -> dict[str, str]:
    """CSI driver volumes of a pod: volume name -> SecretProviderClass name."""
    return {
        v["name"]: (v["csi"].get("volumeAttributes") or {}).get("secretProviderClass", "")
        for v in pod_spec.get("volumes") or []
        if (v.get("csi") or {}).get("driver") == versions.CSI_DRIVER_NAME
    }


def _mounted_objects(spc: Mapping[str, Any]) -> set[str]:
    """File names the SecretProviderClass mounts (objectAlias or objectName)."""
    params = spc["spec"].get("parameters") or {}
    try:
        document = yaml.safe_load(params.get("objects") or "")
    except yaml.YAMLError:
        return set()
    entries: list[Any] = document if isinstance(document, list) else []
    if spc["spec"].get("provider") == "azure" and isinstance(document, dict):
        entries = [yaml.safe_load(e) for e in document.get("array") or [] if isinstance(e, str)]
    names = {e.get("objectAlias") or e.get("objectName") for e in entries if isinstance(e, dict)}
    return {n for n in names if isinstance(n, str)}


# -- Kubernetes objects -----------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_kubernetes_objects_match_the_cluster_version_schemas(case: str) -> None:
    version = _target_version(case)
    run = _run(case)
    problems = Problems(case)
    validated = 0
    for resource in filter(_is_k8s_object, run.resources):
        obj = render(resource)
        where = _label(resource)
        api_version, kind = _type_parts(resource.type)
        if (resource.props.get("apiVersion"), resource.props.get("kind")) not in (
            (None, None),
            (api_version, kind),
        ):
            problems.add(f"apiVersion/kind differ from the type token {resource.type}", where)
        if resource.type == SPC_TYPE:
            continue  # test_secret_provider_classes_match_the_crd_and_their_provider
        if resource.type in METADATA_ONLY_KINDS:
            meta = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj.get("metadata")}
            _k8s_validate(meta, version, where, problems)
            continue
        _k8s_validate(obj, version, where, problems)
        validated += 1
    problems.check()
    assert validated >= 6, f"{case}: only {validated} core objects rendered"


# -- SecretProviderClass ----------------------------------------------------------------------


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The CRD's OpenAPI schema, where every object that lists its properties (spec,
    secretObjects[] items, their data[] items) rejects any other field, as kubectl's
    strict field validation does. The CRD itself leaves them open (the API server prunes
    unknown fields silently), which would hide a misspelt field."""
    schema = copy.deepcopy(schema)

    def visit(node: Any) -> None:
        if not isinstance(node, dict):
            return
        if "properties" in node:
            node.setdefault("additionalProperties", False)
            for child in node["properties"].values():
                visit(child)
        visit(node.get("items"))
        visit(node.get("additionalProperties"))

    visit(schema)
    return schema


@functools.cache
def _spc_schema() -> dict[str, Any]:
    crd = charts.spc_crd()
    version = versions.SPC_API_VERSION.split("/")[1]
    found = [v for v in crd["spec"]["versions"] if v["name"] == version]
    assert found, f"the driver chart's SecretProviderClass CRD has no {version} version"
    return _strict(found[0]["schema"]["openAPIV3Schema"])


def _check_azure_objects(text: str, at: str, problems: Problems) -> None:
    document = yaml.safe_load(text)
    if not isinstance(document, dict) or set(document) != {"array"}:
        problems.add("must be a YAML mapping with the single key `array`", at)
        return
    entries = document["array"]
    if not isinstance(entries, list) or not entries:
        problems.add("`array` must be a non-empty list", at)
        return
    for i, entry in enumerate(entries):
        where = f"{at}: array[{i}]"
        if not isinstance(entry, str):
            problems.add(
                f"must be a YAML string (a `- |` block), not {type(entry).__name__}", where
            )
            continue
        item = yaml.safe_load(entry)
        if not isinstance(item, dict):
            problems.add("must parse to a mapping", where)
            continue
        if not isinstance(item.get("objectName"), str) or not item["objectName"]:
            problems.add("objectName is required (a non-empty string)", where)
        if item.get("objectType") not in AZURE_OBJECT_TYPES:
            problems.add(
                f"objectType = {item.get('objectType')!r}: one of {list(AZURE_OBJECT_TYPES)}",
                where,
            )


def _check_vault_objects(text: str, at: str, problems: Problems) -> None:
    document = yaml.safe_load(text)
    if not isinstance(document, list) or not document:
        problems.add("must be a non-empty YAML list (no `array:` wrapper for Vault)", at)
        return
    for i, item in enumerate(document):
        where = f"{at}[{i}]"
        if not isinstance(item, dict):
            problems.add("must be a mapping", where)
            continue
        for key in VAULT_OBJECT_KEYS:
            if not isinstance(item.get(key), str) or not item[key]:
                problems.add(f"{key} is required (a non-empty string)", where)


def _check_provider(spc: Mapping[str, Any], where: str, problems: Problems) -> None:
    spec = spc.get("spec") or {}
    provider = spec.get("provider")
    params = spec.get("parameters") or {}
    if not isinstance(provider, str) or provider not in REQUIRED_PARAMETERS:
        problems.add(f"provider = {provider!r}: one of {list(REQUIRED_PARAMETERS)}", where)
        return
    for name in REQUIRED_PARAMETERS[provider]:
        if not isinstance(params.get(name), str) or not params[name]:
            problems.add(f"required by the {provider} provider", f"{where}: spec.parameters.{name}")
    objects = params.get("objects")
    if not isinstance(objects, str):
        return
    at = f"{where}: spec.parameters.objects"
    check = _check_azure_objects if provider == "azure" else _check_vault_objects
    try:
        check(objects, at, problems)
    except yaml.YAMLError as error:
        problems.add(f"not YAML: {error}", at)
    names = _mounted_objects(spc)
    for i, secret in enumerate(spec.get("secretObjects") or []):
        for j, item in enumerate(secret.get("data") or []):
            if item.get("objectName") not in names:
                problems.add(
                    f"objectName {item.get('objectName')!r} is not among the mounted objects "
                    f"{sorted(names)}",
                    f"{where}: spec.secretObjects[{i}].data[{j}]",
                )


@pytest.mark.parametrize("case", CASES)
def test_secret_provider_classes_match_the_crd_and_their_provider(case: str) -> None:
    version = _target_version(case)
    run = _run(case)
    problems = Problems(case)
    spcs = _objects(run, SPC_TYPE)
    if not spcs:
        problems.add("no SecretProviderClass registered")
    validator = jsonschema.Draft202012Validator(_spc_schema())
    for resource, spc in spcs:
        where = _label(resource)
        for error in sorted(validator.iter_errors(spc), key=lambda e: list(e.absolute_path)):
            for at, message in _schema_errors(error):
                problems.add(f"{message} (SecretProviderClass CRD, strict)", f"{where}: {at}")
        meta = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": spc.get("metadata")}
        _k8s_validate(meta, version, where, problems)
        _check_provider(spc, where, problems)
    # Each SecretProviderClass is mounted by a workload in its namespace (Aidbox's Deployment;
    # the database's StatefulSet or role Job), and every CSI volume names a SecretProviderClass
    # that exists there.
    by_key = {(spc["metadata"].get("namespace"), spc["metadata"].get("name")): r for r, spc in spcs}
    used: set[tuple[Any, Any]] = set()
    workloads = [o for kind in WORKLOADS for o in _objects(run, kind)]
    for resource, workload in workloads:
        namespace = workload["metadata"].get("namespace")
        pod_spec = workload["spec"]["template"]["spec"]
        for volume, spc_name in _csi_volumes(pod_spec).items():
            if (namespace, spc_name) not in by_key:
                found = sorted(f"{ns}/{n}" for ns, n in by_key)
                problems.add(
                    f"CSI volume {volume!r} names SecretProviderClass {namespace}/{spc_name}, "
                    f"not registered (registered: {found})",
                    f"{_label(resource)}: spec.template.spec.volumes",
                )
            used.add((namespace, spc_name))
    for key, resource in by_key.items():
        if key not in used:
            problems.add(
                f"no workload in namespace {key[0]!r} mounts it (a pod and the "
                "SecretProviderClass it mounts must share a namespace)",
                _label(resource),
            )
    problems.check()


# -- Helm values ------------------------------------------------------------------------------

CHART_CONSTANTS = {c.name: n for n, c in vars(versions).items() if isinstance(c, versions.Chart)}


def _lookup(tree: Any, path: Sequence[str]) -> tuple[bool, Any]:
    """(found, value) of a key path; keys that only appear in comments do not exist."""
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return False, None
        tree = tree[key]
    return True, tree


def _set_paths(
    values: Mapping[str, Any], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Key paths a values dict sets; lists, scalars and empty maps are leaves."""
    for key, value in values.items():
        path = (*prefix, key)
        if isinstance(value, Mapping) and value:
            yield from _set_paths(value, path)
        else:
            yield path


def _releases(case: str) -> list[Registered]:
    return _run(case).of_type(HELM_RELEASE)


@pytest.mark.parametrize("chart", versions.CHARTS, ids=lambda c: f"{c.name}-{c.version}")
def test_values_keys_exist_in_the_pinned_charts_defaults(chart: versions.Chart) -> None:
    problems = Problems(f"components/versions.py: {CHART_CONSTANTS[chart.name]}")
    meta = yaml.safe_load(charts.chart_file(chart, "Chart.yaml") or "{}")
    if (meta.get("name"), str(meta.get("version"))) != (chart.name, chart.version):
        problems.add(f"{chart.archive}: Chart.yaml is {meta.get('name')} {meta.get('version')}")
    defaults = charts.chart_values(chart)
    for key in chart.values_keys:
        if not _lookup(defaults, key.split("."))[0]:
            problems.add(
                f"not a key in {chart.name} {chart.version} values.yaml ({chart.archive})",
                f"values_keys: {key!r}",
            )
    problems.check()


@pytest.mark.parametrize("case", CASES)
def test_helm_values_the_program_sets_are_listed_in_values_keys(case: str) -> None:
    problems = Problems(case)
    for release in _releases(case):
        props = release.props
        where = _label(release)
        chart = charts.by_archive(props.get("chart", ""))
        if chart is None:
            problems.add(
                f"chart {props.get('chart')!r} is not a vendored archive in versions.CHARTS", where
            )
            continue
        if props.get("version") != chart.version:
            problems.add(
                f"version {props.get('version')!r} is not the pinned {chart.version}", where
            )
        listed = [tuple(k.split(".")) for k in chart.values_keys]
        defaults = charts.chart_values(chart)
        for path in _set_paths(props.get("values") or {}):
            dotted = ".".join(path)
            covering = [k for k in listed if path[: len(k)] == k]
            if not covering:
                problems.add(
                    f"not in versions.{CHART_CONSTANTS[chart.name]}.values_keys (the keys the "
                    f"program may set in {chart.name} {chart.version})",
                    f"{where}: values.{dotted}",
                )
                continue
            key = max(covering, key=len)
            if key != path and _lookup(defaults, key)[1] != {}:
                problems.add(
                    f"set under values_keys entry {'.'.join(key)!r}, which is not a free-form "
                    f"map ({{}}) in the chart's defaults: list {dotted!r} itself",
                    f"{where}: values.{dotted}",
                )
    problems.check()


def _schema_declares(schema: Mapping[str, Any], path: Sequence[str]) -> bool:
    """Whether a values.schema.json declares the key path (an object without `properties`
    is free-form and declares everything under it)."""
    node: Any = schema
    for key in path:
        if not isinstance(node, Mapping) or "properties" not in node:
            return isinstance(node, Mapping)
        if key not in node["properties"]:
            return False
        node = node["properties"][key]
    return True


@pytest.mark.parametrize("case", VAULT_CASES)
def test_vault_chart_values_meet_its_values_schema(case: str) -> None:
    text = charts.chart_file(versions.VAULT, "values.schema.json")
    schema_path = Path(versions.VAULT.archive) / "values.schema.json"
    if text is None:
        pytest.fail(f"{schema_path} is missing", pytrace=False)
    schema = json.loads(text)
    # It names draft-07 as https://json-schema.org/draft-07/schema#, which jsonschema does not
    # recognise by that spelling.
    assert "draft-07" in schema.get("$schema", ""), f"{schema_path}: not draft-07"
    validator = jsonschema.Draft7Validator(schema)
    problems = Problems(case)
    releases = [r for r in _releases(case) if charts.by_archive(r.props["chart"]) == versions.VAULT]
    if len(releases) != 1:
        problems.add(f"expected one {versions.VAULT.name} Helm release, got {len(releases)}")
    for release in releases:
        where = _label(release)
        values = ints(release.props.get("values") or {})
        for error in validator.iter_errors(values):
            for at, message in _schema_errors(error, ["values"]):
                problems.add(f"{message} ({schema_path.name})", f"{where}: {at}")
        for path in _set_paths(values):
            if not _schema_declares(schema, path):
                problems.add(
                    f"not declared in {versions.VAULT.name} {versions.VAULT.version} "
                    f"{schema_path.name}",
                    f"{where}: values.{'.'.join(path)}",
                )
    problems.check()


def test_every_pinned_chart_is_rendered_by_some_case() -> None:
    rendered = {charts.by_archive(r.props["chart"]) for case in CASES for r in _releases(case)}
    missing = sorted(c.name for c in set(versions.CHARTS) - rendered)
    assert not missing, f"no case installs {missing}: their values would go unchecked"


# -- Vault policy -----------------------------------------------------------------------------


def _policy_grants(path: str, secret_path: str) -> bool:
    """Whether a Vault policy path (glob: trailing `*`, `+` for one segment) covers a path."""
    pattern = re.escape(path).replace(r"\+", "[^/]+")
    if pattern.endswith(r"\*"):
        pattern = pattern[:-2] + ".*"
    return re.fullmatch(pattern, secret_path) is not None


@pytest.mark.parametrize("case", VAULT_CASES)
def test_vault_policy_parses_as_hcl_and_grants_only_read(case: str) -> None:
    """One policy per reader (Aidbox, the database), each `read` on exact KV paths (or, for
    Aidbox, the glob vault.policyPath an older stack set), and each SecretProviderClass reads
    only what the policy of its own role grants."""
    run = _run(case)
    vault_settings = _settings(case).vault
    assert vault_settings is not None
    problems = Problems(case)
    every = run.of_type("vault:index/policy:Policy")
    policies = [p for p in every if p.props["name"] != SNAPSHOT_NAME]
    # Beside the readers' policies: an ha Vault's snapshot job's, which reads a Raft snapshot only.
    for other in every:
        if other.props["name"] == SNAPSHOT_NAME:
            document = hcl2.loads(other.props["policy"], serialization_options=HCL)
            grants = [(p, b) for block in document.get("path", []) for p, b in block.items()]
            if grants != [(SNAPSHOT_PATH, {"capabilities": ["read"]})]:
                problems.add(f"unexpected snapshot policy: {grants}")
    if len(policies) != 2:
        problems.add(f"expected two readers' vault:index/policy:Policy, got {len(policies)}")
    granted: dict[str, list[str]] = {}  # policy name -> paths
    for resource in policies:
        where = _label(resource)
        try:
            document = hcl2.loads(resource.props["policy"], serialization_options=HCL)
        except Exception as error:  # lark raises several error types
            problems.add(f"policy is not HCL: {str(error).splitlines()[0]}", where)
            continue
        for key in sorted(set(document) - {"path"}):
            problems.add("only `path` blocks are expected", f"{where}: policy: {key}")
        blocks = [(p, body) for block in document.get("path", []) for p, body in block.items()]
        if not blocks:
            problems.add("no `path` block", f"{where}: policy")
        for path, body in blocks:
            at = f"{where}: policy: path {path!r}"
            granted.setdefault(resource.props["name"], []).append(path)
            glob = "*" in path or "+" in path
            if glob and path != vault_settings.policy_path:
                problems.add("a glob: a reader's policy names its entries exactly", at)
            for key in sorted(set(body) - {"capabilities"}):
                problems.add("unexpected attribute (only `capabilities`)", f"{at}: {key}")
            if body.get("capabilities") != ["read"]:
                problems.add(f"capabilities = {body.get('capabilities')}: only ['read']", at)
    roles = {
        r.props["roleName"]: r.props
        for r in run.of_type("vault:kubernetes/authBackendRole:AuthBackendRole")
    }
    # What the CSI provider reads for each class must be what its role's policy grants.
    for resource, spc in _objects(run, SPC_TYPE):
        role = roles.get(spc["spec"]["parameters"].get("roleName"))
        if role is None:
            problems.add("names no role the program declares", _label(resource))
            continue
        paths = [p for name in role["tokenPolicies"] for p in granted.get(name, [])]
        objects = yaml.safe_load(spc["spec"]["parameters"].get("objects") or "[]") or []
        for i, item in enumerate(objects):
            secret_path = item.get("secretPath", "") if isinstance(item, dict) else ""
            if not any(_policy_grants(p, secret_path) for p in paths):
                problems.add(
                    f"secretPath {secret_path!r} is not granted by its role's policy {paths}",
                    f"{_label(resource)}: spec.parameters.objects[{i}]",
                )
    problems.check()


# -- Aidbox vault config and init Bundle ------------------------------------------------------


@functools.cache
def _project_schema(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("name", ["vault-config.schema.json", "init-bundle.schema.json"])
def test_project_schemas_are_valid_draft_2020_12(name: str) -> None:
    validator = _project_schema(name)
    assert validator.schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def _aidbox_workload(run: StackRun) -> tuple[Registered, dict[str, Any], dict[str, Any]]:
    """The Deployment that mounts the aidbox-config ConfigMap, and its container doing so."""
    for resource, workload in _objects(run, DEPLOYMENT):
        pod_spec = workload["spec"]["template"]["spec"]
        config_volumes = {
            v["name"]
            for v in pod_spec.get("volumes") or []
            if (v.get("configMap") or {}).get("name") == CONFIG_MAP_NAME
        }
        for container in pod_spec.get("containers") or []:
            mounts = {m["name"] for m in container.get("volumeMounts") or []}
            if mounts & config_volumes:
                return resource, workload, container
    pytest.fail(f"no Deployment mounts the {CONFIG_MAP_NAME} ConfigMap", pytrace=False)


def _json_document(
    data: Mapping[str, str], key: str, schema: str, where: str, problems: Problems
) -> Any:
    at = f"{where}: data.{key}"
    try:
        document = json.loads(data[key])
    except json.JSONDecodeError as error:
        problems.add(f"not JSON: {error}", at)
        return None
    for error in _project_schema(schema).iter_errors(document):
        for path, message in _schema_errors(error):
            problems.add(f"{message} (schemas/{schema})", f"{at}: {path}")
    return document


@pytest.mark.parametrize("case", CASES)
def test_aidbox_vault_config_and_init_bundle_meet_the_project_schemas(case: str) -> None:
    run = _run(case)
    problems = Problems(case)
    config_map = run.k8s("core/v1:ConfigMap", CONFIG_MAP_NAME)
    where = _label(config_map)
    data = config_map.props.get("data") or {}
    deployment, workload, container = _aidbox_workload(run)
    env = {e["name"] for e in container.get("env") or []}

    if "vault-config.json" not in data:
        problems.add("data.vault-config.json is missing", where)
    else:
        vault_config = _json_document(
            data, "vault-config.json", "vault-config.schema.json", where, problems
        )
        # Each secret's file lies in the CSI volume, and is one the SecretProviderClass mounts.
        pod_spec = workload["spec"]["template"]["spec"]
        csi = _csi_volumes(pod_spec)
        mounts = [m for m in container.get("volumeMounts") or [] if m["name"] in csi]
        if len(mounts) != 1:
            problems.add(
                f"container {container['name']!r} mounts {len(mounts)} CSI volumes, expected 1",
                _label(deployment),
            )
        else:
            mount_dir = mounts[0]["mountPath"].rstrip("/") + "/"
            spcs = [
                spc
                for _, spc in _objects(run, SPC_TYPE)
                if spc["metadata"].get("name") == csi[mounts[0]["name"]]
            ]
            mounted = set().union(*(_mounted_objects(s) for s in spcs))
            secrets = (vault_config or {}).get("secret") or {}
            for name, entry in secrets.items() if isinstance(secrets, dict) else ():
                path = entry.get("path") if isinstance(entry, dict) else None
                at = f"{where}: data.vault-config.json: secret.{name}.path"
                if not isinstance(path, str) or not path.startswith(mount_dir):
                    problems.add(
                        f"{path!r} is not under the CSI volume's mountPath {mount_dir!r} "
                        f"({_label(deployment)})",
                        at,
                    )
                elif path.removeprefix(mount_dir) not in mounted:
                    problems.add(
                        f"{path!r}: the SecretProviderClass mounts no object "
                        f"{path.removeprefix(mount_dir)!r} (it mounts {sorted(mounted)})",
                        at,
                    )

    if ("init-bundle.json" in data) != ("BOX_INIT_BUNDLE" in env):
        problems.add(
            f"data.init-bundle.json present: {'init-bundle.json' in data}, but BOX_INIT_BUNDLE "
            f"set in {_label(deployment)}: {'BOX_INIT_BUNDLE' in env}",
            where,
        )
    if "init-bundle.json" in data:
        bundle = _json_document(
            data, "init-bundle.json", "init-bundle.schema.json", where, problems
        )
        seen: set[str] = set()
        entries = (bundle or {}).get("entry") or []
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            at = f"{where}: data.init-bundle.json: entry[{i}].request"
            resource = entry.get("resource") or {}
            request = entry.get("request") or {}
            url, condition = request.get("url"), request.get("ifNoneExist")
            if url != resource.get("resourceType"):
                problems.add(f"url {url!r} is not its resource's type", at)
            if condition != f"_id={resource.get('id')}":
                problems.add(f"ifNoneExist {condition!r} does not name its resource's id", at)
            created = f"{url}/{resource.get('id')}"
            if created in seen:
                problems.add(f"{created!r} is created twice in one transaction", at)
            seen.add(created)
    problems.check()


def _secret_references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if value.get("url") == SECRET_REFERENCE and isinstance(value.get("valueString"), str):
            yield value["valueString"]
        for child in value.values():
            yield from _secret_references(child)
    elif isinstance(value, list):
        for child in value:
            yield from _secret_references(child)


@pytest.mark.parametrize("case", CASES)
def test_init_bundle_secret_references_are_in_scope(case: str) -> None:
    """A resource may only reference a secret whose vault-config scope covers it."""
    data = _run(case).k8s("core/v1:ConfigMap", CONFIG_MAP_NAME).props.get("data") or {}
    if "init-bundle.json" not in data:
        return
    problems = Problems(f"{case}: kubernetes:core/v1:ConfigMap {CONFIG_MAP_NAME}")
    secrets = json.loads(data["vault-config.json"]).get("secret", {})
    for i, entry in enumerate(json.loads(data["init-bundle.json"]).get("entry", [])):
        resource = entry.get("resource") or {}
        for name in _secret_references(resource):
            scope = (secrets.get(name) or {}).get("scope") or {}
            if scope.get("resource_type") != resource.get("resourceType") or scope.get(
                "id", resource.get("id")
            ) != resource.get("id"):
                problems.add(
                    f"references secret {name!r}, whose scope {scope or '(none)'} does not cover "
                    f"{resource.get('resourceType')}/{resource.get('id')}",
                    f"data.init-bundle.json: entry[{i}].resource",
                )
    problems.check()
