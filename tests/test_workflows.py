"""Offline checks of the GitHub Actions workflows, the stack files and the backend bootstrap.

Validates every workflow against the GitHub workflow JSON schema shipped by check-jsonschema,
checks that workflows and ``Pulumi.<stack>.yaml`` files name the same stacks, and pins the
deployment rules: pulumi/actions v7, per-stack concurrency, prod behind an approved
environment after dev, and the test suite first. Per job: the identity it signs in as, that
identity's federated subject (from scripts/bootstrap-backend.sh) matching the job's trigger,
no production identity within reach of a pull request, tokens that renew for the whole job,
and refresh and destroy running the program.
"""

from __future__ import annotations

import functools
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
OPERATE_WORKFLOW = WORKFLOW_DIR / "operate.yml"
KIND_WORKFLOW = WORKFLOW_DIR / "kind.yml"
# The workflows that deploy to Azure (the kind workflow deploys to a throwaway kind cluster).
AZURE_WORKFLOWS = (PR_WORKFLOW, DEPLOY_WORKFLOW, OPERATE_WORKFLOW)
BOOTSTRAP_SCRIPT = REPO_ROOT / "scripts" / "bootstrap-backend.sh"

PULUMI_ACTION = "pulumi/actions"
MATRIX_STACK = re.compile(r"^\$\{\{\s*matrix\.stack\s*\}\}$")
INPUT_STACK = re.compile(r"^\$\{\{\s*inputs\.stack\s*\}\}$")
WRITERS = ("up", "refresh", "destroy")  # commands that write state
PRODUCTION_STACKS = ("prod",)
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


def dispatch_stacks(workflow: dict[str, Any], job: dict[str, Any]) -> list[str]:
    """The stacks a workflow_dispatch input may name for this job, as its `if` narrows them."""
    dispatch = triggers(workflow).get("workflow_dispatch") or {}
    options = [str(o) for o in ((dispatch.get("inputs") or {}).get("stack") or {})["options"]]
    condition = str(job.get("if", ""))
    only = re.findall(r"inputs\.stack == '([^']+)'", condition)
    excluded = re.findall(r"inputs\.stack != '([^']+)'", condition)
    return [o for o in options if (not only or o in only) and o not in excluded]


def pulumi_steps(path: Path) -> list[PulumiStep]:
    """Every pulumi/actions step, with the stacks it runs on (matrix.stack and inputs.stack
    resolved)."""
    found = []
    workflow = load_yaml(path)
    for job_id, job in jobs(workflow).items():
        for step in steps(job):
            if not uses_action(step, PULUMI_ACTION):
                continue
            inputs = step.get("with") or {}
            stack_name = str(inputs.get("stack-name", ""))
            if MATRIX_STACK.match(stack_name):
                stacks = tuple(matrix_stacks(job))
            elif INPUT_STACK.match(stack_name):
                stacks = tuple(dispatch_stacks(workflow, job))
            else:
                stacks = (stack_name,) if stack_name else ()
            commands = str(inputs.get("command", ""))
            command_inputs = [commands]
            if commands == "${{ inputs.command }}":
                dispatch = triggers(workflow).get("workflow_dispatch") or {}
                command_inputs = (dispatch.get("inputs") or {})["command"]["options"]
            for command in command_inputs:
                found.append(
                    PulumiStep(
                        workflow=path.name,
                        job_id=job_id,
                        job=job,
                        command=str(command),
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
    assert {PR_WORKFLOW, DEPLOY_WORKFLOW, OPERATE_WORKFLOW, KIND_WORKFLOW} <= set(workflow_files())


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


def test_pull_requests_preview_every_non_production_stack_in_a_matrix() -> None:
    assert "pull_request" in triggers(load_yaml(PR_WORKFLOW))
    previews = [step for step in pulumi_steps(PR_WORKFLOW) if step.command == "preview"]
    assert previews, "the pull request workflow runs no pulumi preview"
    assert all(MATRIX_STACK.match(step.stack_name) for step in previews)
    previewed = {stack for step in previews for stack in step.stacks}
    # A kubeconfig-mode stack (local: kind) has no cluster to preview against on a hosted
    # runner; the kind workflow runs `up` on it instead. Production is previewed after merge.
    everything = stacks_named_in_workflows() | stack_files()
    assert previewed == everything - kind_stacks() - set(PRODUCTION_STACKS)


def test_production_is_previewed_behind_an_approval_before_its_update() -> None:
    """A reviewer of the `prod` environment lets the preview run, reads its summary, then
    approves the update: both jobs wait in the environment, the update after the preview."""
    workflow_jobs = jobs(load_yaml(DEPLOY_WORKFLOW))
    steps_ = pulumi_steps(DEPLOY_WORKFLOW)
    (preview,) = [s for s in steps_ if s.command == "preview" and s.stacks == ("prod",)]
    (update,) = [s for s in steps_ if s.command == "up" and s.stacks == ("prod",)]
    assert environment(preview.job) == environment(update.job) == "prod"
    assert preview.inputs.get("comment-on-summary") is True
    assert preview.inputs.get("diff") is True
    assert preview.job_id in upstream(workflow_jobs, update.job_id)


def test_previews_comment_on_the_pull_request() -> None:
    for step in pulumi_steps(PR_WORKFLOW):
        assert step.inputs.get("comment-on-pr") is True, step.job_id
        permissions = step.job.get("permissions") or {}
        assert permissions.get("pull-requests") == "write", step.job_id


def test_every_preview_and_up_runs_the_policy_pack() -> None:
    for step in all_pulumi_steps():
        if step.command in ("preview", "up"):
            assert step.inputs.get("policyPacks") == "policy", (step.workflow, step.job_id)


def test_production_policies_get_the_production_config_on_prod_only() -> None:
    production = json.loads((REPO_ROOT / "policy" / "production.json").read_text())
    assert production and all(config == {"production": True} for config in production.values())
    assert json.loads((REPO_ROOT / "policy" / "default.json").read_text()) == {}
    for step in all_pulumi_steps():
        if step.command not in ("preview", "up"):
            continue
        config = str(step.inputs.get("policyPackConfigs", ""))
        where = (step.workflow, step.job_id, config)
        assert len(step.stacks) == 1 or "prod" not in step.stacks, where
        expected = "production" if step.stacks == ("prod",) else "default"
        assert config == f"policy/{expected}.json", where


def test_the_license_comes_from_a_repository_secret_as_secret_config() -> None:
    for step in all_pulumi_steps():
        text = str(step.inputs.get("config-map", ""))
        assert "${{ secrets.AIDBOX_LICENSE }}" in text, (step.workflow, step.job_id)
        config = yaml.safe_load(re.sub(r"\$\{\{[^}]*\}\}", "x", text))
        assert config["aidbox-secrets:aidboxLicense"]["secret"] is True, step.job_id


def test_policy_pack_dependencies_go_to_its_virtualenv() -> None:
    """pulumi/actions installs no Python packages: the job must build policy/venv itself."""
    for step in all_pulumi_steps():
        if not step.inputs.get("policyPacks"):
            continue
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
        if step.command in WRITERS:
            assert concurrency.get("cancel-in-progress") is False, where


def test_up_matrices_never_cancel_a_running_update() -> None:
    for step in all_pulumi_steps():
        if step.command == "up" and "strategy" in step.job:
            assert step.job["strategy"].get("fail-fast") is False, step.job_id


def test_writers_of_one_stack_share_a_group_and_previews_never_join_it() -> None:
    """A queued job in a group cancels the older queued one: a preview must not evict an up;
    an up, a refresh and a destroy of one stack never run at once."""
    groups: dict[str, set[str]] = {}
    for step in all_pulumi_steps():
        group = str(step.job["concurrency"]["group"])
        kind = "writer" if step.command in WRITERS else "preview"
        groups.setdefault(group, set()).add(kind)
    assert all(len(kinds) == 1 for kinds in groups.values()), groups
    for step in all_pulumi_steps():
        if step.command in WRITERS:
            group = str(step.job["concurrency"]["group"])
            assert group.startswith("pulumi-up-"), (step.workflow, step.job_id, group)


def test_deploy_runs_on_push_to_main() -> None:
    push = triggers(load_yaml(DEPLOY_WORKFLOW)).get("push") or {}
    assert push.get("branches") == ["main"]


def environment(job: dict[str, Any]) -> str | None:
    value = job.get("environment")
    return value.get("name") if isinstance(value, dict) else value


def test_prod_is_deployed_behind_the_prod_environment_after_the_dev_stacks() -> None:
    workflow_jobs = jobs(load_yaml(DEPLOY_WORKFLOW))
    ups = [step for step in pulumi_steps(DEPLOY_WORKFLOW) if step.command == "up"]
    prod_jobs = {step.job_id: step.job for step in ups if "prod" in step.stacks}
    assert prod_jobs, "deploy.yml runs no pulumi up on prod"
    dev_jobs = {step.job_id for step in ups if "dev" in step.stacks}
    other_jobs = {step.job_id for step in ups if "prod" not in step.stacks}
    assert dev_jobs, "deploy.yml runs no pulumi up on dev"
    for job_id, job in prod_jobs.items():
        assert environment(job) == "prod", job_id
        ancestors = upstream(workflow_jobs, job_id)
        assert dev_jobs <= ancestors, f"{job_id} must wait for {sorted(dev_jobs)}"
        assert other_jobs <= ancestors, f"{job_id} must run after every other stack"
    for step in all_pulumi_steps():
        if "prod" in step.stacks:
            assert step.stacks == ("prod",), "prod must not share a job with other stacks"
            assert environment(step.job) == "prod", (step.workflow, step.job_id)


def test_no_workflow_references_a_client_secret() -> None:
    for path in workflow_files():
        text = path.read_text(encoding="utf-8").lower()
        for needle in FORBIDDEN_SECRETS:
            assert needle not in text, f"{path.name} mentions {needle}"
        for job in jobs(load_yaml(path)).values():
            for step in steps(job):
                if uses_action(step, "azure/login"):
                    assert "creds" not in (step.get("with") or {}), path.name


# --- identities -------------------------------------------------------------------------------

IDENTITY_VARIABLE = re.compile(r"^\$\{\{ vars\.(AZURE_[A-Z]+_CLIENT_ID) \}\}$")


@functools.cache
def federated_contexts() -> dict[str, str]:
    """Repository variable -> the GitHub context its identity's federated credential accepts,
    as scripts/bootstrap-backend.sh creates them (its --print-identities, no Azure call)."""
    result = subprocess.run(
        [
            *("bash", str(BOOTSTRAP_SCRIPT), "--github-repo", "o/r"),
            *("--subject-format", "names", "--print-identities"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = {}
    for line in result.stdout.splitlines():
        _, variable, subject = line.split(" ")
        assert subject.startswith("repo:o/r:"), subject
        found[variable] = subject.removeprefix("repo:o/r:")
    return found


def azure_jobs() -> list[tuple[Path, str, dict[str, Any]]]:
    return [
        (path, job_id, job)
        for path in AZURE_WORKFLOWS
        for job_id, job in jobs(load_yaml(path)).items()
        if any(uses_action(step, PULUMI_ACTION) for step in steps(job))
    ]


def identity(job: dict[str, Any]) -> str:
    """The repository variable holding the client id the job signs in with, everywhere."""
    env = job.get("env") or {}
    found = {
        key: IDENTITY_VARIABLE.match(str(env.get(key, "")))
        for key in ("AZURE_CLIENT_ID", "ARM_CLIENT_ID")
    }
    assert all(found.values()), env
    (variable,) = {match.group(1) for match in found.values() if match}
    return variable


def oidc_contexts(path: Path, job_id: str, job: dict[str, Any]) -> set[str]:
    """What GitHub puts after repo:<org>/<repo>: in this job's OIDC subject: its environment,
    else pull_request, else the branch the run is on (main only where the workflow or the job
    says so; any other branch otherwise)."""
    if environment(job):
        return {f"environment:{environment(job)}"}
    on = triggers(load_yaml(path))
    found = set()
    if "pull_request" in on or "pull_request_target" in on:
        found.add("pull_request")
    branch_events = [e for e in on if e not in ("pull_request", "pull_request_target")]
    for event in branch_events:
        only_main = "github.ref == 'refs/heads/main'" in str(job.get("if", ""))
        if event == "push" and (on["push"] or {}).get("branches") == ["main"]:
            only_main = True
        found.add("ref:refs/heads/main" if only_main else "ref:refs/heads/<any>")
    return found


def test_the_bootstrap_makes_one_identity_per_trust_level() -> None:
    assert federated_contexts() == {
        "AZURE_PREVIEW_CLIENT_ID": "pull_request",
        "AZURE_DEPLOY_CLIENT_ID": "ref:refs/heads/main",
        "AZURE_PROD_CLIENT_ID": "environment:prod",
    }


def test_each_job_signs_in_as_the_identity_its_trigger_is_federated_to() -> None:
    checked = set()
    for path, job_id, job in azure_jobs():
        variable = identity(job)
        expected = federated_contexts()[variable]
        assert oidc_contexts(path, job_id, job) == {expected}, (path.name, job_id, variable)
        checked.add(variable)
    assert checked == set(federated_contexts())


def test_no_job_reachable_from_a_pull_request_can_use_the_production_identity() -> None:
    production = ("AZURE_PROD_", "PULUMI_PROD_")
    for path in workflow_files():
        on = triggers(load_yaml(path))
        if not {"pull_request", "pull_request_target"} & set(on):
            continue
        text = path.read_text(encoding="utf-8")
        assert not [name for name in production if name in text], path.name
        for job_id, job in jobs(load_yaml(path)).items():
            assert environment(job) is None, (path.name, job_id)
        for step in pulumi_steps(path):
            assert not set(step.stacks) & set(PRODUCTION_STACKS), (path.name, step.job_id)
    # The production identity trusts only jobs in the `prod` environment, and those run on
    # main only: the environment's deployment branch rule (docs/ci-cd.md, step 4).
    assert federated_contexts()["AZURE_PROD_CLIENT_ID"] == "environment:prod"


def test_each_stack_uses_the_subscription_state_and_key_of_its_trust_level() -> None:
    for step in all_pulumi_steps():
        env = step.job.get("env") or {}
        where = (step.workflow, step.job_id)
        prod = step.stacks == ("prod",)
        assert "prod" not in step.stacks or prod, where
        infix = "PROD_" if prod else ""
        assert env["ARM_SUBSCRIPTION_ID"] == f"${{{{ vars.AZURE_{infix}SUBSCRIPTION_ID }}}}", where
        state = f"azblob://${{{{ vars.PULUMI_{infix}STATE_CONTAINER }}}}"
        assert step.inputs["cloud-url"] == state, where
        provider = f"${{{{ vars.PULUMI_{infix}SECRETS_PROVIDER }}}}"
        assert step.inputs["secrets-provider"] == provider, where
        assert prod == (identity(step.job) == "AZURE_PROD_CLIENT_ID"), where
        if step.command in WRITERS:
            assert identity(step.job) != "AZURE_PREVIEW_CLIENT_ID", where


def test_every_azure_job_signs_in_with_tokens_that_renew() -> None:
    """No Azure CLI login (its token cannot be renewed after about an hour): azure-native asks
    GitHub for a new OIDC token itself (ARM_USE_OIDC), kubelogin too (workloadidentity with
    GitHub's token endpoint), and the state backend and secrets provider read a token file the
    job keeps fresh (scripts/ci/federated-token.sh)."""
    for path, job_id, job in azure_jobs():
        where = (path.name, job_id)
        env = job.get("env") or {}
        assert (job.get("permissions") or {}).get("id-token") == "write", where
        assert str(env.get("ARM_USE_OIDC")) == "true", where
        assert env.get("AAD_LOGIN_METHOD") == "workloadidentity", where
        for key in ("AZURE_TENANT_ID", "ARM_TENANT_ID"):
            assert env.get(key) == "${{ vars.AZURE_TENANT_ID }}", (where, key)
        assert env.get("AZURE_STORAGE_ACCOUNT") == "${{ vars.PULUMI_STATE_STORAGE_ACCOUNT }}"
        job_steps = steps(job)
        assert not [s for s in job_steps if uses_action(s, "azure/login")], where
        assert "az account get-access-token" not in json.dumps(job_steps), where
        names = [str(s.get("uses", "")) + str(s.get("run", "")) for s in job_steps]
        pulumi_at = next(i for i, n in enumerate(names) if n.startswith(PULUMI_ACTION))
        token = [i for i, n in enumerate(names) if "scripts/ci/federated-token.sh" in n]
        kubelogin = [i for i, n in enumerate(names) if n.startswith("azure/use-kubelogin@")]
        assert token and token[0] < pulumi_at, where
        assert kubelogin and kubelogin[0] < pulumi_at, where


def test_refresh_and_destroy_run_the_program() -> None:
    """The Vault provider takes the API server's CA only as a file the program writes on the
    runner: a refresh or destroy (or up --refresh) configured from state would not find it."""
    refreshes = set()
    for step in all_pulumi_steps():
        refreshing = step.command in ("refresh", "destroy") or step.inputs.get("refresh") not in (
            None,
            False,
        )
        if refreshing:
            refreshes.add(step.command)
            env = step.job.get("env") or {}
            assert env.get("PULUMI_RUN_PROGRAM") == "true", (step.workflow, step.job_id)
    assert refreshes == {"up", "refresh", "destroy"}


def test_operate_refreshes_and_destroys_every_stack_as_its_trust_level() -> None:
    steps_ = pulumi_steps(OPERATE_WORKFLOW)
    done = {(stack, step.command) for step in steps_ for stack in step.stacks}
    stacks = stack_files() - kind_stacks()
    assert done == {(stack, command) for stack in stacks for command in ("refresh", "destroy")}
    for step in steps_:
        assert "github.ref == 'refs/heads/main'" in str(step.job.get("if", "")), step.job_id


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
    """dev-vault reaches Vault through the AKS API server, so the non-production stacks run on
    GitHub-hosted runners; prod's API server takes only its authorized ranges (PROD_RUNNER)."""
    for path in workflow_files():
        for job_id, job in jobs(load_yaml(path)).items():
            runs_on = str(job.get("runs-on"))
            stacks = {
                s for step in pulumi_steps(path) if step.job_id == job_id for s in step.stacks
            }
            if "prod" in stacks:
                assert runs_on == "${{ vars.PROD_RUNNER || 'self-hosted' }}", (path.name, job_id)
            else:
                assert runs_on == "ubuntu-latest", f"{path.name}: {job_id}: {runs_on}"


def test_dev_vault_is_refreshed_before_each_up() -> None:
    """A dev Vault keeps nothing across pod restarts; the refresh lets `up` restore it."""
    ups = [s for s in pulumi_steps(DEPLOY_WORKFLOW) if "dev-vault" in s.stacks]
    assert ups and all(
        str(s.inputs.get("refresh")) == "${{ matrix.stack == 'dev-vault' }}" for s in ups
    )


def test_prod_runs_where_the_api_server_lets_it_in() -> None:
    """prod's API server takes only cluster.apiServerAuthorizedRanges: not a GitHub-hosted
    runner, whose addresses change."""
    checked: set[tuple[str, str]] = set()
    for path in workflow_files():
        for step in pulumi_steps(path):
            if "prod" in step.stacks:
                checked.add((path.name, step.job_id))
                assert "PROD_RUNNER" in str(step.job.get("runs-on")), (path.name, step.job_id)
    # The prod preview and update, and the day-two refresh or destroy.
    assert checked == {
        ("deploy.yml", "preview-prod"),
        ("deploy.yml", "up-prod"),
        ("operate.yml", "operate-prod"),
    }


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
