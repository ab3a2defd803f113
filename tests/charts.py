"""The vendored Helm charts (charts/ and charts/lock.yaml), and real Helm to render them.

Helm is looked up as $HELM, then in the cache `scripts/tools.sh` builds into, then on PATH. It
must be Helm 3 (pulumi-kubernetes 4.x embeds helm.sh/helm/v3). A missing Helm fails the test
that needs it with the instruction to get it, never a skip.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from components import versions

ROOT = Path(__file__).resolve().parent.parent
CHARTS = ROOT / versions.CHARTS_DIR
LOCK = CHARTS / "lock.yaml"
HELM_VERSION = "v3.20.2"
GET_HELM = (
    "run `bash scripts/tools.sh` (builds Helm "
    f"{HELM_VERSION} with Go into ~/.cache/aidbox-secrets/tools), put Helm 3 on PATH, or set "
    "HELM=/path/to/helm"
)


@functools.cache
def lock() -> dict[str, dict[str, Any]]:
    """charts/lock.yaml entries by chart name."""
    return {entry["name"]: entry for entry in yaml.safe_load(LOCK.read_text())["charts"]}


def archive_path(chart: versions.Chart) -> Path:
    return ROOT / chart.archive


def by_archive(path: str) -> versions.Chart | None:
    """The pinned chart a Helm Release's `chart` input names, if any."""
    return next((c for c in versions.CHARTS if c.archive == path), None)


@functools.cache
def chart_file(chart: versions.Chart, name: str) -> bytes | None:
    """A file of the vendored archive, by its path inside the chart directory."""
    with tarfile.open(archive_path(chart)) as archive:
        try:
            member = archive.extractfile(f"{chart.name}/{name}")
        except KeyError:
            return None
        return member.read() if member else None


@functools.cache
def chart_values(chart: versions.Chart) -> dict[str, Any]:
    text = chart_file(chart, "values.yaml")
    assert text is not None, f"{chart.archive} has no values.yaml"
    return yaml.safe_load(text) or {}


@functools.cache
def spc_crd() -> dict[str, Any]:
    """The SecretProviderClass CRD, as the vendored driver chart installs it."""
    text = chart_file(
        versions.CSI_DRIVER, "crds/secrets-store.csi.x-k8s.io_secretproviderclasses.yaml"
    )
    assert text is not None, f"{versions.CSI_DRIVER.archive} has no SecretProviderClass CRD"
    return yaml.safe_load(text)


def _candidates() -> list[str]:
    tools = os.environ.get("AIDBOX_SECRETS_TOOLS") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        / "aidbox-secrets"
        / "tools"
    )
    found = [os.environ.get("HELM", ""), f"{tools}/helm-{HELM_VERSION}/helm", shutil.which("helm")]
    return [c for c in found if c and os.access(c, os.X_OK)]


@functools.cache
def helm() -> str:
    """The Helm 3 binary, or the test fails saying how to get one."""
    seen = []
    for candidate in _candidates():
        result = subprocess.run(
            [candidate, "version", "--template", "{{.Version}}"], capture_output=True, text=True
        )
        version = result.stdout.strip()
        if result.returncode == 0 and version.startswith("v3."):
            return candidate
        seen.append(f"{candidate} ({version or result.stderr.strip()[:80]})")
    pytest.fail(
        f"Helm 3 not found{' (found only ' + ', '.join(seen) + ')' if seen else ''}: {GET_HELM}",
        pytrace=False,
    )


@dataclass(frozen=True)
class Rendered:
    objects: tuple[dict[str, Any], ...]

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o.get("kind") == kind]

    def named(self, kind: str, name: str) -> dict[str, Any] | None:
        return next((o for o in self.kinds(kind) if o["metadata"]["name"] == name), None)


# Each `helm template` is a short process: without Go's garbage collector it needs a quarter less
# CPU (tens of MB more memory, freed at exit), and the suite runs many.
_HELM_ENV = {**os.environ, "GOGC": "off"}


@functools.cache
def _template(archive: str, release: str, namespace: str, values: str, kube: str) -> Rendered:
    result = subprocess.run(
        [
            helm(),
            "template",
            release,
            str(ROOT / archive),
            "--namespace",
            namespace,
            "--kube-version",
            kube,
            "--include-crds",
            "--values",
            "-",
        ],
        input=values,
        capture_output=True,
        text=True,
        env=_HELM_ENV,
    )
    if result.returncode:
        pytest.fail(f"helm template {archive} failed:\n{result.stderr}", pytrace=False)
    documents = yaml.load_all(result.stdout, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return Rendered(tuple(d for d in documents if d))


def template(
    chart: versions.Chart, release: str, namespace: str, values: dict[str, Any], kube: str
) -> Rendered:
    """`helm template` of the vendored archive with exactly these values (cached)."""
    return _template(chart.archive, release, namespace, json.dumps(values, sort_keys=True), kube)
