"""Files the program writes on the deployer's machine for providers that take only paths (the
Vault provider's CA)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, text: str, *, mode: int, folder_mode: int = 0o755) -> str:
    """Write `text` to `path` whole (a reader never sees half a file), readable as `mode`
    says; return the path."""
    path.parent.mkdir(mode=folder_mode, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return str(path)
