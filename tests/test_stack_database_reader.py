"""The database reads only the database's passwords (issue 19 #5): the in-cluster PostgreSQL and
the role Job run as a ServiceAccount of their own (`aidbox-db`), mount a SecretProviderClass
that lists the administrator's and Aidbox's role's passwords only, and the store lets that
account read those two and nothing else (a Vault role and policy of its own; in Key Vault's
workload mode an identity of its own, granted on each of the two secrets). Aidbox in turn no
longer reads the administrator's password."""

from __future__ import annotations

import re

import cases
import hcl2
import pytest
import yaml
from harness import (
    AZURE_DEV,
    DB_UAMI_CLIENT,
    DB_UAMI_PRINCIPAL,
    UAMI_PRINCIPAL,
    VAULT_EXTERNAL,
    StackRun,
    run_stack,
)
from hcl2.utils import SerializationOptions

HCL = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
SPC = "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass"
ROLE = "azure-native:authorization:RoleAssignment"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATION = "azure-native:managedidentity:FederatedIdentityCredential"
VAULT_ROLE = "vault:kubernetes/authBackendRole:AuthBackendRole"
VAULT_POLICY = "vault:index/policy:Policy"
DB_PASSWORD, DB_APP_PASSWORD = "aidbox-db-password", "aidbox-db-app-password"
DATABASE_SECRETS = {DB_PASSWORD, DB_APP_PASSWORD}
DB_ACCOUNT = "aidbox-db"
STORES = {
    "azure-kubelet": (AZURE_DEV, ()),
    "azure-workload": ({**AZURE_DEV, "azure": {"identity": "workload"}}, ()),
    "vault-external": (VAULT_EXTERNAL, ("vault",)),
    "vault-dev": (cases.CASES["Pulumi.dev-vault.yaml"].config, ()),
}


@pytest.fixture(scope="module", params=list(STORES))
def run(request: pytest.FixtureRequest) -> StackRun:
    config, secret_keys = STORES[request.param]
    return run_stack(config, secret_keys=secret_keys)


def pod_spec(run: StackRun, kind: str, name: str) -> dict:
    return run.k8s(kind, name).props["spec"]["template"]["spec"]


def mounted_class(pod: dict) -> str:
    (volume,) = [v for v in pod["volumes"] if "csi" in v]
    return volume["csi"]["volumeAttributes"]["secretProviderClass"]


def listed(run: StackRun, spc_name: str) -> set[str]:
    (spc,) = [s.props for s in run.of_type(SPC) if s.props["metadata"]["name"] == spc_name]
    objects = yaml.safe_load(spc["spec"]["parameters"]["objects"])
    if isinstance(objects, dict):  # Azure: `array:` of YAML documents
        objects = [yaml.safe_load(o) for o in objects["array"]]
    return {o["objectName"] for o in objects}


def test_the_database_runs_as_its_own_account_with_its_own_class(run: StackRun) -> None:
    aidbox = pod_spec(run, "apps/v1:Deployment", "aidbox")
    for kind, name in (("apps/v1:StatefulSet", "aidbox-db"), ("batch/v1:Job", "aidbox-db-role")):
        pod = pod_spec(run, kind, name)
        assert pod["serviceAccountName"] == DB_ACCOUNT != aidbox["serviceAccountName"], name
        spc = mounted_class(pod)
        assert spc != mounted_class(aidbox), f"{name} mounts Aidbox's class"
        assert listed(run, spc) == DATABASE_SECRETS, name
    account = run.k8s("core/v1:ServiceAccount", DB_ACCOUNT).props
    assert account["automountServiceAccountToken"] is False
    # Aidbox reads its own role's password, not the administrator's.
    aidbox_reads = listed(run, mounted_class(aidbox))
    assert DB_APP_PASSWORD in aidbox_reads and DB_PASSWORD not in aidbox_reads


def _policy_paths(policy: str) -> list[str]:
    document = hcl2.loads(policy, serialization_options=HCL)
    return [path for block in document["path"] for path in block]


def _grants(path: str, secret_path: str) -> bool:
    pattern = re.escape(path).replace(r"\+", "[^/]+")
    if pattern.endswith(r"\*"):
        pattern = pattern[:-2] + ".*"
    return re.fullmatch(pattern, secret_path) is not None


@pytest.mark.parametrize("case", ["vault-external", "vault-dev"])
def test_vault_lets_each_account_read_its_own_entries(case: str) -> None:
    config, secret_keys = STORES[case]
    run = run_stack(config, secret_keys=secret_keys)
    roles = {r.props["roleName"]: r.props for r in run.of_type(VAULT_ROLE)}
    policies = {p.props["name"]: p.props["policy"] for p in run.of_type(VAULT_POLICY)}
    spcs = {s.props["metadata"]["name"]: s.props["spec"]["parameters"] for s in run.of_type(SPC)}
    assert len(roles) == len(spcs) == 2
    entry = "secret/data/aidbox/client/{}".format
    for params in spcs.values():
        role = roles[params["roleName"]]
        paths = [p for name in role["tokenPolicies"] for p in _policy_paths(policies[name])]
        objects = {o["objectName"]: o["secretPath"] for o in yaml.safe_load(params["objects"])}
        # Exactly the entries the class lists: nothing by wildcard.
        assert sorted(paths) == sorted(objects.values())
        readable = {name for name in ("client-secret", "aidbox-auth-keys", *DATABASE_SECRETS)}
        readable = {n for n in readable if any(_grants(p, entry(n)) for p in paths)}
        assert readable == set(objects)
    (db_role,) = [r for r in roles.values() if r["boundServiceAccountNames"] == [DB_ACCOUNT]]
    assert db_role["boundServiceAccountNamespaces"] == ["default"]
    (aidbox_role,) = [r for r in roles.values() if r["boundServiceAccountNames"] == ["aidbox"]]
    assert aidbox_role["roleName"] == "aidbox"  # an existing stack keeps its role


def test_key_vault_workload_identity_per_account_granted_per_secret() -> None:
    run = cases.run("azure-workload")
    identities = run.of_type(UAMI)
    assert len(identities) == 2
    subjects = {f.props["subject"] for f in run.of_type(FEDERATION)}
    assert subjects == {
        "system:serviceaccount:default:aidbox",
        f"system:serviceaccount:default:{DB_ACCOUNT}",
    }
    grants = [g.props for g in run.of_type(ROLE)]
    vault = run.one("azure-native:keyvault:Vault").props["vaultName"]
    for grant in grants:  # each on one secret of the vault, never the whole vault
        assert re.fullmatch(rf".*/vaults/{vault}/secrets/[a-z0-9-]+", grant["scope"]), grant
    scopes: dict[str, set[str]] = {}
    for grant in grants:
        scopes.setdefault(grant["principalId"], set()).add(grant["scope"].rsplit("/", 1)[1])
    assert scopes[DB_UAMI_PRINCIPAL] == DATABASE_SECRETS
    assert scopes[UAMI_PRINCIPAL] == {"client-secret", "aidbox-auth-keys", DB_APP_PASSWORD}
    # The database's account names its own identity; the class names it too.
    account = run.k8s("core/v1:ServiceAccount", DB_ACCOUNT).props
    assert account["metadata"]["annotations"] == {
        "azure.workload.identity/client-id": DB_UAMI_CLIENT
    }
    pod = pod_spec(run, "apps/v1:StatefulSet", "aidbox-db")
    (spc,) = [s for s in run.of_type(SPC) if s.props["metadata"]["name"] == mounted_class(pod)]
    assert spc.props["spec"]["parameters"]["clientID"] == DB_UAMI_CLIENT
