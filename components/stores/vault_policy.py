"""The Vault ACL policies the store's readers get, rendered as HCL. Pure."""

from __future__ import annotations

import json
from collections.abc import Sequence


def render_policy(path: str, capabilities: Sequence[str] = ("read",)) -> str:
    # HCL quoted strings and lists share JSON's syntax, so json.dumps quotes them safely.
    return f"path {json.dumps(path)} {{\n  capabilities = {json.dumps(list(capabilities))}\n}}\n"


def render_read_policy(paths: Sequence[str]) -> str:
    """Read on each of `paths`, exactly (no glob): a reader's own KV entries."""
    if not paths or any("*" in p or "+" in p for p in paths):
        raise ValueError(f"exact paths, at least one: {list(paths)}")
    return "".join(render_policy(path) for path in dict.fromkeys(paths))
