"""Offline checks of the GitHub Actions workflows, the stack files and the backend bootstrap.

Validates every workflow against the GitHub workflow JSON schema shipped by check-jsonschema,
checks that workflows and ``Pulumi.<stack>.yaml`` files name the same stacks, and pins the
deployment rules: pulumi/actions v7, per-stack concurrency, prod behind an approved
environment after dev, OIDC login without client secrets, and the test suite first.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_DIR = REPO_ROOT / ".github" / "workflows"
PR_WORKFLOW = WORKFLOW_DIR / "pull-request.yml"
DEPLOY_WORKFLOW = WORKFLOW_DIR / "deploy.yml"
KIND_WORKFLOW = WORKFLOW_DIR / "kind.yml"
# The workflows that deploy to Azure (the kind workflow deploys to a throwaway kind cluster).
AZURE_WORKFLOWS = (PR_WORKFLOW, DEPLOY_WORKFLOW)
BOOTSTRAP_SCRIPT = REPO_ROOT / "scripts" / "bootstrap-backend.sh"

PULUMI_ACTION = "pulumi/actions"
MATRIX_STACK = re.compile(r"^\$\{\{\s*matrix\.stack\s*\}\}$")
RUN_STACK_FLAG = re.compile(r"(?:--stack|-s)[=\s]+([A-Za-z0-9_.-]+)")
FORBIDDEN_SECRETS = ("client-secret", "azure_client_secret", "arm_client_secret")


def workflow_files() -> list[Path]:
    return sorted([*WORKFLOW_DIR.glob("*.yml"), *WORKFLOW_DIR.glob("*.yaml")])


def load_yaml(path: Path) -> dict[str, Any]:
    # libyaml's parser where PyYAML has it (the same YAML 1.1 rules, much faster).
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    assert isinstance(doc, dict), f"{path.name} is not a YAML mapping"
    return doc


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    """The ``on:`` section; PyYAML (YAML 1.1) reads the bare key ``on`` as boolean True."""
    raw = workflow.get("on", workflow.get(True))
    if isinstance(raw, str):
        return {raw: None}
    if isinstance(raw, list):
        return dict.fromkeys(raw)
    assert isinstance(raw, dict), "workflow has no `on:` triggers"
    return raw


def jobs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return workflow.get("jobs") or {}


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps") or []


def uses_action(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).lower().startswith(action.lower() + "@")


def needs(job: dict[str, Any]) -> set[str]:
    value = job.get("needs") or []
    return {value} if isinstance(value, str) else set(value)


def upstream(workflow_jobs: dict[str, dict[str, Any]], job_id: str) -> set[str]:
    """Every job that ``job_id`` waits for, directly or through other jobs."""
    direct = needs(workflow_jobs[job_id])
    return direct.union(*(upstream(workflow_jobs, parent) for parent in direct))


def matrix_stacks(job: dict[str, Any]) -> list[str]:
    matrix = (job.get("strategy") or {}).get("matrix") or {}
    stacks = list(matrix.get("stack") or [])
    stacks += [entry["stack"] for entry in matrix.get("include") or [] if "stack" in entry]
    return [str(stack) for stack in stacks]


@dataclass(frozen=True)
class PulumiStep:
    workflow: str
    job_id: str
    job: dict[str, Any]
    command: str
    stack_name: str
    stacks: tuple[str, ...]
    inputs: dict[str, Any]


def pulumi_steps(path: Path) -> list[PulumiStep]:
    """Every pulumi/actions step, with the stacks it runs on (matrix.stack resolved)."""
    found = []
    for job_id, job in jobs(load_yaml(path)).items():
        for step in steps(job):
            if not uses_action(step, PULUMI_ACTION):
                continue
            inputs = step.get("with") or {}
            stack_name = str(inputs.get("stack-name", ""))
            if MATRIX_STACK.match(stack_name):
                stacks = tuple(matrix_stacks(job))
            else:
                stacks = (stack_name,) if stack_name else ()
            found.append(
                PulumiStep(
                    workflow=path.name,
                    job_id=job_id,
                    job=job,
                    command=str(inputs.get("command", "")),
                    stack_name=stack_name,
                    stacks=stacks,
                    inputs=inputs,
                )
            )
    return found


def all_pulumi_steps() -> list[PulumiStep]:
    """Every pulumi/actions step of the workflows that deploy to Azure."""
    return [step for path in AZURE_WORKFLOWS for step in pulumi_steps(path)]


def stacks_named_in_workflows() -> set[str]:
    names = {stack for step in all_pulumi_steps() for stack in step.stacks}
    for path in workflow_files():
        for job in jobs(load_yaml(path)).values():
            for step in steps(job):
                if "pulumi" in str(step.get("run", "")):
                    names.update(RUN_STACK_FLAG.findall(str(step["run"])))
    return names


def stack_files() -> set[str]:
    return {path.name[len("Pulumi.") : -len(".yaml")] for path in REPO_ROOT.glob("Pulumi.*.yaml")}


def kind_stacks() -> set[str]:
    """Stack files that deploy through a kubeconfig (a kind cluster), not to Azure."""
    found = set()
    for path in REPO_ROOT.glob("Pulumi.*.yaml"):
        cluster = (load_yaml(path).get("config") or {}).get("aidbox-secrets:cluster") or {}
        if cluster.get("mode") == "kubeconfig":
            found.add(path.name[len("Pulumi.") : -len(".yaml")])
    return found


def pinned_version(requirements: Path, package: str) -> str:
    for line in requirements.read_text(encoding="utf-8").splitlines():
        match = re.match(rf"^{re.escape(package)}==([^\s;#]+)", line.strip())
        if match:
            return match.group(1)
    raise AssertionError(f"{package} is not pinned in {requirements.name}")


def test_the_workflows_exist() -> None:
    assert {PR_WORKFLOW, DEPLOY_WORKFLOW, KIND_WORKFLOW} <= set(workflow_files())


def test_workflows_validate_against_github_workflow_schema() -> None:
    files = [str(path) for path in workflow_files()]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            *files,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_stack_named_in_a_workflow_has_a_stack_file() -> None:
    named = stacks_named_in_workflows()
    assert named, "no workflow runs pulumi on a stack"
    missing = named - stack_files()
    assert not missing, f"stacks without a Pulumi.<stack>.yaml: {sorted(missing)}"


def test_every_stack_file_is_used_by_a_workflow() -> None:
    unused = stack_files() - stacks_named_in_workflows()
    assert not unused, f"stack files no workflow uses: {sorted(unused)}"


def test_pull_request_previews_every_stack_in_a_matrix() -> None:
    assert "pull_request" in triggers(load_yaml(PR_WORKFLOW))
    previews = [step for step in pulumi_steps(PR_WORKFLOW) if step.command == "preview"]
    assert previews, "the pull request workflow runs no pulumi preview"
    assert all(MATRIX_STACK.match(step.stack_name) for step in previews)
    previewed = {stack for step in previews for stack in step.stacks}
    # A kubeconfig-mode stack (local: kind) has no cluster to preview against on a hosted
    # runner; the kind workflow runs `up` on it instead.
    assert previewed == (stacks_named_in_workflows() | stack_files()) - kind_stacks()


def test_previews_comment_on_the_pull_request() -> None:
    for step in pulumi_steps(PR_WORKFLOW):
        assert step.inputs.get("comment-on-pr") is True, step.job_id
        permissions = step.job.get("permissions") or {}
        assert permissions.get("pull-requests") == "write", step.job_id


def test_every_preview_and_up_runs_the_policy_pack() -> None:
    for step in all_pulumi_steps():
        assert step.inputs.get("policyPacks") == "policy", (step.workflow, step.job_id)


def test_production_policies_get_the_production_config_on_prod_only() -> None:
    production = json.loads((REPO_ROOT / "policy" / "production.json").read_text())
    assert production and all(config == {"production": True} for config in production.values())
    assert json.loads((REPO_ROOT / "policy" / "default.json").read_text()) == {}
    for step in all_pulumi_steps():
        config = str(step.inputs.get("policyPackConfigs", ""))
        where = (step.workflow, step.job_id, config)
        if len(step.stacks) == 1:
            expected = "production" if step.stacks[0] == "prod" else "default"
            assert config == f"policy/{expected}.json", where
        elif "prod" in step.stacks:
            assert "matrix.stack == 'prod' && 'policy/production.json'" in config, where
            assert "|| 'policy/default.json'" in config, where
        else:
            assert config == "policy/default.json", where


def test_the_license_comes_from_a_repository_secret_as_secret_config() -> None:
    for step in all_pulumi_steps():
        text = str(step.inputs.get("config-map", ""))
        assert "${{ secrets.AIDBOX_LICENSE }}" in text, (step.workflow, step.job_id)
        config = yaml.safe_load(re.sub(r"\$\{\{[^}]*\}\}", "x", text))
        assert config["aidbox-secrets:aidboxLicense"]["secret"] is True, step.job_id


def test_policy_pack_dependencies_go_to_its_virtualenv() -> None:
    """pulumi/actions installs no Python packages: the job must build policy/venv itself."""
    for step in all_pulumi_steps():
        scripts = "\n".join(str(s.get("run", "")) for s in steps(step.job))
        assert "python -m venv policy/venv" in scripts, step.job_id
        assert "policy/venv/bin/pip install -r policy/requirements.txt" in scripts, step.job_id
    policy_project = REPO_ROOT / "policy" / "PulumiPolicy.yaml"
    if policy_project.exists():
        runtime = load_yaml(policy_project).get("runtime")
        options = runtime.get("options", {}) if isinstance(runtime, dict) else {}
        assert options.get("virtualenv") == "venv", "PulumiPolicy.yaml must use virtualenv: venv"


def test_pulumi_actions_is_used_at_v7() -> None:
    uses = [
        str(step.get("uses"))
        for path in workflow_files()
        for job in jobs(load_yaml(path)).values()
        for step in steps(job)
        if str(step.get("uses", "")).lower().startswith(PULUMI_ACTION + "@")
    ]
    assert uses, "no workflow uses pulumi/actions"
    assert all(use == f"{PULUMI_ACTION}@v7" for use in uses), uses


def test_pulumi_cli_matches_the_sdk_pin() -> None:
    sdk = pinned_version(REPO_ROOT / "requirements.txt", "pulumi")
    for step in all_pulumi_steps():
        assert str(step.inputs.get("pulumi-version")) == sdk, (step.workflow, step.job_id)


def test_every_stack_job_has_a_concurrency_group_keyed_by_the_stack() -> None:
    for step in all_pulumi_steps():
        where = (step.workflow, step.job_id)
        concurrency = step.job.get("concurrency")
        assert isinstance(concurrency, dict), f"{where} has no concurrency group"
        group = str(concurrency.get("group", ""))
        if MATRIX_STACK.match(step.stack_name):
            assert re.search(r"\$\{\{\s*matrix\.stack\s*\}\}", group), where
        else:
            assert group == step.stack_name or group.endswith("-" + step.stack_name), where
        if step.command == "up":
            assert concurrency.get("cancel-in-progress") is False, where


def test_up_matrices_never_cancel_a_running_update() -> None:
    for step in all_pulumi_steps():
        if step.command == "up" and "strategy" in step.job:
            assert step.job["strategy"].get("fail-fast") is False, step.job_id


def test_preview_and_up_never_share_a_concurrency_group() -> None:
    """A queued job in a group cancels the older queued one: a preview must not evict an up."""
    groups: dict[str, set[str]] = {}
    for step in all_pulumi_steps():
        group = str(step.job["concurrency"]["group"])
        groups.setdefault(group, set()).add(step.command)
    assert all(len(commands) == 1 for commands in groups.values()), groups


def test_deploy_runs_on_push_to_main() -> None:
    push = triggers(load_yaml(DEPLOY_WORKFLOW)).get("push") or {}
    assert push.get("branches") == ["main"]


def test_prod_is_deployed_behind_the_prod_environment_after_the_dev_stacks() -> None:
    ups = [step for step in pulumi_steps(DEPLOY_WORKFLOW) if step.command == "up"]
    prod_jobs = {step.job_id: step.job for step in ups if "prod" in step.stacks}
    assert prod_jobs, "deploy.yml runs no pulumi up on prod"
    dev_jobs = {step.job_id for step in ups if "dev" in step.stacks}
    other_jobs = {step.job_id for step in ups if "prod" not in step.stacks}
    assert dev_jobs, "deploy.yml runs no pulumi up on dev"
    for job_id, job in prod_jobs.items():
        environment = job.get("environment")
        name = environment.get("name") if isinstance(environment, dict) else environment
        assert name == "prod", job_id
        assert dev_jobs <= needs(job), f"{job_id} must need {sorted(dev_jobs)}"
        assert other_jobs <= needs(job), f"{job_id} must run after every other stack"
    for step in ups:
        if "prod" in step.stacks:
            assert step.stacks == ("prod",), "prod must not share a job with other stacks"


def test_no_workflow_references_a_client_secret() -> None:
    for path in workflow_files():
        text = path.read_text(encoding="utf-8").lower()
        for needle in FORBIDDEN_SECRETS:
            assert needle not in text, f"{path.name} mentions {needle}"
        for job in jobs(load_yaml(path)).values():
            for step in steps(job):
                if uses_action(step, "azure/login"):
                    assert "creds" not in (step.get("with") or {}), path.name


def test_azure_login_is_openid_connect_from_repository_variables() -> None:
    for path in AZURE_WORKFLOWS:
        for job_id, job in jobs(load_yaml(path)).items():
            logins = [step for step in steps(job) if uses_action(step, "azure/login")]
            runs_pulumi = any(uses_action(step, PULUMI_ACTION) for step in steps(job))
            if not logins and not runs_pulumi:
                continue
            assert logins, f"{job_id} runs pulumi without azure/login"
            assert (job.get("permissions") or {}).get("id-token") == "write", job_id
            for login in logins:
                inputs = login.get("with") or {}
                for key in ("client-id", "tenant-id", "subscription-id"):
                    assert str(inputs.get(key, "")).startswith("${{ vars."), (job_id, key)
            env = job.get("env") or {}
            assert str(env.get("ARM_USE_OIDC")).lower() == "true", job_id
            for key in ("ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_SUBSCRIPTION_ID"):
                assert str(env.get(key, "")).startswith("${{ vars."), (job_id, key)
            assert str(env.get("AZURE_STORAGE_ACCOUNT", "")).startswith("${{ vars."), job_id


def test_pull_requests_from_forks_get_no_cloud_credentials() -> None:
    for step in pulumi_steps(PR_WORKFLOW):
        condition = str(step.job.get("if", ""))
        assert "github.event.pull_request.head.repo.full_name == github.repository" in condition


def test_the_test_suite_runs_before_any_stack_is_touched() -> None:
    for path in (PR_WORKFLOW, DEPLOY_WORKFLOW):
        workflow_jobs = jobs(load_yaml(path))
        test_jobs = set()
        for job_id, job in workflow_jobs.items():
            scripts = [str(step.get("run", "")) for step in steps(job)]
            runs_tests = [i for i, run in enumerate(scripts) if "bash scripts/test.sh" in run]
            installs = [
                i
                for i, run in enumerate(scripts)
                if "python -m venv venv" in run
                and "venv/bin/pip install -r requirements-dev.txt" in run
            ]
            if runs_tests:
                assert installs and installs[0] < runs_tests[0], f"{path.name}:{job_id}"
                test_jobs.add(job_id)
        assert test_jobs, f"{path.name} never runs bash scripts/test.sh"

        for step in pulumi_steps(path):
            ancestors = upstream(workflow_jobs, step.job_id)
            assert ancestors & test_jobs, f"{path.name}:{step.job_id}"


def test_bootstrap_script_is_valid_bash() -> None:
    text = BOOTSTRAP_SCRIPT.read_text(encoding="utf-8")
    assert "set -euo pipefail" in text
    result = subprocess.run(["bash", "-n", str(BOOTSTRAP_SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for needle in FORBIDDEN_SECRETS:
        assert needle not in text.lower()


def test_only_prod_needs_a_fixed_egress_runner() -> None:
    """dev-vault reaches Vault through the AKS API server, so the dev stacks run on GitHub-hosted
    runners; prod's API server takes only its authorized ranges (PROD_RUNNER)."""
    for path in workflow_files():
        for job_id, job in jobs(load_yaml(path)).items():
            runs_on = str(job.get("runs-on"))
            assert runs_on == "ubuntu-latest" or (
                "PROD_RUNNER" in runs_on and runs_on.endswith("|| 'ubuntu-latest' }}")
                if "matrix.stack" in runs_on
                else runs_on == "${{ vars.PROD_RUNNER || 'self-hosted' }}"
            ), f"{path.name}: {job_id}: {runs_on}"


def test_dev_vault_is_refreshed_before_each_up() -> None:
    """A dev Vault keeps nothing across pod restarts; the refresh lets `up` restore it."""
    ups = [s for s in pulumi_steps(DEPLOY_WORKFLOW) if "dev-vault" in s.stacks]
    assert ups and all(
        str(s.inputs.get("refresh")) == "${{ matrix.stack == 'dev-vault' }}" for s in ups
    )


AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"


def test_every_pulumi_job_can_sign_in_to_aks_without_a_static_credential() -> None:
    """The Kubernetes provider runs `kubelogin get-token --login azurecli`: each job that runs
    pulumi installs kubelogin and fetches the AKS token while the OIDC login is fresh."""
    for path in AZURE_WORKFLOWS:
        for job_id, job in jobs(load_yaml(path)).items():
            job_steps = steps(job)
            if not any(uses_action(step, PULUMI_ACTION) for step in job_steps):
                continue
            names = [str(step.get("uses", "")) + str(step.get("run", "")) for step in job_steps]
            pulumi_at = next(i for i, n in enumerate(names) if n.startswith(PULUMI_ACTION))
            kubelogin = [i for i, n in enumerate(names) if n.startswith("azure/use-kubelogin@")]
            token = [i for i, n in enumerate(names) if f"--resource {AKS_SERVER_APP}" in n]
            assert kubelogin and kubelogin[0] < pulumi_at, (path.name, job_id)
            assert token and token[0] < pulumi_at, (path.name, job_id)


def test_prod_runs_where_the_api_server_lets_it_in() -> None:
    """prod's API server takes only cluster.apiServerAuthorizedRanges: not a GitHub-hosted
    runner, whose addresses change."""
    checked: list[str] = []
    for path in workflow_files():
        for job_id, job in jobs(load_yaml(path)).items():
            stacks = {
                s for step in pulumi_steps(path) if step.job_id == job_id for s in step.stacks
            }
            if "prod" in stacks:
                checked.append(job_id)
                assert "PROD_RUNNER" in str(job.get("runs-on")), (path.name, job_id)
    assert len(checked) == 2, checked  # the prod preview and the prod up


def test_kind_workflow_proves_the_data_plane_of_each_kind_stack_on_program_changes() -> None:
    workflow = load_yaml(KIND_WORKFLOW)
    on_pr = triggers(workflow)["pull_request"]
    for path in ("__main__.py", "components/**", "charts/**", "scripts/kind/**"):
        assert path in on_pr["paths"]
    (job,) = jobs(workflow).values()
    kind = [step for step in steps(job) if uses_action(step, "helm/kind-action")]
    assert len(kind) == 1
    runs = "\n".join(str(step.get("run", "")) for step in steps(job))
    for stack in kind_stacks():
        config = load_yaml(REPO_ROOT / f"Pulumi.{stack}.yaml")["config"]
        # kind names the context kind-<cluster name>: the stack file's context.
        context = config["aidbox-secrets:cluster"]["context"]
        assert context == f"kind-{kind[0]['with']['cluster_name']}"
        assert f"--stack {stack}" in runs
    assert "bash scripts/kind/up.sh" in runs
    assert "bash scripts/kind/verify.sh" in runs
    assert "secrets.AIDBOX_LICENSE" in str(job.get("env"))
    cli = [step for step in steps(job) if uses_action(step, PULUMI_ACTION)]
    sdk = pinned_version(REPO_ROOT / "requirements.txt", "pulumi")
    assert [step["with"] for step in cli] == [{"pulumi-version": sdk}]  # the CLI only


def test_every_shell_script_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, (
        "shellcheck is needed: bash scripts/tools.sh installs it (or your package manager)"
    )
    scripts = sorted(str(p) for p in (REPO_ROOT / "scripts").rglob("*.sh"))
    assert str(BOOTSTRAP_SCRIPT) in scripts
    result = subprocess.run([shellcheck, *scripts], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
