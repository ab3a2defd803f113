"""Aidbox logs in to PostgreSQL as a role of its own, not as the server's administrator (issue
18 #6), in both database modes: a Job the program declares runs the role script
(components/aidbox/db_role_sql.py, proven on a real server in tests/test_db_role.py) as the
administrator, with both passwords read from the store's files, before Aidbox starts."""

from __future__ import annotations

import pytest
from harness import AZURE_TUNED, AZURE_TUNED_SECRETS, VAULT_DEV, StackRun, depends_on, run_stack

from components.database import APP_ROLE
from components.settings.managed import DB_APP_PASSWORD, DB_PASSWORD, MANAGED_SECRETS

JOB = "batch/v1:Job"
MODES = {
    "inCluster": (VAULT_DEV, (), "aidbox-db.default.svc.cluster.local", "aidbox"),
    "azureFlexible": (
        AZURE_TUNED,
        AZURE_TUNED_SECRETS,
        "psql-aidbox-secrets-dev",  # the server's name starts so; its FQDN follows
        "aidbox",
    ),
}


@pytest.fixture(scope="module", params=list(MODES))
def mode(request: pytest.FixtureRequest) -> tuple[str, StackRun]:
    config, secret_keys, _, _ = MODES[request.param]
    return request.param, run_stack(config, secret_keys=secret_keys)


def _aidbox_env(run: StackRun) -> dict[str, dict]:
    pod = run.k8s("apps/v1:Deployment", "aidbox").props["spec"]["template"]["spec"]
    return {e["name"]: e for e in pod["containers"][0]["env"]}


def test_aidbox_logs_in_as_its_own_role_with_its_own_password(mode: tuple[str, StackRun]) -> None:
    _, run = mode
    env = _aidbox_env(run)
    assert env["BOX_DB_USER"]["value"] == APP_ROLE
    # Exported by Aidbox's start script from its role's password file.
    assert "BOX_DB_PASSWORD" not in env
    command = run.k8s("apps/v1:Deployment", "aidbox").props["spec"]["template"]["spec"][
        "containers"
    ][0]["command"]
    assert f"/{DB_APP_PASSWORD}\nexport BOX_DB_PASSWORD=" in command[2]
    assert DB_APP_PASSWORD in MANAGED_SECRETS and DB_PASSWORD in MANAGED_SECRETS


def test_a_job_creates_the_role_as_the_administrator_before_aidbox(
    mode: tuple[str, StackRun],
) -> None:
    name, run = mode
    job = run.k8s(JOB, "aidbox-db-role")
    pod = job.props["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["PGUSER"]["value"] == MODES[name][3]  # the administrator
    assert env["PGDATABASE"]["value"] == "aidbox"
    # Both passwords come from files the store mounts; none is in the manifest.
    assert not [
        e
        for e in container["env"]
        if "PASSWORD" in e["name"] and "value" in e and not e["name"].endswith("_FILE")
    ]
    script = run.k8s("core/v1:ConfigMap", "aidbox-db-role").props["data"]["role.sql"]
    assert f"/{DB_APP_PASSWORD}'`" in script
    # The database's account (tests/test_stack_database_reader.py), not Aidbox's: both
    # passwords, no key.
    assert pod["serviceAccountName"] == "aidbox-db"
    assert pod["restartPolicy"] == "Never"
    assert any("csi" in v for v in pod["volumes"])
    # Aidbox waits for the role; the Job waits for the database and the store's files.
    assert "aidbox-db-role-job" in depends_on(run.k8s("apps/v1:Deployment", "aidbox"))
    assert {"spc-database", "aidbox-db-role-script"} <= depends_on(job)
    assert job.opts is not None and job.opts.delete_before_replace is True


def test_the_role_job_reaches_the_database_and_nothing_else(mode: tuple[str, StackRun]) -> None:
    name, run = mode
    policy = run.k8s("networking.k8s.io/v1:NetworkPolicy", "database-role-egress").props["spec"]
    assert policy["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "aidbox-db-role"}}
    (rule,) = policy["egress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 5432}]
    if name == "inCluster":
        ingress = run.k8s("networking.k8s.io/v1:NetworkPolicy", "database-ingress").props["spec"]
        sources = [p["podSelector"]["matchLabels"] for p in ingress["ingress"][0]["from"]]
        assert {"app.kubernetes.io/name": "aidbox-db-role"} in sources
