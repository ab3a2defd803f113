"""Typed, strict reads from stack config: errors name the key, the value and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

import pulumi

NAMESPACE = "aidbox-secrets"


class SettingsError(pulumi.RunError):
    """Bad stack config. A RunError, so Pulumi prints the message without a traceback."""


@dataclass(frozen=True)
class Sensitive:
    """A secret config value: never shown by repr, turned into a secret Output where used."""

    value: str = field(repr=False)

    def output(self) -> pulumi.Output[str]:
        return pulumi.Output.secret(self.value)


def fail(key: str, value: Any, allowed: str) -> NoReturn:
    shown = "(secret)" if isinstance(value, Sensitive) else repr(value)
    raise SettingsError(f"{NAMESPACE}:{key} = {shown} is not valid: {allowed}")


@dataclass(frozen=True)
class Section:
    """One config object (or the top level, path ""), read key by key."""

    path: str
    data: Mapping[str, Any]
    secret: bool = False
    # Top-level keys Pulumi holds as secrets: errors under them never show the value, even
    # where the section is read as plain config (e.g. a misspelt key set with --secret).
    secret_keys: frozenset[str] = frozenset()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def fail(self, name: str, value: Any, allowed: str) -> NoReturn:
        """`fail` for a key of this section. Under a top-level key Pulumi holds as secret every
        value is shown as (secret): Pulumi marks the whole key, not which leaf is secret."""
        top = self.key(name).split(".")[0]
        hidden = top in self.secret_keys or (self.secret and not self.secret_keys)
        if hidden and value is not None and not isinstance(value, Sensitive):
            value = Sensitive(str(value))
        fail(self.key(name), value, allowed)

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def reject_unknown(self, known: Iterable[str]) -> None:
        known = set(known)
        for name in self.data:
            if name not in known:
                self.fail(name, self.data[name], f"unknown key; known keys: {sorted(known)}")

    def section(self, name: str) -> Section:
        value = self.data.get(name)
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            self.fail(name, value, "expected an object")
        return Section(self.key(name), value, self.secret, self.secret_keys)

    def string(
        self, name: str, default: str | None = None, *, choices: Iterable[str] | None = None
    ) -> str | None:
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, str) or not value:
            self.fail(name, value, "expected a non-empty string (quote numbers in YAML)")
        if choices is not None and value not in choices:
            self.fail(name, value, f"expected one of {list(choices)}")
        return value

    def required_string(self, name: str, why: str) -> str:
        value = self.string(name)
        if value is None:
            self.fail(name, None, f"required {why}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.fail(name, value, "expected true or false")

    def integer(self, name: str, default: int, *, minimum: int, maximum: int) -> int:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, value, f"expected a whole number from {minimum} to {maximum}")
        if not minimum <= value <= maximum:
            self.fail(name, value, f"expected a whole number from {minimum} to {maximum}")
        return value

    def string_list(self, name: str) -> tuple[str, ...]:
        value = self.data.get(name)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(name, value, "expected a list of non-empty strings")
        return tuple(value)

    def sensitive(self, name: str) -> Sensitive | None:
        """A value that must have been set with `pulumi config set --secret`."""
        value = self.data.get(name)
        if value is None:
            return None
        if not self.secret:
            top = self.key(name).split(".")[0]
            raise SettingsError(
                f"{NAMESPACE}:{self.key(name)} is stored in plain text: set it with "
                f"`pulumi config set --secret --path '{self.key(name)}' <value>` "
                f"(the stack file must show `secure:` under {NAMESPACE}:{top})"
            )
        if not isinstance(value, str) or not value:
            self.fail(name, Sensitive(str(value)), "expected a non-empty string")
        return Sensitive(value)
