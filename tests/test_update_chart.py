"""scripts/update_chart.py against a chart repository served on loopback, in a copy of the repo."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import shutil
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from harness import ROOT

from components import versions

CHART = versions.CSI_DRIVER


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(a copy of the project, the directory a loopback chart repository serves)."""
    project = tmp_path / "project"
    for part in ("components", "charts", "scripts"):
        shutil.copytree(ROOT / part, project / part)
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    source = project / "components" / "versions.py"
    url = f"http://127.0.0.1:{server.server_address[1]}/charts"
    source.write_text(source.read_text().replace(CHART.repo, url))
    try:
        yield project, served
    finally:
        server.shutdown()


def _publish(served: Path, version: str, archive: bytes, digest: str | None = None) -> None:
    (served / "charts").mkdir(exist_ok=True)
    (served / "charts" / f"{CHART.name}-{version}.tgz").write_bytes(archive)
    entry = {
        "name": CHART.name,
        "version": version,
        "urls": [f"{CHART.name}-{version}.tgz"],
        "digest": digest or hashlib.sha256(archive).hexdigest(),
    }
    index = {"apiVersion": "v1", "entries": {CHART.name: [entry]}}
    (served / "charts" / "index.yaml").write_text(yaml.safe_dump(index))


def _update(project: Path, version: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "scripts/update_chart.py", CHART.name, version],
        cwd=project,
        capture_output=True,
        text=True,
    )


def _renumbered(version: str) -> bytes:
    """The vendored archive with its Chart.yaml saying `version`."""
    out = io.BytesIO()
    with (
        tarfile.open(ROOT / CHART.archive) as source,
        tarfile.open(fileobj=out, mode="w:gz") as target,
    ):
        for member in source.getmembers():
            data = source.extractfile(member)
            content = data.read() if data else b""
            if member.name == f"{CHART.name}/Chart.yaml":
                meta = yaml.safe_load(content) | {"version": version}
                content = yaml.safe_dump(meta).encode()
                member.size = len(content)
            target.addfile(member, io.BytesIO(content))
    return out.getvalue()


def test_rewrites_archive_lock_and_version(repo: tuple[Path, Path]) -> None:
    project, served = repo
    archive = _renumbered("1.6.1")
    _publish(served, "1.6.1", archive)

    result = _update(project, "1.6.1")

    assert result.returncode == 0, result.stderr
    assert not (project / CHART.archive).exists(), "the old archive stays behind"
    assert (project / "charts" / f"{CHART.name}-1.6.1.tgz").read_bytes() == archive
    text = (project / "charts" / "lock.yaml").read_text()
    entry = next(e for e in yaml.safe_load(text)["charts"] if e["name"] == CHART.name)
    assert entry["sha256"] == hashlib.sha256(archive).hexdigest()
    assert (entry["version"], entry["archive"]) == ("1.6.1", f"{CHART.name}-1.6.1.tgz")
    assert text.startswith("# The Helm charts"), "the lock file's header comment is lost"
    source = (project / "components" / "versions.py").read_text()
    assert f'name="{CHART.name}",\n    version="1.6.1"' in source


def test_refuses_an_archive_whose_digest_differs_from_the_index(repo: tuple[Path, Path]) -> None:
    project, served = repo
    _publish(served, CHART.version, (ROOT / CHART.archive).read_bytes(), digest="0" * 64)
    result = _update(project, CHART.version)
    assert result.returncode != 0 and "differs from the index digest" in result.stderr
    assert (project / CHART.archive).read_bytes() == (ROOT / CHART.archive).read_bytes()


def test_refuses_an_archive_that_is_another_version(repo: tuple[Path, Path]) -> None:
    project, served = repo
    _publish(served, "9.9.9", (ROOT / CHART.archive).read_bytes())
    result = _update(project, "9.9.9")
    assert result.returncode != 0 and f"holds {CHART.name} {CHART.version}" in result.stderr
