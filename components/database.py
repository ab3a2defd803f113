"""What Aidbox needs from its database, whichever component provides it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

# Aidbox's own role. Not `aidbox`: that name is the administrator's on existing stacks (the
# flexible server's administrator login and the in-cluster superuser), which cannot be renamed
# without replacing the server.
APP_ROLE = "aidbox_app"


@dataclass(frozen=True)
class Database:
    host: pulumi.Input[str]
    port: int
    name: str
    user: str  # Aidbox's own role (APP_ROLE), never the administrator
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
