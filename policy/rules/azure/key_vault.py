"""Key Vault: Azure RBAC and soft delete always; purge protection and a closed network on
production."""

from __future__ import annotations

import re

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ..common import AZURE_NATIVE_TYPE, Check, is_unknown, production_check, show

KEY_VAULT_TYPE = re.compile(AZURE_NATIVE_TYPE.format(module="keyvault", name="Vault"))


def validate_key_vault_rbac_soft_delete(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if not KEY_VAULT_TYPE.match(args.resource_type):
        return
    check = Check(args, report_violation)
    properties = check.get(args.props, "properties")
    if is_unknown(properties):
        check.undecided(properties)
        check.finish()
        return
    rbac = check.get(properties, "enableRbacAuthorization")
    check.expect(
        rbac,
        True,
        f"properties.enableRbacAuthorization is {show(rbac)}; it must be true "
        "(access policies are not allowed: grant Azure RBAC roles on the vault instead)",
    )
    soft_delete = check.get(properties, "enableSoftDelete")
    if is_unknown(soft_delete):
        check.undecided(soft_delete)
    elif soft_delete is False:
        check.violation(
            "properties.enableSoftDelete is false; it must be true (or left unset: "
            "Azure turns it on)"
        )
    check.finish()


def validate_key_vault_purge_protection(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    found = production_check(args, report_violation, KEY_VAULT_TYPE)
    if not found:
        return
    check, reason = found
    purge = check.get(args.props, "properties", "enablePurgeProtection")
    check.expect(
        purge,
        True,
        f"properties.enablePurgeProtection is {show(purge)} on a production stack "
        f"({reason}); it must be true so deleted secrets cannot be purged before the "
        "retention period ends",
    )
    check.finish()


def validate_key_vault_network(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    found = production_check(args, report_violation, KEY_VAULT_TYPE)
    if not found:
        return
    check, reason = found
    action = check.get(args.props, "properties", "networkAcls", "defaultAction")
    if is_unknown(action):
        check.undecided(action)
    elif action != "Deny":
        check.violation(
            f"properties.networkAcls.defaultAction is {show(action)} on production ({reason}); "
            "it must be Deny, with the cluster's path in (private endpoint or subnet rule)"
        )
    for index, rule in check.elements(args.props, "properties", "networkAcls", "ipRules"):
        value = check.get(rule, "value")
        if is_unknown(value):
            check.undecided(value)
        elif value in ("0.0.0.0/0", "0.0.0.0"):
            check.violation(
                f"properties.networkAcls.ipRules[{index}] is {show(value)} on production "
                f"({reason}); it opens the vault to every network"
            )
    check.finish()
