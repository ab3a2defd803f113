"""What Aidbox needs from its database, whichever component provides it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class Database:
    host: pulumi.Input[str]
    port: int
    name: str
    user: str  # Aidbox's own role (db_role_sql.APP_ROLE), never the administrator
    # The store secret holding its password (a managed secret): Aidbox's start script reads
    # its mounted file the same way in every mode.
    password_secret: str
    # Who creates that role (the role Job): the administrator and the store secret of its
    # password.
    admin_user: str
    admin_password_secret: str
    # Require TLS and verify the server's certificate and name (a managed server). The
    # in-cluster database is reached over the pod network only.
    tls: bool
    # What must be up before Aidbox starts: the server (and its firewall or private DNS).
    ready: Sequence[pulumi.Resource] = ()
