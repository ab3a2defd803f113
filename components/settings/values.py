"""Checks shared by every section: names, images, quantities, durations. Pure."""

from __future__ import annotations

import re

from .. import naming
from .reader import Section, fail

UNPINNED_TAGS = ("latest", "edge", "stable")

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?$")
_K8S_QUANTITY = re.compile(r"^\d+(\.\d+)?(Mi|Gi|Ti|m)?$")


def duration_seconds(text: str) -> int | None:
    """Seconds in a Go duration made of h/m/s parts ("30s", "2m", "1h30m"), None if not one."""
    match = _DURATION.match(text)
    if not text or not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def image(section: Section, name: str, default: str) -> str:
    image = section.string(name, default)
    assert image is not None
    repo, _, tag = image.rpartition(":")
    if "@sha256:" in image:
        return image
    if not repo or "/" in tag or tag in UNPINNED_TAGS:
        fail(section.key(name), image, f"pin a tag or digest; not {list(UNPINNED_TAGS)}")
    return image


def quantity(section: Section, name: str, default: str) -> str:
    value = section.string(name, default)
    assert value is not None
    if not _K8S_QUANTITY.match(value):
        fail(section.key(name), value, "a Kubernetes quantity such as 500m, 2, 512Mi or 4Gi")
    return value


def k8s_name(section: Section, name: str, default: str | None) -> str:
    value = section.string(name, default)
    if value is None:
        fail(section.key(name), None, f"required: {naming.K8S_NAME_RULE}")
    if not naming.is_valid_k8s_name(value):
        fail(section.key(name), value, naming.K8S_NAME_RULE)
    return value
