"""Where a pod pulls a pinned image from: as configured, or its copy in the registry you own."""

from __future__ import annotations

import pulumi

from .. import images


def image_from(reference: str, registry: pulumi.Input[str] | None) -> pulumi.Input[str]:
    """The pinned image, or its copy under `registry` (a login server; components/images.py)."""
    if registry is None:
        return reference
    return pulumi.Output.from_input(registry).apply(lambda r: images.pull(reference, r))
