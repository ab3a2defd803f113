"""Egress on production (issue 21): what leaves the cluster is filtered. A stack rule: the AKS
cluster's `networkProfile.outboundType` is judged with the NetworkPolicies beside it.

`userDefinedRouting` sends the nodes' egress to a firewall (the program's or a hub's), which
allows only named destinations. The load balancer's outbound (`loadBalancer`, the default when
unset) filters nothing: then the NetworkPolicies must close egress, a default-deny for egress in
the namespace and no rule open to the internet (an ipBlock wider than a /16, or a rule with no
destination). The same line as the settings (components/settings/egress.py)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from ..common import (
    MANAGED_CLUSTER_TYPE,
    Check,
    is_list,
    is_unknown,
    production_reason,
    show,
    stack_resource_check,
)

NETWORK_POLICY_TYPE = re.compile(r"^kubernetes:networking\.k8s\.io/v1:NetworkPolicy$")
FILTERED_OUTBOUND = ("userDefinedRouting",)
NARROW_PREFIX = 16


def _is_default_deny_egress(check: Check, spec: Any) -> bool:
    selector = check.get(spec, "podSelector", default={})
    types = check.get(spec, "policyTypes", default=[])
    rules = check.get(spec, "egress", default=[])
    if any(is_unknown(v) for v in (selector, types, rules)):
        return False
    selects_all = not check.get(selector, "matchLabels") and not check.get(
        selector, "matchExpressions"
    )
    return selects_all and is_list(types) and "Egress" in types and not rules


def _open_egress(check: Check, spec: Any) -> list[str]:
    """Egress rules of one policy that reach the internet at large."""
    found = []
    for index, rule in check.elements(spec, "egress"):
        if is_unknown(rule):
            check.undecided(rule)
            continue
        peers = check.get(rule, "to")
        if is_unknown(peers):
            check.undecided(peers)
        elif not peers:
            found.append(f"egress[{index}] (no destination: everywhere)")
            continue
        for peer_index, peer in check.elements(rule, "to"):
            cidr = check.get(peer, "ipBlock", "cidr")
            if is_unknown(cidr):
                check.undecided(cidr)
            elif isinstance(cidr, str):
                try:
                    net = ipaddress.ip_network(cidr, strict=False)
                except ValueError:
                    continue
                if net.prefixlen < NARROW_PREFIX:
                    found.append(f"egress[{index}].to[{peer_index}] {cidr}")
    return found


def validate_aks_egress_filtered(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    clusters: list[tuple[Check, str]] = []
    for resource in args.resources:
        if MANAGED_CLUSTER_TYPE.match(resource.resource_type):
            check = stack_resource_check(args, resource, report_violation)
            reason = production_reason(check)
            if reason:
                clusters.append((check, reason))
    if not clusters:
        return
    policies = [r for r in args.resources if NETWORK_POLICY_TYPE.match(r.resource_type)]
    for check, reason in clusters:
        outbound = check.get(check.args.props, "networkProfile", "outboundType")
        if is_unknown(outbound):
            check.undecided(outbound)
        elif outbound not in FILTERED_OUTBOUND:
            problems = _network_policy_problems(check, policies)
            if problems:
                check.violation(
                    f"networkProfile.outboundType is {show(outbound or 'loadBalancer')} on a "
                    f"production cluster ({reason}), so nothing filters what leaves it, and "
                    f"{'; '.join(problems)}. Send egress through a firewall "
                    "(userDefinedRouting: network.egress.mode firewall or hubFirewall), or "
                    f"close egress to ranges of /{NARROW_PREFIX} or smaller"
                )
        check.finish()


def _network_policy_problems(check: Check, policies: list[PolicyResource]) -> list[str]:
    problems = []
    denied = False
    for policy in policies:
        spec = check.get(policy.props, "spec")
        if is_unknown(spec):
            check.undecided(spec)
            continue
        denied = denied or _is_default_deny_egress(check, spec)
        name = check.get(policy.props, "metadata", "name", default=policy.name)
        for opening in _open_egress(check, spec):
            problems.append(f"NetworkPolicy {show(name)} opens {opening}")
    if not denied:
        problems.insert(0, "no NetworkPolicy denies egress by default")
    return problems
