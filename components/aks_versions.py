"""The Kubernetes minors AKS offers, when each became generally available on AKS and when AKS
stops supporting it: the clock production's `cluster.kubernetesVersion` is checked against.

Source: the AKS Kubernetes release calendar, "Supported Kubernetes versions in Azure Kubernetes
Service", https://learn.microsoft.com/azure/aks/supported-kubernetes-versions (the page's
source, MicrosoftDocs/azure-aks-docs articles/aks/supported-kubernetes-versions.md, revision of
2026-08-21), with the AKS release notes (github.com/Azure/AKS CHANGELOG.md: 1.36 GA in the
2026-06-19 release; 1.37 "expected to be available in October 2026", the calendar's GA month).
A month without a day means its last day, as the calendar's note says. End of support is the
calendar's "End of life" (community support); the paid long-term support plan (Premium tier)
runs a year longer and is not assumed here. Checked on CHECKED: on a later date, check the
calendar again, add the new minors and move DEFAULT_MINOR to the newest GA one.

No imports beyond the standard library: the policy pack (policy/rules/azure/aks.py) loads this
file by path, so the program and the pack judge versions by the same table.
"""

from __future__ import annotations

from datetime import date

CHECKED = date(2026, 12, 2)
SOURCE = "https://learn.microsoft.com/azure/aks/supported-kubernetes-versions"
# minor -> (AKS GA, end of support)
CALENDAR: dict[str, tuple[date, date]] = {
    "1.33": (date(2025, 6, 30), date(2026, 7, 31)),
    "1.34": (date(2025, 11, 30), date(2026, 11, 30)),
    "1.35": (date(2026, 3, 31), date(2027, 3, 31)),
    "1.36": (date(2026, 6, 30), date(2027, 6, 30)),
    "1.37": (date(2026, 10, 31), date(2027, 10, 31)),
}
# The newest minor generally available on CHECKED: the longest support window.
DEFAULT_MINOR = "1.37"
# Production refuses a minor this close to its end of support: an upgrade needs planning (AKS
# upgrades one minor at a time) and a quarter is what the calendar announces ahead.
NOTICE_DAYS = 90


def minor_of(version: str) -> str:
    """'1.37' or '1.37.2' -> '1.37'."""
    return ".".join(version.split(".")[:2])


def end_of_support(version: str) -> date | None:
    found = CALENDAR.get(minor_of(version))
    return found[1] if found else None


def production_problem(version: str, today: date) -> str | None:
    """Why production may not run `version` on `today`, or None."""
    minor = minor_of(version)
    end = end_of_support(minor)
    if end is None:
        known = ", ".join(sorted(CALENDAR, key=lambda m: tuple(map(int, m.split(".")))))
        return (
            f"a minor in the AKS release calendar this program knows ({known}; "
            f"components/aks_versions.py, checked {CHECKED.isoformat()} against {SOURCE}): "
            "add a newer one there once AKS has it generally available"
        )
    left = (end - today).days
    if left < NOTICE_DAYS:
        when = "ended" if left < 0 else "ends"
        return (
            f"AKS support for {minor} {when} on {end.isoformat()} ({left} days from "
            f"{today.isoformat()}); production needs at least {NOTICE_DAYS} days left: upgrade "
            f"one minor at a time towards {DEFAULT_MINOR} (ends {CALENDAR[DEFAULT_MINOR][1]})"
        )
    return None
