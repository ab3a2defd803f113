"""The POSIX shells Aidbox's start script is run with in the tests: dash (Debian's /bin/sh) and
BusyBox ash (Alpine's /bin/sh, the family of Aidbox's image). Both are real; scripts/tools.sh
installs BusyBox when it is missing. The script must work in either: it uses shell builtins
only."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

SHELLS = ("dash", "busybox")
# A stand-in for the image's entrypoint: prints its arguments and the variables it was given,
# NUL-separated, as the JVM would receive them.
ENTRYPOINT = """#!/bin/sh
printf 'ARGV=%s\\0' "$*"
env -0
"""


def shell_command(name: str) -> list[str]:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `bash scripts/tools.sh`", pytrace=False)
    return [found, "sh"] if name == "busybox" else [found]


def entrypoint(folder: Path) -> Path:
    path = folder / "aidbox.sh"
    path.write_text(ENTRYPOINT)
    path.chmod(0o755)
    return path


def run_script(
    shell: str, script: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """`<shell> -c script`, as the container's command runs it, with a minimal environment."""
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run(
        [*shell_command(shell), "-c", script],
        env={**base, **(env or {})},
        capture_output=True,
        timeout=30,
    )


def exported(result: subprocess.CompletedProcess[bytes]) -> dict[str, str]:
    """What the stand-in entrypoint printed: its environment, and ARGV."""
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    found = {}
    for item in result.stdout.split(b"\0"):
        if b"=" in item:
            key, _, value = item.decode().partition("=")
            found[key] = value
    return found
