"""Print the images a stack runs, one `<source> <target>` line each: the public reference to
copy and the `repository:tag` it gets in the registry you own (components/images.py).

Usage: python3 scripts/registry_images.py Pulumi.<stack>.yaml

Reads the stack file's config with the program's own settings parser. Secret values (`secure:`)
are not decrypted: no image depends on one, so each is read as a placeholder. Used by
scripts/import-images.sh.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components import images  # noqa: E402
from components.settings import SettingsError, parse_settings  # noqa: E402

PROJECT = "aidbox-secrets"
PLACEHOLDER = "(secret, not read)"


def _plain(value: Any) -> tuple[Any, bool]:
    """The value with every `{secure: ...}` leaf replaced, and whether there was one."""
    if isinstance(value, dict) and set(value) == {"secure"}:
        return PLACEHOLDER, True
    if isinstance(value, dict):
        pairs = {k: _plain(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
    if isinstance(value, list):
        items = [_plain(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def image_pairs(stack_file: Path) -> list[tuple[str, str]]:
    config = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    stack = stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")
    raw, secret = {}, set()
    for key, value in config.items():
        if key.startswith(f"{PROJECT}:"):
            name = key.removeprefix(f"{PROJECT}:")
            raw[name], hidden = _plain(value)
            if hidden:
                secret.add(name)
    if raw.get("production") is True and "aidboxLicense" not in raw:
        # Set at deploy time (CI's secret); no image depends on it.
        raw["aidboxLicense"] = PLACEHOLDER
        secret.add("aidboxLicense")
    settings = parse_settings(
        raw,
        project=PROJECT,
        stack=stack,
        location=config.get("azure-native:location"),
        secret_keys=frozenset(secret),
        registry_bootstrap=True,
    )
    if not settings.registry.owned:
        raise SettingsError(
            f"{stack_file.name}: registry.mode is {settings.registry.mode!r}: its pods pull "
            "from the images' public registries, there is nothing to import"
        )
    return [(image.source, image.target) for image in images.required_by(settings)]


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        for source, target in image_pairs(Path(sys.argv[1])):
            print(source, target)
    except (OSError, SettingsError) as error:
        print(f"scripts/registry_images.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
