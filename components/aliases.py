"""Where a resource used to live, so moving it into another component keeps its state."""

from __future__ import annotations

import pulumi


def top_level_urn(type_: str, name: str) -> str:
    """The URN of a component registered at the stack's top level (no parent)."""
    return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{type_}::{name}"


def moved_from(parent_type: str, parent_name: str, name: str | None = None) -> pulumi.Alias:
    """An alias for a resource that was a child of that top-level component (under `name`,
    if it had another logical name)."""
    parent = top_level_urn(parent_type, parent_name)
    return pulumi.Alias(name=name, parent=parent) if name else pulumi.Alias(parent=parent)
