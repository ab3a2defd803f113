"""Vendor a new version of a pinned chart: `python scripts/update_chart.py NAME VERSION`.

Run on a machine that reaches the chart's repository. It downloads the published archive named
by the repository's index.yaml, checks its sha256 against the index's digest and its Chart.yaml
against NAME and VERSION, replaces the archive in charts/, rewrites the chart's entry in
charts/lock.yaml and its version in components/versions.py. Then review the chart's changes
(values keys the program sets, templates), run the tests, and commit archive and lock together.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import pathlib
import re
import sys
import tarfile
import urllib.parse
import urllib.request

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components import versions  # noqa: E402

LOCK = ROOT / versions.CHARTS_DIR / "lock.yaml"


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def published(chart: versions.Chart, version: str) -> tuple[str, bytes]:
    """(archive URL, archive bytes), checked against the repository index's digest."""
    index = yaml.safe_load(fetch(f"{chart.repo.rstrip('/')}/index.yaml"))
    entries = [e for e in index["entries"].get(chart.name, []) if str(e["version"]) == version]
    if not entries:
        sys.exit(f"{chart.repo} publishes no {chart.name} {version}")
    url = urllib.parse.urljoin(f"{chart.repo.rstrip('/')}/", entries[0]["urls"][0])
    archive = fetch(url)
    digest = hashlib.sha256(archive).hexdigest()
    if digest != entries[0].get("digest"):
        sys.exit(f"{url}: sha256 {digest} differs from the index digest {entries[0].get('digest')}")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile(f"{chart.name}/Chart.yaml")
        meta = yaml.safe_load(member.read() if member else b"")
    if (meta.get("name"), str(meta.get("version"))) != (chart.name, version):
        sys.exit(f"{url} holds {meta.get('name')} {meta.get('version')}")
    return url, archive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=[c.name for c in versions.CHARTS])
    parser.add_argument("version")
    parser.add_argument("--tag", help="the upstream source tag (default: v<version>)")
    parser.add_argument("--commit", default="(not recorded)", help="the tag's commit")
    args = parser.parse_args()
    chart = next(c for c in versions.CHARTS if c.name == args.name)
    url, archive = published(chart, args.version)

    new_name = f"{chart.name}-{args.version}.tgz"
    (ROOT / chart.archive).unlink(missing_ok=True)
    (ROOT / versions.CHARTS_DIR / new_name).write_bytes(archive)

    text = LOCK.read_text()
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    lock = yaml.safe_load(text)
    entry = next(e for e in lock["charts"] if e["name"] == chart.name)
    entry |= {
        "version": args.version,
        "tag": args.tag or f"v{args.version}",
        "commit": args.commit,
        "archive": new_name,
        "sha256": hashlib.sha256(archive).hexdigest(),
        "obtained": f"the published archive {url}; its sha256 equals the index.yaml digest",
    }
    LOCK.write_text(header + yaml.safe_dump(lock, sort_keys=False, width=96))

    source = ROOT / "components" / "versions.py"
    pattern = re.compile(rf'(name="{re.escape(chart.name)}",\s*version=")[^"]+(")')
    updated, count = pattern.subn(rf"\g<1>{args.version}\g<2>", source.read_text())
    if count != 1:
        sys.exit(f"components/versions.py: could not find the version of {chart.name}")
    source.write_text(updated)
    print(
        f"{chart.name} {chart.version} -> {args.version}: charts/{new_name}, charts/lock.yaml, "
        "components/versions.py updated. Now check the values keys in versions.py against the "
        "new values.yaml and run the tests."
    )


if __name__ == "__main__":
    main()
