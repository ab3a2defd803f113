"""Aidbox's container command: a POSIX shell script that exports the settings Aidbox reads only
from environment variables (signing keys, database password, license, admin password, root
client secret) from the files the secret store mounts, then runs the image's own entrypoint.
Pure: the program renders it, the tests run it with real shells (dash, BusyBox ash).

Why a script: Aidbox has no file form of these settings (HealthSamurai/documentation
docs/reference/all-settings.md: each "Set via: Environment variables", no `_FILE` variant), and
an env var from a Kubernetes Secret puts the value in etcd and needs the CSI driver to mirror it
(with create/update/delete on every Secret in the cluster). The script changes nothing else:
the Deployment's env passes through, and it ends in `exec /aidbox.sh` with no arguments, which
is how the image starts Aidbox: Health Samurai's Dockerfile for running Aidbox on another Java
(docs/tutorials/other-tutorials/how-to-run-aidbox-using-different-java.md) copies `/aidbox.sh`
from the image and sets `ENTRYPOINT ["/aidbox.sh"]` with no CMD, and their init-bundle example
(Aidbox/examples aidbox-features/init-bundle-env-template/docker-compose.yaml) overrides the
entrypoint with `/bin/sh -c '...; /aidbox.sh'` the same way.

Shell builtins only (read, case, printf, export, exec): nothing is assumed of the image beyond
/bin/sh. Errors name the file, never a value."""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from ..key_bundle import SECRET_BEGIN, SECRET_END

SHELL = "/bin/sh"
IMAGE_ENTRYPOINT = "/aidbox.sh"
KEY_ENV = (
    "BOX_SECURITY_AUTH_KEYS_PRIVATE",
    "BOX_SECURITY_AUTH_KEYS_PUBLIC",
    "BOX_SECURITY_AUTH_KEYS_SECRET",
)

# The variables are the script's own (underscored, lower case: no Aidbox setting is named so)
# and are not exported, so only the settings reach Aidbox.
_FUNCTIONS = rf"""set -eu
_nl='
'
_cr=$(printf '\r')
_fail() {{ printf 'aidbox start: %s\n' "$1" >&2; exit 1; }}
_readable() {{
  [ -r "$1" ] || _fail "cannot read $1 (is the store's volume mounted, holding it?)"
}}
# _read FILE: its content, without trailing newlines, in _value.
_read() {{
  _readable "$1"
  _value=
  while IFS= read -r _line || [ -n "$_line" ]; do
    _value="$_value${{_line%"$_cr"}}$_nl"
  done < "$1"
  while [ "${{_value%"$_nl"}}" != "$_value" ]; do _value=${{_value%"$_nl"}}; done
}}
# _keys FILE: the key bundle's private key, public key and HS256 secret (key_bundle.py).
_keys() {{
  _readable "$1"
  _private= _public= _secret= _block=
  while IFS= read -r _line || [ -n "$_line" ]; do
    _line=${{_line%"$_cr"}}
    case $_line in
      '-----BEGIN PUBLIC KEY-----') _block=public ;;
      '{SECRET_BEGIN}') _block=secret; continue ;;
      '{SECRET_END}') _block=; continue ;;
      '-----BEGIN '*'PRIVATE KEY-----') _block=private ;;
    esac
    case $_block in
      private) _private="$_private$_line$_nl" ;;
      public) _public="$_public$_line$_nl" ;;
      secret) _secret="$_secret$_line" ;;
    esac
    case $_line in '-----END '*) _block= ;; esac
  done < "$1"
  [ -n "$_private" ] || _fail "$1 has no private key (docs/operations.md, 'Rotate')"
  [ -n "$_public" ] || _fail "$1 has no public key (docs/operations.md, 'Rotate')"
  [ -n "$_secret" ] || _fail "$1 has no HS256 secret (docs/operations.md, 'Rotate')"
}}
"""


def start_script(
    *,
    files: Mapping[str, str],
    key_bundle: str | None,
    entrypoint: str = IMAGE_ENTRYPOINT,
) -> str:
    """`files`: env var -> the mounted file it is read from; `key_bundle`: the mounted key
    bundle, split into KEY_ENV."""
    lines = [_FUNCTIONS.rstrip("\n")]
    if key_bundle is not None:
        lines.append(f"_keys {shlex.quote(key_bundle)}")
        parts = ('_private%"$_nl"', '_public%"$_nl"', "_secret")
        for name, part in zip(KEY_ENV, parts, strict=True):
            lines.append(f'export {name}="${{{part}}}"')
    for name in sorted(files):
        if not name.isidentifier() or not name.isupper():
            raise ValueError(f"not an env var name: {name!r}")
        lines.append(f"_read {shlex.quote(files[name])}")
        lines.append(f'export {name}="$_value"')
    quoted = shlex.quote(entrypoint)
    missing = f"{entrypoint} is not in this image: it is not Aidbox's"
    lines.append(f"[ -x {quoted} ] || _fail {shlex.quote(missing)}")
    lines.append(f"exec {quoted}")
    return "\n".join(lines) + "\n"


def start_command(
    *, files: Mapping[str, str], key_bundle: str | None, entrypoint: str = IMAGE_ENTRYPOINT
) -> list[str]:
    """The container's `command` (it replaces the image's entrypoint; no `args`)."""
    return [SHELL, "-c", start_script(files=files, key_bundle=key_bundle, entrypoint=entrypoint)]
