"""The engine run's Pulumi project and stack.

The program is copied into a work folder, as a user's checkout would hold it, with a file
backend and a passphrase beside it. The real Pulumi CLI, the real Kubernetes provider and the
stand-ins for random, tls and vault (scripts/e2e/standins: those three cannot be built here)
are first on PATH. Runs with the program go through the Automation API's inline programs (the
language runtime served from this process: no Python language host is built); runs without it
(`refresh` and `destroy` as CI runs them) start the plain CLI in a fresh process.

Pods never run (no kubelet). The one adaptation to that, made here and not in the program: a
resource transform that tells the Kubernetes provider not to await workloads and Helm not to
wait or run hooks (a hook Job never finishes without a node)."""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi import automation as auto

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "aidbox-secrets"
STACK = "e2e"
PASSPHRASE = "e2e-throwaway-passphrase"  # guards a state that lives for one run
# What a user's checkout holds of the program (tests, scripts and docs are not needed to run it).
PROGRAM_FILES = ("Pulumi.yaml", "__main__.py", "components", "charts")
# Kinds whose readiness needs a kubelet (or a controller this API server does not run).
AWAITED_KINDS = frozenset(
    {
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:apps/v1:DaemonSet",
        "kubernetes:core/v1:Service",
        "kubernetes:core/v1:Pod",
        "kubernetes:core/v1:PersistentVolumeClaim",
        "kubernetes:batch/v1:Job",
        "kubernetes:networking.k8s.io/v1:Ingress",
    }
)
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def no_kubelet(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """The e2e's only change to what the program declares: nothing waits for pods."""
    props: dict[str, Any] = dict(args.props)
    if args.type_ == HELM_RELEASE:
        # `atomic` implies Helm's wait (its install action sets Wait when Atomic).
        props.update(skipAwait=True, disableWebhooks=True, atomic=False)
    elif args.type_ in AWAITED_KINDS:
        metadata = dict(props.get("metadata") or {})
        metadata["annotations"] = {
            **(metadata.get("annotations") or {}),
            "pulumi.com/skipAwait": "true",
        }
        props["metadata"] = metadata
    else:
        return None
    return pulumi.ResourceTransformResult(props=props, opts=args.opts)


class E2eStack:
    """The `e2e` stack of a copy of the program in `work/project`, state in `work/state`."""

    def __init__(self, work: Path, tools: Mapping[str, Path], standins: Path) -> None:
        self.project = work / "project"
        self.state = work / "state"
        self.home = work / "pulumi-home"
        self.tmp_root = work / "tmp"
        for folder in (self.state, self.home, self.tmp_root):
            folder.mkdir(parents=True, exist_ok=True)
        self.copy_program(ROOT)
        path = [str(standins), *(str(p.parent) for p in tools.values()), os.environ["PATH"]]
        self.env = {
            "PATH": os.pathsep.join(dict.fromkeys(path)),
            "PULUMI_HOME": str(self.home),
            "PULUMI_BACKEND_URL": f"file://{self.state}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
        }
        os.environ.update(self.env)
        self.new_tmp()
        self.stack = auto.create_or_select_stack(
            stack_name=STACK,
            project_name=PROJECT,
            program=self._program,
            opts=auto.LocalWorkspaceOptions(work_dir=str(self.project), env_vars=self.env),
        )

    def copy_program(self, source: Path) -> None:
        self.project.mkdir(parents=True, exist_ok=True)
        for name in PROGRAM_FILES:
            src, dst = source / name, self.project / name
            if src.is_dir():
                shutil.rmtree(dst, ignore_errors=True)
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(src, dst)

    def new_tmp(self) -> Path:
        """A temporary folder of its own for what runs next (the program, the CLI, plugins),
        as a new CI job or a new machine has; the previous one is removed."""
        if hasattr(self, "tmp"):
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp = Path(tempfile.mkdtemp(dir=self.tmp_root))
        os.environ["TMPDIR"] = str(self.tmp)
        tempfile.tempdir = str(self.tmp)  # Python caches gettempdir()
        return self.tmp

    def _program(self) -> None:
        os.chdir(self.project)
        if str(self.project) not in sys.path:
            sys.path.insert(0, str(self.project))
        pulumi.runtime.register_resource_transform(no_kubelet)
        runpy.run_path(str(self.project / "__main__.py"), run_name="__main__")

    def configure(self, config: Mapping[str, auto.ConfigValue]) -> None:
        """Replaces the stack's config with `config` (keys as `--path` takes them)."""
        current = self.stack.get_all_config()
        stale = [key for key in current if key.split(":", 1)[0] == PROJECT]
        if stale:
            self.stack.remove_all_config(stale)
        self.stack.set_all_config(dict(config), path=True)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The plain CLI in a fresh process, in the checkout, without the program (`refresh`
        and `destroy` configure each provider from the state, as CI runs them)."""
        env = {**os.environ, **self.env, "TMPDIR": str(self.tmp)}
        return subprocess.run(
            ["pulumi", *args, "--stack", STACK, "--non-interactive", "--color", "never"],
            cwd=self.project,
            env=env,
            capture_output=True,
            text=True,
        )

    def export(self) -> dict[str, Any]:
        return self.stack.export_stack().deployment or {}
