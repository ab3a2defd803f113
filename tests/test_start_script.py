"""Aidbox's start script (components/aidbox/start.py) and the key bundle it splits
(components/key_bundle.py), run by real shells: dash and BusyBox ash, the /bin/sh of Debian and
of Alpine. Pure functions in, real processes out; no mocks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import shells
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from components import key_bundle
from components.aidbox import start

KEYS = start.KEY_ENV


def _pkcs1_rsa() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _pem(key, serialization.PrivateFormat.TraditionalOpenSSL)


def _pkcs8_ec() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    return _pem(key, serialization.PrivateFormat.PKCS8)


def _pem(key, private_format) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    private = key.private_bytes(
        serialization.Encoding.PEM, private_format, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


def _openssl_bundle(folder: Path, secret: str) -> str:
    """A bundle as docs/operations.md, "Rotate" writes it, with the openssl CLI."""
    script = (
        "set -e; openssl genrsa -traditional -out k.pem 2048 2>/dev/null; "
        "{ cat k.pem; openssl rsa -in k.pem -pubout 2>/dev/null; "
        "printf -- '-----BEGIN AIDBOX HS256 SECRET-----\\n%s\\n"
        f"-----END AIDBOX HS256 SECRET-----\\n' {secret}; }} > bundle.pem; rm k.pem"
    )
    subprocess.run(["sh", "-c", script], cwd=folder, check=True)
    return (folder / "bundle.pem").read_text()


def _run(shell: str, tmp_path: Path, files: dict[str, str], bundle: str | None) -> dict[str, str]:
    mount = tmp_path / "mount"
    mount.mkdir(exist_ok=True)
    for env, value in files.items():
        (mount / env.lower()).write_bytes(value.encode())
    if bundle is not None:
        (mount / "keys").write_bytes(bundle.encode())
    script = start.start_script(
        files={env: str(mount / env.lower()) for env in files},
        key_bundle=str(mount / "keys") if bundle is not None else None,
        entrypoint=str(shells.entrypoint(tmp_path)),
    )
    return shells.exported(shells.run_script(shell, script))


BUNDLES = {
    "rsa-pkcs1": lambda: (*_pkcs1_rsa(), "a" * 64),
    "ec-pkcs8": lambda: (*_pkcs8_ec(), "0123456789abcdef"),
}


@pytest.mark.parametrize("shell", shells.SHELLS)
@pytest.mark.parametrize("kind", list(BUNDLES))
@pytest.mark.parametrize("line_end", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_the_script_exports_what_the_bundle_holds(
    shell: str, kind: str, line_end: str, tmp_path: Path
) -> None:
    private, public, secret = BUNDLES[kind]()
    text = key_bundle.compose(private, public, secret).replace("\n", line_end)
    env = _run(shell, tmp_path, {}, text)
    parsed = key_bundle.parse(text)
    assert (env[KEYS[0]], env[KEYS[1]], env[KEYS[2]]) == (
        parsed.private_key,
        parsed.public_key,
        parsed.secret,
    )
    assert env[KEYS[0]] == private.strip() and env[KEYS[1]] == public.strip()
    assert env[KEYS[2]] == secret


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_a_bundle_written_with_openssl_as_the_runbook_says(shell: str, tmp_path: Path) -> None:
    text = _openssl_bundle(tmp_path, "f" * 64)
    env = _run(shell, tmp_path, {}, text)
    assert env[KEYS[0]].startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert env[KEYS[1]].startswith("-----BEGIN PUBLIC KEY-----\n")
    assert env[KEYS[2]] == "f" * 64
    assert key_bundle.parse(text).private_key == env[KEYS[0]]


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_files_are_exported_as_they_are_without_trailing_newlines(
    shell: str, tmp_path: Path
) -> None:
    values = {
        "BOX_DB_PASSWORD": "p@ss w$rd `x` \"q\" 'q' \\n",  # shell syntax stays text
        "BOX_LICENSE": "  eyJhbGciOi.licence  \n\n",  # leading blanks kept, newlines dropped
        "BOX_ADMIN_PASSWORD": "last-line-without-newline",
        "BOX_ROOT_CLIENT_SECRET": "two\nlines\n",
    }
    env = _run(shell, tmp_path, values, None)
    assert env["BOX_DB_PASSWORD"] == values["BOX_DB_PASSWORD"]
    assert env["BOX_LICENSE"] == "  eyJhbGciOi.licence  "
    assert env["BOX_ADMIN_PASSWORD"] == "last-line-without-newline"
    assert env["BOX_ROOT_CLIENT_SECRET"] == "two\nlines"
    # The script's own variables are not exported: only the settings reach Aidbox.
    assert not [name for name in env if name.startswith("_")]


@pytest.mark.parametrize("shell", shells.SHELLS)
@pytest.mark.parametrize(
    ("broken", "missing"),
    [
        (lambda t: t.split("-----BEGIN PUBLIC KEY-----")[0], "public key"),
        (lambda t: t[t.index("-----BEGIN PUBLIC KEY-----") :], "private key"),
        (lambda t: t.split(key_bundle.SECRET_BEGIN)[0], "HS256 secret"),
        (lambda t: "", "private key"),
    ],
    ids=["no-public", "no-private", "no-secret", "empty"],
)
def test_an_incomplete_bundle_stops_the_start_naming_what_is_missing(
    shell: str, broken, missing: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    private, public = _pkcs1_rsa()
    text = broken(key_bundle.compose(private, public, "hs256-value-9f8e"))
    mount = tmp_path / "mount"
    mount.mkdir()
    (mount / "keys").write_text(text)
    script = start.start_script(
        files={}, key_bundle=str(mount / "keys"), entrypoint=str(shells.entrypoint(tmp_path))
    )
    result = shells.run_script(shell, script)
    assert result.returncode == 1 and b"ARGV=" not in result.stdout
    error = result.stderr.decode()
    assert f"{mount}/keys has no {missing}" in error
    assert "hs256-value-9f8e" not in error and "MII" not in error
    with pytest.raises(ValueError, match=f"no {missing}"):
        key_bundle.parse(text)


@pytest.mark.parametrize("shell", shells.SHELLS)
def test_an_image_without_the_entrypoint_is_refused(shell: str, tmp_path: Path) -> None:
    script = start.start_script(files={}, key_bundle=None, entrypoint=str(tmp_path / "nope.sh"))
    result = shells.run_script(shell, script)
    assert result.returncode == 1
    assert "nope.sh is not in this image" in result.stderr.decode()


def test_compose_refuses_what_is_not_a_key_pair_and_a_one_line_secret() -> None:
    private, public = _pkcs1_rsa()
    with pytest.raises(ValueError, match="not a private key"):
        key_bundle.compose(public.replace("PUBLIC", "CERTIFICATE"), public, "s")
    with pytest.raises(ValueError, match="public key's PEM block"):
        key_bundle.compose(private, private, "s")
    with pytest.raises(ValueError, match="one line of printable ASCII"):
        key_bundle.compose(private, public, "two words")
    with pytest.raises(ValueError, match="not one PEM block"):
        key_bundle.compose("MIIB", public, "s")


def test_the_script_names_no_value_and_only_valid_env_names() -> None:
    script = start.start_script(files={"BOX_LICENSE": "/run/x/lic"}, key_bundle="/run/x/k")
    assert script.rstrip().endswith("exec /aidbox.sh")
    assert start.start_command(files={}, key_bundle=None)[:2] == ["/bin/sh", "-c"]
    with pytest.raises(ValueError, match="not an env var name"):
        start.start_script(files={"box-license": "/x"}, key_bundle=None)
