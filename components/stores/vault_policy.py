"""The Vault ACL policy Aidbox's role gets, rendered as HCL. Pure."""

from __future__ import annotations

import json
from collections.abc import Sequence


def render_policy(path: str, capabilities: Sequence[str] = ("read",)) -> str:
    # HCL quoted strings and lists share JSON's syntax, so json.dumps quotes them safely.
    return f"path {json.dumps(path)} {{\n  capabilities = {json.dumps(list(capabilities))}\n}}\n"
