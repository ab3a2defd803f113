"""The vendored chart archives are the ones charts/lock.yaml and components/versions.py pin."""

from __future__ import annotations

import hashlib

import pytest
import yaml

import charts
from components import versions

IDS = [f"{c.name}-{c.version}" for c in versions.CHARTS]


def test_the_lock_lists_exactly_the_pinned_charts() -> None:
    assert set(charts.lock()) == {c.name for c in versions.CHARTS}
    archives = {p.name for p in charts.CHARTS.glob("*.tgz")}
    assert archives == {charts.archive_path(c).name for c in versions.CHARTS}, (
        "charts/ holds an archive no chart pins (or misses one): remove it or pin it"
    )


@pytest.mark.parametrize("chart", versions.CHARTS, ids=IDS)
def test_archive_matches_its_lock_entry_and_licence(chart: versions.Chart) -> None:
    entry = charts.lock()[chart.name]
    path = charts.archive_path(chart)
    assert (str(entry["version"]), entry["archive"]) == (chart.version, path.name)
    assert entry["repo"] == chart.repo
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == entry["sha256"], f"{path.name}: sha256 {digest} is not the locked one"
    meta = yaml.safe_load(charts.chart_file(chart, "Chart.yaml") or "")
    assert (meta["name"], str(meta["version"])) == (chart.name, chart.version)
    for key in ("source", "tag", "commit", "obtained"):
        assert entry.get(key), f"lock entry {chart.name} lacks {key}"
    licence = charts.CHARTS / entry["license"].split("(")[1].rstrip(")")
    assert licence.is_file() and licence.read_text().strip(), f"{licence} is missing"


def test_the_driver_chart_ships_the_secret_provider_class_crd() -> None:
    crd = charts.spc_crd()
    assert crd["spec"]["names"]["kind"] == "SecretProviderClass"
    group, version = versions.SPC_API_VERSION.split("/")
    assert crd["spec"]["group"] == group
    assert version in [v["name"] for v in crd["spec"]["versions"] if v.get("served")]
