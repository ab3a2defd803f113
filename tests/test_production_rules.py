"""Every production rule refuses on its own: a production stack that meets all rules but one is
refused, naming that rule's key. One case per rule, so dropping any rule turns a test red."""

from __future__ import annotations

from typing import Any

import pytest

from components.settings import SettingsError, parse_settings

SECRETS = {"client-secret": {"scope": "Client/basic"}}
SP = {
    "identity": "servicePrincipal",
    "clientId": "11111111-2222-3333-4444-555555555555",  # ids are GUIDs
    "clientSecret": "s",
    "objectId": "66666666-7777-8888-9999-000000000000",
}
EXTERNAL = {"mode": "external", "address": "https://vault.example:8200", "token": "t"}
COMPLIANT: dict[str, dict[str, Any]] = {
    "azure": {
        "production": True,
        "secretStore": "azure",
        "secrets": SECRETS,
        "aidboxLicense": "license",
        "aidbox": {"replicas": 2},
        "azure": {"identity": "workload"},
    },
    "vault": {
        "production": True,
        "secretStore": "vault",
        "secrets": SECRETS,
        "aidboxLicense": "license",
        "aidbox": {"replicas": 2},
        "vault": EXTERNAL,
    },
}
SECRET_KEYS = frozenset({"aidboxLicense", "azure", "vault"})
# rule -> (store, keys to change (None removes), key the refusal names)
BROKEN: dict[str, tuple[str, dict[str, Any], str]] = {
    "one Aidbox replica": ("azure", {"aidbox": {"replicas": 1}}, "aidbox.replicas"),
    "no license": ("azure", {"aidboxLicense": None}, "aidboxLicense"),
    "purge protection off": (
        "azure",
        {"keyVault": {"purgeProtection": False}},
        "keyVault.purgeProtection",
    ),
    "service principal credentials": ("azure", {"azure": SP}, "azure.identity"),
    "vault dev mode": (
        "vault",
        {"vault": {"mode": "dev"}},
        "vault.mode",
    ),
}


def parse(raw: dict[str, Any]) -> Any:
    return parse_settings(
        {k: v for k, v in raw.items() if v is not None},
        project="aidbox-secrets",
        stack="prod",
        secret_keys=SECRET_KEYS,
    )


@pytest.mark.parametrize("store", COMPLIANT)
def test_a_compliant_production_stack_is_accepted(store: str) -> None:
    assert parse(COMPLIANT[store]).production


@pytest.mark.parametrize(("store", "change", "key"), BROKEN.values(), ids=BROKEN.keys())
def test_each_production_rule_refuses_on_its_own(store: str, change: dict, key: str) -> None:
    raw = {**COMPLIANT[store], **change}
    with pytest.raises(SettingsError) as error:
        parse(raw)
    assert str(error.value).startswith(f"aidbox-secrets:{key} = "), str(error.value)
    # The same change without `production` is accepted: it is the production rule that refused.
    assert not parse({**raw, "production": False}).production
