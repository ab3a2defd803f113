"""The policy pack's Aidbox rules for production (issue 19): no development switch, and a
public HTTPS address users reach. Each with a passing and a failing case."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from test_policy import DEPLOYMENT, aidbox, only, rules, run, workload

from components.settings.aidbox_env import DEV_MODE_ENV

PROD = {"production": True}


def with_env(*entries: dict[str, Any]) -> dict[str, Any]:
    props = workload()
    aidbox(props)["env"].extend(copy.deepcopy(list(entries)))
    return props


def test_the_pack_knows_every_development_switch_the_settings_refuse() -> None:
    assert tuple(rules.AIDBOX_DEV_MODE_ENV) == DEV_MODE_ENV


@pytest.mark.parametrize("name", DEV_MODE_ENV)
def test_production_aidbox_with_a_switch_off_or_unset_passes(name: str) -> None:
    validate = rules.validate_aidbox_no_dev_mode
    assert run(validate, DEPLOYMENT, with_env({"name": name, "value": "false"}), config=PROD) == []
    assert run(validate, DEPLOYMENT, workload(), config=PROD) == []
    # Not production: not this rule's business.
    assert run(validate, DEPLOYMENT, with_env({"name": name, "value": "true"})) == []


@pytest.mark.parametrize("name", DEV_MODE_ENV)
@pytest.mark.parametrize("value", ["true", "1", "TRUE"])
def test_production_aidbox_with_a_switch_on_is_refused(name: str, value: str) -> None:
    props = with_env({"name": name, "value": value})
    message = only(run(rules.validate_aidbox_no_dev_mode, DEPLOYMENT, props, config=PROD))
    assert f"sets {name} to something other than 'false'" in message and "production" in message
    assert f"'{value}'" not in message  # an env value is never shown


def test_production_switch_from_a_config_map_is_refused() -> None:
    ref = {"configMapKeyRef": {"name": "aidbox-debug", "key": "dev"}}
    props = with_env({"name": "AIDBOX_DEV_MODE", "valueFrom": ref})
    message = only(run(rules.validate_aidbox_no_dev_mode, DEPLOYMENT, props, config=PROD))
    assert "AIDBOX_DEV_MODE from valueFrom" in message


def test_other_images_may_use_the_names() -> None:
    props = with_env({"name": "BOX_SECURITY_DEV_MODE", "value": "true"})
    aidbox(props)["image"] = "example.org/other:1"
    assert run(rules.validate_aidbox_no_dev_mode, DEPLOYMENT, props, config=PROD) == []


# -- aidbox-public-url-production --------------------------------------------------------------


def with_base_url(url: str | None, name: str = "BOX_WEB_BASE_URL") -> dict[str, Any]:
    return with_env({"name": name, "value": url}) if url is not None else workload()


@pytest.mark.parametrize(
    "url", ["https://fhir.example.org", "https://aidbox.hospital.example:8443/fhir"]
)
def test_production_aidbox_at_a_public_https_url_passes(url: str) -> None:
    validate = rules.validate_aidbox_public_url
    assert run(validate, DEPLOYMENT, with_base_url(url), config=PROD) == []
    assert run(validate, DEPLOYMENT, with_base_url(url, "AIDBOX_BASE_URL"), config=PROD) == []
    # Not production: the in-cluster URL is fine for port-forwarding.
    local = with_base_url("http://aidbox.default.svc.cluster.local:8080")
    assert run(validate, DEPLOYMENT, local) == []


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://fhir.example.org", "is not https"),
        ("https://aidbox.default.svc.cluster.local:8080", "inside the cluster"),
        ("https://aidbox.default.svc", "inside the cluster"),
        ("https://localhost:8080", "inside the cluster"),
        ("https://10.0.0.7", "an address"),
    ],
)
def test_production_aidbox_at_an_unreachable_url_is_refused(url: str, problem: str) -> None:
    message = only(
        run(rules.validate_aidbox_public_url, DEPLOYMENT, with_base_url(url), config=PROD)
    )
    assert "BOX_WEB_BASE_URL" in message and problem in message


def test_production_aidbox_without_a_base_url_is_refused() -> None:
    message = only(run(rules.validate_aidbox_public_url, DEPLOYMENT, workload(), config=PROD))
    assert "sets no BOX_WEB_BASE_URL" in message
