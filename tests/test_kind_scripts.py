"""scripts/kind/up.sh and verify.sh (the kind workflow) name what the program creates on the
local stack: if the program renames a workload, a path or a port, these fail here instead of in
a workflow run no one can reproduce offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cases
import pytest
from harness import ROOT
from test_helm_render import installs

import charts
from components.settings.csi import CsiSettings

LOCAL = "Pulumi.local.yaml"
UP = (ROOT / "scripts" / "kind" / "up.sh").read_text()
ENGINE = (ROOT / "scripts" / "kind" / "engine.sh").read_text()
VERIFY = (ROOT / "scripts" / "kind" / "verify.sh").read_text()


def shell_var(name: str) -> str:
    match = re.search(rf"^{name}=(\S+)", VERIFY, re.MULTILINE)
    assert match, f"verify.sh sets no {name}"
    return match.group(1)


def pulumi_glob(glob: str) -> re.Pattern[str]:
    """Pulumi's URN globs (pkg/resource/deploy/deployment.go, UrnTargets.getMatcher): `**`
    matches anything, `*` anything but ':'."""
    parts = ["[^:]*".join(re.escape(p) for p in segment.split("*")) for segment in glob.split("**")]
    return re.compile("^" + ".*".join(parts) + "$")


def test_pulumi_glob_follows_pulumis_rules() -> None:
    assert pulumi_glob("urn:*::b").match("urn:a::b")
    assert not pulumi_glob("urn:*::b").match("urn:a::x::b")
    assert pulumi_glob("urn:**::b").match("urn:a::x::b")


@pytest.mark.parametrize("script", [UP, ENGINE], ids=["up.sh", "engine.sh"])
def test_up_without_a_license_leaves_out_exactly_the_aidbox_deployment(script: str) -> None:
    (glob,) = re.findall(r"--exclude '([^']+)'", script)
    run = cases.run(LOCAL)
    matched = [r for r in run.resources if r.urn and pulumi_glob(glob).match(r.urn)]
    assert [(r.type, r.props["metadata"]["name"]) for r in matched] == [
        ("kubernetes:apps/v1:Deployment", "aidbox")
    ]
    assert "--exclude-dependents" in script


def test_verify_names_the_objects_the_local_stack_creates() -> None:
    run = cases.run(LOCAL)
    namespace = shell_var("NS")
    database = run.k8s("apps/v1:StatefulSet", "aidbox-db").props
    assert database["metadata"]["namespace"] == namespace
    assert "statefulset/aidbox-db" in VERIFY and "aidbox-db-0 -c postgres" in VERIFY
    containers = {c["name"]: c for c in database["spec"]["template"]["spec"]["containers"]}
    mounts = {m["mountPath"] for m in containers["postgres"]["volumeMounts"]}
    password_file = re.search(r"test -s (/\S+)", VERIFY)
    assert password_file
    folder, name = password_file.group(1).rsplit("/", 1)
    assert folder in mounts
    env = {e["name"]: e.get("value") for e in containers["postgres"]["env"]}
    assert env["POSTGRES_PASSWORD_FILE"] == f"{folder}/{name}"

    aidbox = run.k8s("apps/v1:Deployment", "aidbox").props
    assert aidbox["metadata"]["namespace"] == namespace
    labels = aidbox["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "aidbox"
    assert "-l app.kubernetes.io/name=aidbox" in VERIFY
    service = run.k8s("core/v1:Service", "aidbox").props
    assert [p["port"] for p in service["spec"]["ports"]] == [8080]
    assert "svc/aidbox" in VERIFY and ':8080"' in VERIFY


def test_verify_rotates_the_secret_aidbox_reads_within_the_stacks_interval() -> None:
    run = cases.run(LOCAL)
    (kv,) = [
        entry
        for entry in run.of_type("vault:kv/secretV2:SecretV2")
        if entry.props["name"].endswith("/client-secret")
    ]
    assert shell_var("KV_PATH") == f"{kv.props['mount']}/{kv.props['name']}"
    assert f"KV_PATH={shell_var('KV_PATH')}\n" in ENGINE  # engine.sh compares the same secret
    # Every object the program declares carries the label engine.sh looks for after destroy.
    label = re.search(r"^PART_OF=(\S+)", ENGINE, re.MULTILINE)
    assert label
    key, value = label.group(1).split("=")
    for resource in run.resources:
        if (
            resource.custom
            and resource.type.startswith("kubernetes:")
            and "Release" not in (resource.type)
        ):
            metadata = resource.props["metadata"]
            if metadata.get("namespace") == shell_var("NS"):
                assert (metadata.get("labels") or {}).get(key) == value, resource.name
    assert list(json.loads(kv.props["dataJson"])) == ["value"]
    assert "-field=value" in VERIFY and "value=-" in VERIFY
    interval = cases.settings(LOCAL).csi.rotation_poll_interval
    assert interval == CsiSettings.rotation_poll_interval == f"{shell_var('ROTATION_SECONDS')}s"


def test_verify_reaches_the_dev_vault_as_the_chart_renders_it() -> None:
    (vault,) = [i for i in installs(LOCAL) if i.chart.name == "vault"]
    assert vault.namespace == shell_var("VAULT_NS")
    server = vault.render().named("StatefulSet", "vault")
    assert server is not None  # its first pod is vault-0
    assert "exec -i vault-0" in VERIFY
    (container,) = server["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["VAULT_ADDR"]["value"].startswith("http://127.0.0.1:")  # the CLI's default is https
    token = re.search(r'VAULT_TOKEN=\\"\\\$(\w+)\\"', VERIFY)
    assert token and token.group(1) in env, f"the dev pod has no {token}"


@pytest.fixture(autouse=True)
def _helm() -> None:
    charts.helm()  # a missing Helm fails with the instruction, as in the render tests


def test_the_workflow_and_readme_run_these_scripts() -> None:
    workflow = (ROOT / ".github" / "workflows" / "kind.yml").read_text()
    readme = Path(ROOT / "README.md").read_text()
    for script in ("scripts/kind/up.sh", "scripts/kind/verify.sh", "scripts/kind/engine.sh"):
        assert f"bash {script}" in workflow
        assert script in readme
    order = [workflow.index(f"bash scripts/kind/{s}.sh") for s in ("up", "verify", "engine")]
    assert order == sorted(order)
