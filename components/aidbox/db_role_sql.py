"""The SQL that gives Aidbox a database role of its own, run by the database administrator
(`psql -f`, ON_ERROR_STOP). Pure: the program renders it, the tests run it on a real PostgreSQL.

What the role gets follows Aidbox's managed-PostgreSQL guide
(HealthSamurai/documentation docs/deployment-and-maintenance/deploy-aidbox/
run-aidbox-on-managed-postgresql.md): `CREATE USER aidbox WITH CREATEDB ... PASSWORD`, the
`CREATE` privilege on its database, and the extensions it needs created by a user who may
(pgcrypto, unaccent, pg_trgm, fuzzystrmatch). Here the role owns its database (and with it, from
PostgreSQL 15 on, the `public` schema), and every object the administrator owns in it is handed
over: an existing stack's Aidbox ran as the administrator, and its tables must become the new
role's for Aidbox's migrations (ALTER, CREATE INDEX) to work.

Idempotent: run again, it only sets the password to the store's current value.
"""

from __future__ import annotations

EXTENSIONS = ("pgcrypto", "unaccent", "pg_trgm", "fuzzystrmatch")

_SQL = r"""
\set ON_ERROR_STOP on
\set app_password `cat '{password_file}'`
SELECT format('CREATE ROLE %I', :'app')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app') \gexec
ALTER ROLE :"app" WITH LOGIN CREATEDB NOCREATEROLE PASSWORD :'app_password';
\unset app_password
-- The administrator may hand objects to the role only as a member of it (PostgreSQL 16).
GRANT :"app" TO CURRENT_USER;
{extensions}
ALTER DATABASE :"db" OWNER TO :"app";
SELECT set_config('aidbox.app_role', :'app', false);
DO $$
DECLARE
  app text := current_setting('aidbox.app_role');
  r record;
BEGIN
  -- Objects of this database the administrator owns, outside the system schemas and not
  -- part of an extension: schemas, relations (a sequence a column owns follows its table),
  -- functions and procedures, types that are not a relation's row type or an array.
  FOR r IN
    SELECT format('ALTER SCHEMA %I OWNER TO %I', n.nspname, app) AS stmt
      FROM pg_namespace n
     WHERE n.nspowner = current_user::regrole
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                       AND d.objid = n.oid AND d.deptype = 'e')
    UNION ALL
    SELECT format('ALTER %s %I.%I OWNER TO %I',
                  CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                 WHEN 'm' THEN 'MATERIALIZED VIEW'
                                 WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                  n.nspname, c.relname, app)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relowner = current_user::regrole AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                       AND d.objid = c.oid AND d.deptype IN ('e', 'a', 'i'))
    UNION ALL
    SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, app)
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE p.proowner = current_user::regrole
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                       AND d.objid = p.oid AND d.deptype = 'e')
    UNION ALL
    SELECT format('ALTER TYPE %s OWNER TO %I', t.oid::regtype, app)
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE t.typowner = current_user::regrole AND t.typrelid = 0 AND t.typelem = 0
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                       AND d.objid = t.oid AND d.deptype = 'e')
  LOOP
    EXECUTE r.stmt;
  END LOOP;
END
$$;
"""


def role_sql(password_file: str) -> str:
    """The script, for psql variables `app` (the role) and `db` (its database). The password is
    read from `password_file` inside psql (a backquoted `cat`): never on a command line, in an
    env var or in this text."""
    if "'" in password_file:
        raise ValueError(f"a path without quotes: {password_file!r}")
    extensions = "\n".join(f"CREATE EXTENSION IF NOT EXISTS {e};" for e in EXTENSIONS)
    return _SQL.format(password_file=password_file, extensions=extensions).lstrip()
