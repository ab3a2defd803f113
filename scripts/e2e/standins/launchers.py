"""The executables `pulumi-resource-random`, `-tls` and `-vault` of the stand-in provider
plugins (README.md here), for the end-to-end run ONLY.

pulumi-random, pulumi-tls and pulumi-vault cannot be built on this machine, so the e2e writes
these into a directory it puts first on PATH, where the engine finds them ("using
pulumi-resource-vault from $PATH"). They stand for those three providers only, never for what is
under test, and cannot show the real providers' own bugs and edge cases nor Terraform-bridge
behaviour beyond what the stand-ins implement. Never put them on a real deploy's PATH.
"""

from __future__ import annotations

import importlib.resources
import json
import shlex
import sys
from pathlib import Path

from .protocol import Plugin, serve

HERE = Path(__file__).resolve().parent
# The SDK package each stand-in takes its version from (the version the program asks for).
SDK_PACKAGES = {"random": "pulumi_random", "tls": "pulumi_tls", "vault": "pulumi_vault"}

LAUNCHER = """#!/bin/sh
# STAND-IN for pulumi-resource-{name}, for the aidbox-secrets end-to-end run ONLY (never a real
# deploy): the real provider cannot be built on this machine. It cannot show the real
# provider's own bugs and edge cases. See {readme}.
exec {python} {package} {name} "$@"
"""


def sdk_version(name: str) -> str:
    """The version in the installed SDK's pulumi-plugin.json."""
    plugin = importlib.resources.files(SDK_PACKAGES[name]) / "pulumi-plugin.json"
    return json.loads(plugin.read_text())["version"]


def plugin(name: str) -> Plugin:
    if name == "random":
        from .random_provider import PLUGIN
    elif name == "tls":
        from .tls_provider import PLUGIN
    elif name == "vault":
        from .vault_provider import PLUGIN
    else:
        raise SystemExit(f"no stand-in named {name!r}: one of {', '.join(SDK_PACKAGES)}")
    return PLUGIN


def write_launchers(bin_dir: Path) -> None:
    """Write the three executables into `bin_dir`, each running this interpreter on the
    stand-in; put `bin_dir` first on the e2e's PATH."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in SDK_PACKAGES:
        path = bin_dir / f"pulumi-resource-{name}"
        path.write_text(
            LAUNCHER.format(
                name=name,
                readme=HERE / "README.md",
                python=shlex.quote(sys.executable),
                package=shlex.quote(str(HERE)),
            )
        )
        path.chmod(0o755)


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit("usage: standins {random,tls,vault} [ENGINE_ADDRESS...]")
    serve(plugin(argv[0]), sdk_version(argv[0]))
