"""Aidbox's own database role (issue 18 #6), on a real PostgreSQL: the script the program runs
as the administrator creates the role with the store's password, hands it every object an
existing stack's Aidbox created as the administrator, and leaves a role that is no superuser but
can do what Aidbox does (migrations, extensions, data). Twice in a row it changes nothing but
the password. Both administrators: the in-cluster image's bootstrap superuser, and a
non-superuser with CREATEROLE and CREATEDB like the flexible server's.

Needs PostgreSQL's server programs (Debian's `postgresql` package; `scripts/tools.sh`
installs it): without them the test fails and says so. The server here is the machine's
(15 on Debian 12); the in-cluster image runs 17 and the flexible server 16 or 17."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.aidbox.db_role_sql import role_sql
from components.database import APP_ROLE

EXISTING_OBJECTS = """
CREATE SCHEMA sof;
CREATE TABLE public.patient (id text PRIMARY KEY, resource jsonb, n serial);
CREATE TABLE sof.view_rows (id bigint GENERATED ALWAYS AS IDENTITY, v text);
CREATE SEQUENCE public.transaction_id_seq;
CREATE VIEW public.patient_ids AS SELECT id FROM public.patient;
CREATE MATERIALIZED VIEW sof.counts AS SELECT count(*) FROM public.patient;
CREATE TYPE public.status AS ENUM ('a', 'b');
CREATE FUNCTION public.knife(j jsonb) RETURNS jsonb LANGUAGE sql AS 'SELECT j';
CREATE EXTENSION IF NOT EXISTS pgcrypto;
INSERT INTO public.patient (id, resource) VALUES ('p1', '{}');
"""
# What Aidbox does as its own role: migrations on existing tables, new ones, data, extensions.
AIDBOX_WORK = """
ALTER TABLE public.patient ADD COLUMN ts timestamptz;
CREATE INDEX ON public.patient (ts);
ALTER TABLE sof.view_rows ADD COLUMN w text;
INSERT INTO sof.view_rows (v) VALUES ('x');
INSERT INTO public.patient (id, resource) VALUES ('p2', '{}');
SELECT nextval('public.transaction_id_seq');
REFRESH MATERIALIZED VIEW sof.counts;
CREATE OR REPLACE VIEW public.patient_ids AS SELECT id FROM public.patient;
CREATE OR REPLACE FUNCTION public.knife(j jsonb) RETURNS jsonb LANGUAGE sql AS 'SELECT j';
ALTER TYPE public.status ADD VALUE IF NOT EXISTS 'c';
CREATE TABLE public.new_resource (id text);
CREATE SCHEMA IF NOT EXISTS fhirschema;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
SELECT rolsuper FROM pg_roles WHERE rolname = current_user;
"""


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail(
            "PostgreSQL's server programs not found (/usr/lib/postgresql/*/bin/initdb): "
            "bash scripts/tools.sh installs them (apt-get install postgresql)",
            pytrace=False,
        )
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, root: Path, bindir: Path) -> None:
        self.root, self.bindir, self.port = root, bindir, _free_port()
        self.as_postgres = os.geteuid() == 0  # initdb refuses to run as root

    def run(self, *args: str, **kwargs) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)

    def psql(
        self, user: str, db: str, *args: str, password: str | None = None, host: bool = False
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PGPASSWORD": password or ""}
        where = ["-h", "127.0.0.1"] if host else ["-h", str(self.root)]
        return self.run(
            "psql",
            "-X",
            "-q",
            "-At",
            *where,
            "-p",
            str(self.port),
            "-U",
            user,
            "-d",
            db,
            *args,
            env=env,
        )


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    bindir = _bindir()
    root = Path(tempfile.mkdtemp(prefix="aidbox-pg-"))
    srv = Server(root, bindir)
    if srv.as_postgres:
        shutil.chown(root, "postgres", "postgres")
    (root / "pw").write_text("bootstrap-pass\n")
    if srv.as_postgres:
        shutil.chown(root / "pw", "postgres", "postgres")
    init = srv.run(
        str(bindir / "initdb"), "-D", str(root / "data"), "-U", "aidbox",
        "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={root / 'pw'}",
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    start = srv.run(
        str(bindir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "log"), "-w",
        "-o", f"-p {srv.port} -k {root} -c listen_addresses=127.0.0.1", "start",
    )  # fmt: skip
    assert start.returncode == 0, start.stderr + (root / "log").read_text()
    try:
        yield srv
    finally:
        srv.run(str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def _apply(server: Server, admin: str, db: str, password: str) -> subprocess.CompletedProcess:
    secret = server.root / f"{db}-app-password"
    secret.write_text(password)  # as the CSI driver writes it: no newline
    script = server.root / f"{db}-role.sql"
    script.write_text(role_sql(str(secret)))
    if server.as_postgres:
        for path in (secret, script):
            shutil.chown(path, "postgres", "postgres")
    return server.psql(admin, db, "-v", f"app={APP_ROLE}", "-v", f"db={db}", "-f", str(script))


@pytest.mark.parametrize("admin", ["superuser", "createrole"])
def test_aidbox_gets_a_role_of_its_own_that_owns_what_it_needs(server: Server, admin: str) -> None:
    db = f"aidbox_{admin}"
    user = "aidbox"
    if admin == "createrole":  # the flexible server's administrator is no superuser
        user = "azadmin"
        made = server.psql(
            "aidbox", "postgres", "-c",
            "CREATE ROLE azadmin LOGIN CREATEROLE CREATEDB PASSWORD 'admin-pass'",
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
    made = server.psql(user, "postgres", "-c", f"CREATE DATABASE {db}")
    assert made.returncode == 0, made.stderr
    existing = server.psql(user, db, "-v", "ON_ERROR_STOP=1", "-c", EXISTING_OBJECTS)
    assert existing.returncode == 0, existing.stderr

    for _ in range(2):  # idempotent: the Job may run again
        applied = _apply(server, user, db, "first-app-pass")
        assert applied.returncode == 0, applied.stderr
        assert "first-app-pass" not in applied.stdout + applied.stderr

    work = server.psql(
        APP_ROLE, db, "-v", "ON_ERROR_STOP=1", "-c", AIDBOX_WORK,
        password="first-app-pass", host=True,
    )  # fmt: skip
    assert work.returncode == 0, work.stderr
    assert work.stdout.strip().splitlines()[-1] == "f"  # not a superuser
    owners = server.psql(
        user, db, "-c",
        "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = relnamespace WHERE nspname IN ('public', 'sof') AND relkind <> 'i'",
    )  # fmt: skip
    assert owners.stdout.split() == [APP_ROLE], owners.stdout

    # A rotation in the store reaches the role when the script runs again; the old one fails.
    assert _apply(server, user, db, "second-app-pass").returncode == 0
    old = server.psql(APP_ROLE, db, "-c", "SELECT 1", password="first-app-pass", host=True)
    assert old.returncode != 0 and "password authentication failed" in old.stderr
    new = server.psql(APP_ROLE, db, "-c", "SELECT 1", password="second-app-pass", host=True)
    assert new.returncode == 0, new.stderr


def test_the_script_never_holds_the_password() -> None:
    text = role_sql("/run/azure-secrets/aidbox-db-app-password")
    assert "`cat '/run/azure-secrets/aidbox-db-app-password'`" in text
    assert "PASSWORD :'app_password'" in text
    with pytest.raises(ValueError):
        role_sql("/run/x'; DROP ROLE aidbox; --")
