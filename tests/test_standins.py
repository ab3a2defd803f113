"""The stand-in provider plugins of the end-to-end run (scripts/e2e/standins): their names match
the published SDKs and cover what the program uses; the protocol layer (defaults, replaces,
secrets, unknowns); real random and TLS values; the Vault resources' requests and read-backs
against a recorded Vault. The run against the real engine and Vault is scripts/e2e/standins/
selfcheck.py."""

from __future__ import annotations

import ast
import functools
import importlib.util
import ipaddress
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bcrypt
import grpc
import pytest
from cases import CASES, TEST_KUBECONFIG, run
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from google.protobuf import empty_pb2
from harness import run_stack
from pulumi.runtime.proto import provider_pb2 as proto
from pulumi.runtime.proto import provider_pb2_grpc

from scripts.e2e.standins import launchers, protocol, vault_client, vault_provider
from scripts.e2e.standins.protocol import UNKNOWN, Kind, reveal, secret
from scripts.e2e.standins.random_provider import PLUGIN as RANDOM
from scripts.e2e.standins.tls_provider import PLUGIN as TLS
from scripts.e2e.standins.tls_provider import SUBJECT, ready_for_renewal
from scripts.e2e.standins.vault_provider import PLUGIN as VAULT

PLUGINS = {"random": RANDOM, "tls": TLS, "vault": VAULT}
STANDIN_TYPES = {r.token: r for p in PLUGINS.values() for r in p.resources}


# --- the published SDKs' names ------------------------------------------------------------------


def _getters(cls: ast.ClassDef) -> set[str]:
    """The wire names of a generated class's properties (`@pulumi.getter(name=...)`)."""
    names = set()
    for item in cls.body:
        for decorator in getattr(item, "decorator_list", []):
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call else decorator
            if isinstance(target, ast.Attribute) and target.attr == "getter":
                keyword = call.keywords[0].value if call and call.keywords else None
                names.add(keyword.value if isinstance(keyword, ast.Constant) else item.name)
    return names


@functools.cache
def _module(package: str, module: str) -> dict[str, ast.ClassDef]:
    """The classes of one generated SDK module, e.g. ("vault", "kv/secret_v2")."""
    root = Path(importlib.util.find_spec(f"pulumi_{package}").origin).parent  # type: ignore[arg-type, union-attr]
    tree = ast.parse((root / f"{module}.py").read_text())
    return {c.name: c for c in tree.body if isinstance(c, ast.ClassDef)}


def sdk_class(package: str, module: str, name: str) -> set[str]:
    return _getters(_module(package, module)[name])


def sdk_type(token: str) -> tuple[set[str], set[str]]:
    """The names of the inputs (its Args class) and outputs of the class the SDK declares for
    `token` with @pulumi.type_token, in the module the token names."""
    package, module, name = token.split(":")
    if package == "pulumi":  # pulumi:providers:<package>
        package, path, name = name, "provider", "Provider"
    else:
        folder, _, file = module.rpartition("/")
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", file).lower()
        path = snake if folder == "index" else f"{folder}/{snake}"
    classes = _module(package, path)
    declared = [
        d.args[0].value  # type: ignore[attr-defined]
        for d in getattr(classes.get(name), "decorator_list", [])
        if isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "type_token"
    ]
    assert declared == [token], f"{token}: not declared in pulumi_{package}/{path}.py"
    return _getters(classes[f"{name}Args"]), _getters(classes[name])


def get_secret_v2_names() -> set[str]:
    return sdk_class("vault", "kv/get_secret_v2", "GetSecretV2Result")


@pytest.mark.parametrize("token", sorted(STANDIN_TYPES))
def test_every_stand_in_name_is_the_published_sdks(token: str) -> None:
    resource = STANDIN_TYPES[token]
    inputs, outputs = sdk_type(token)
    assert set(resource.props) <= inputs, f"{token}: not SDK inputs: {set(resource.props) - inputs}"
    declared = set(resource.computed) | set(resource.secret_outputs)
    assert declared <= outputs, f"{token}: not SDK outputs: {declared - outputs}"


def test_nested_and_provider_names_are_the_published_sdks() -> None:
    assert {key for key, _ in SUBJECT} == sdk_class("tls", "_inputs", "SelfSignedCertSubjectArgs")
    assert {key for key, _ in SUBJECT} == sdk_class("tls", "_inputs", "CertRequestSubjectArgs")
    assert sdk_type("pulumi:providers:vault")[0] >= vault_client.CONFIG_KEYS
    assert sdk_class("vault", "_inputs", "ProviderClientAuthArgs") == {"certFile", "keyFile"}
    assert sdk_class("vault", "_inputs", "ProviderHeaderArgs") == {"name", "value"}
    role = sdk_type("vault:kubernetes/authBackendRole:AuthBackendRole")[1]
    assert set(vault_provider.ROLE_FIELDS) <= role
    config = sdk_type("vault:kubernetes/authBackendConfig:AuthBackendConfig")[1]
    assert set(vault_provider.AuthBackendConfig.READ) <= config
    assert set(VAULT.functions) == {"vault:kv/getSecretV2:getSecretV2"}
    assert VAULT.secret_results <= get_secret_v2_names()


# --- what the program uses ---------------------------------------------------------------------

E2E_CONFIG = {  # the e2e's stack: kubeconfig mode, an external Vault with its own CA
    "secretStore": "vault",
    "cluster": {"mode": "kubeconfig", "kubeconfigPath": str(TEST_KUBECONFIG)},
    "vault": {
        "mode": "external",
        "address": "https://127.0.0.1:8200",
        "token": "t0ken",
        "caCertFile": str(Path(__file__).parent / "data" / "vault-ca.pem"),
    },
    "secrets": {"client-secret": {"scope": "Client/basic"}},
}


def test_the_stand_ins_know_every_type_and_property_the_program_uses() -> None:
    runs = [run(case) for case in CASES] + [run_stack(E2E_CONFIG, secret_keys=("vault",))]
    used: dict[str, set[str]] = {}
    for stack in runs:
        for r in stack.resources:
            if r.type.split(":")[0] in PLUGINS or r.type == "pulumi:providers:vault":
                used.setdefault(r.type, set()).update(
                    k for k, v in r.inputs.items() if v is not None
                )
    assert {"random:index/randomPassword:RandomPassword", "vault:kv/secretV2:SecretV2"} <= set(used)
    for token, keys in used.items():
        if token == "pulumi:providers:vault":
            assert keys - protocol.ENGINE_CONFIG_KEYS <= vault_client.CONFIG_KEYS, token
        else:
            assert token in STANDIN_TYPES, f"the program uses {token}, which no stand-in has"
            assert keys <= set(STANDIN_TYPES[token].props), (
                f"{token}: {keys - set(STANDIN_TYPES[token].props)}"
            )


# --- the protocol layer --------------------------------------------------------------------------


class Aborted(Exception):
    pass


class Context:
    def abort(self, code: grpc.StatusCode, message: str) -> None:
        raise Aborted(f"{code.name}: {message}")


def call(plugin: protocol.Plugin, method: str, request: Any) -> Any:
    return getattr(protocol.Servicer(plugin, "0.0.0"), method)(request, Context())


def create(plugin: protocol.Plugin, token: str, inputs: dict[str, Any]) -> tuple[str, dict]:
    checked = call(plugin, "Check", proto.CheckRequest(type=token, news=protocol.to_struct(inputs)))
    assert not checked.failures, checked.failures
    made = call(plugin, "Create", proto.CreateRequest(type=token, properties=checked.inputs))
    return made.id, protocol.from_struct(made.properties)


def diff(
    resource: protocol.Resource, state: dict, news: dict, ignore: tuple = ()
) -> dict[str, int]:
    checked, _ = protocol.check(resource.props, news)
    response = protocol.diff(resource, state, checked, list(ignore))
    assert set(response.replaces) == {
        k for k, d in response.detailedDiff.items() if d.kind in protocol.REPLACING
    }
    return {k: d.kind for k, d in response.detailedDiff.items()}


PASSWORD = "random:index/randomPassword:RandomPassword"


def test_check_fills_defaults_and_names_missing_and_unknown_properties() -> None:
    password = STANDIN_TYPES[PASSWORD]
    checked, failures = protocol.check(password.props, {"length": 12})
    assert checked == {
        "length": 12,
        "special": True,
        "upper": True,
        "lower": True,
        "minNumeric": 0,
        "minUpper": 0,
        "minLower": 0,
        "minSpecial": 0,
    }
    assert failures == []
    _, failures = protocol.check(password.props, {"special": False, "lenght": 12})
    assert [k for k, _ in failures] == ["lenght", "length"]
    response = call(
        RANDOM,
        "Check",
        proto.CheckRequest(type=PASSWORD, news=protocol.to_struct({"length": 2, "minUpper": 3})),
    )
    assert [(f.property, "sum of min_*" in f.reason) for f in response.failures] == [
        ("length", True)
    ]


def test_diff_replaces_what_the_provider_replaces_and_updates_the_rest() -> None:
    kv = STANDIN_TYPES["vault:kv/secretV2:SecretV2"]
    state = {
        "mount": "secret",
        "name": "a",
        "dataJson": '{"k":"v"}',
        "disableRead": True,
        "deleteAllVersions": False,
        "path": "secret/data/a",
    }
    news = {"mount": "secret", "name": "a", "dataJson": secret('{ "k": "v" }'), "disableRead": True}
    assert diff(kv, state, news) == {}  # the same JSON document, secret or not
    assert diff(kv, state, {**news, "name": "b"}) == {"name": Kind.UPDATE_REPLACE}
    assert diff(kv, state, {**news, "name": UNKNOWN}) == {"name": Kind.UPDATE_REPLACE}
    assert diff(kv, state, {**news, "dataJson": '{"k":"w"}'}) == {"dataJson": Kind.UPDATE}
    assert diff(kv, state, {**news, "dataJson": '{"k":"w"}'}, ignore=("dataJson",)) == {}
    assert diff(kv, state, {**news, "deleteAllVersions": True}) == {
        "deleteAllVersions": Kind.UPDATE
    }
    role = STANDIN_TYPES["vault:kubernetes/authBackendRole:AuthBackendRole"]
    role_state = {
        "backend": "kubernetes",
        "roleName": "r",
        "boundServiceAccountNames": ["a", "b"],
        "audience": "",
        "tokenType": "default",
    }
    assert (
        diff(
            role,
            role_state,
            {"backend": "/kubernetes/", "roleName": "r", "boundServiceAccountNames": ["b", "a"]},
        )
        == {}
    )
    assert diff(
        role, role_state, {"roleName": "r", "boundServiceAccountNames": ["a"], "tokenTtl": 60}
    ) == {"boundServiceAccountNames": Kind.UPDATE, "tokenTtl": Kind.ADD}
    password, _ = protocol.check(STANDIN_TYPES[PASSWORD].props, {"length": 8})
    assert diff(STANDIN_TYPES[PASSWORD], password, {"length": 9}) == {"length": Kind.UPDATE_REPLACE}


def test_outputs_the_provider_marks_sensitive_and_secret_inputs_come_back_secret() -> None:
    _, state = create(RANDOM, PASSWORD, {"length": 20, "special": False})
    assert protocol.is_secret(state["result"]) and protocol.is_secret(state["bcryptHash"])
    assert not protocol.is_secret(state["length"])
    kv = STANDIN_TYPES["vault:kv/secretV2:SecretV2"]
    wrapped = protocol.wrap_outputs(
        kv, {"mount": "m", "dataJson": "{}", "data": {}}, {"mount": secret("m")}
    )
    assert all(protocol.is_secret(v) for v in wrapped.values())
    refreshed = protocol.refreshed_inputs(
        {"mount": secret("m"), "name": "n"}, {"mount": "m2", "name": "n"}
    )
    assert refreshed == {"mount": secret("m2"), "name": "n"}


def test_a_preview_leaves_computed_outputs_unknown() -> None:
    checked = call(
        TLS,
        "Check",
        proto.CheckRequest(
            type="tls:index/privateKey:PrivateKey", news=protocol.to_struct({"algorithm": "RSA"})
        ),
    )
    preview = call(
        TLS,
        "Create",
        proto.CreateRequest(
            type="tls:index/privateKey:PrivateKey", properties=checked.inputs, preview=True
        ),
    )
    outputs = protocol.from_struct(preview.properties)
    assert (
        preview.id == "" and outputs["privateKeyPem"] == UNKNOWN and outputs["algorithm"] == "RSA"
    )


def test_an_unimplemented_type_or_function_fails_clearly() -> None:
    with pytest.raises(Aborted, match="does not implement random:index/randomUuid:RandomUuid"):
        call(RANDOM, "Check", proto.CheckRequest(type="random:index/randomUuid:RandomUuid"))
    with pytest.raises(Aborted, match="does not implement vault:index/getNamespace"):
        call(VAULT, "Invoke", proto.InvokeRequest(tok="vault:index/getNamespace:getNamespace"))


# --- random and tls: real values -----------------------------------------------------------------


def test_random_password_is_random_and_follows_its_inputs() -> None:
    _, one = create(RANDOM, PASSWORD, {"length": 64, "special": False})
    _, two = create(RANDOM, PASSWORD, {"length": 64, "special": False})
    result = reveal(one["result"])
    assert len(result) == 64 and result.isalnum() and result != reveal(two["result"])
    assert bcrypt.checkpw(result.encode(), reveal(one["bcryptHash"]).encode())
    _, digits = create(
        RANDOM, PASSWORD, {"length": 6, "upper": False, "lower": False, "special": False}
    )
    assert reveal(digits["result"]).isdigit() and digits["numeric"] is True
    _, mixed = create(RANDOM, PASSWORD, {"length": 8, "minSpecial": 8, "overrideSpecial": "#"})
    assert reveal(mixed["result"]) == "########"


def test_tls_keys_and_a_locally_signed_certificate_chain() -> None:
    _, rsa_key = create(
        TLS, "tls:index/privateKey:PrivateKey", {"algorithm": "RSA", "rsaBits": 2048}
    )
    assert reveal(rsa_key["privateKeyPem"]).startswith("-----BEGIN RSA PRIVATE KEY-----")
    _, ca_key = create(
        TLS, "tls:index/privateKey:PrivateKey", {"algorithm": "ECDSA", "ecdsaCurve": "P256"}
    )
    assert reveal(ca_key["privateKeyPem"]).startswith("-----BEGIN EC PRIVATE KEY-----")
    assert ca_key["publicKeyOpenssh"].startswith("ecdsa-sha2-nistp256 ")
    _, ca = create(
        TLS,
        "tls:index/selfSignedCert:SelfSignedCert",
        {
            "privateKeyPem": ca_key["privateKeyPem"],
            "isCaCertificate": True,
            "subject": {"commonName": "e2e CA"},
            "validityPeriodHours": 48,
            "allowedUses": ["cert_signing", "crl_signing"],
        },
    )
    assert protocol.is_secret(ca["privateKeyPem"]) and ca["readyForRenewal"] is False
    ca_cert = x509.load_pem_x509_certificate(ca["certPem"].encode())
    assert ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca_cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert ca_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "e2e CA"
    _, request = create(
        TLS,
        "tls:index/certRequest:CertRequest",
        {
            "privateKeyPem": rsa_key["privateKeyPem"],
            "subject": {"commonName": "vault.ns.svc"},
            "dnsNames": ["vault-0.vault-internal"],
            "ipAddresses": ["127.0.0.1"],
        },
    )
    _, cert = create(
        TLS,
        "tls:index/locallySignedCert:LocallySignedCert",
        {
            "certRequestPem": request["certRequestPem"],
            "caPrivateKeyPem": ca_key["privateKeyPem"],
            "caCertPem": ca["certPem"],
            "validityPeriodHours": 24,
            "earlyRenewalHours": 2,
            "allowedUses": ["digital_signature", "key_encipherment", "server_auth"],
        },
    )
    leaf = x509.load_pem_x509_certificate(cert["certPem"].encode())
    leaf.verify_directly_issued_by(ca_cert)
    assert isinstance(leaf.public_key(), rsa.RSAPublicKey) and isinstance(
        ca_cert.public_key(), ec.EllipticCurvePublicKey
    )
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["vault-0.vault-internal"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH
    ]
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == timedelta(hours=24)


def test_a_certificate_due_for_renewal_is_replaced() -> None:
    cert = STANDIN_TYPES["tls:index/locallySignedCert:LocallySignedCert"]
    end = datetime.now(UTC) + timedelta(hours=10)
    state = {
        "validityEndTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "earlyRenewalHours": 2,
        "validityPeriodHours": 24,
    }
    assert not ready_for_renewal(state)
    assert ready_for_renewal({**state, "earlyRenewalHours": 12})
    assert diff(cert, state, {"earlyRenewalHours": 12, "validityPeriodHours": 24}) == {
        "earlyRenewalHours": Kind.UPDATE,
        "readyForRenewal": Kind.UPDATE_REPLACE,
    }
    assert diff(cert, state, {"earlyRenewalHours": 3, "validityPeriodHours": 24}) == {
        "earlyRenewalHours": Kind.UPDATE
    }
    assert cert.read("1", {**state, "earlyRenewalHours": 12})["readyForRenewal"] is True


# --- vault: requests and read-backs against a recorded Vault ------------------------------------


class RecordedVault:
    """Answers as Vault 1.21 answers; records each request."""

    def __init__(self, answers: dict[tuple[str, str], Any]) -> None:
        self.answers, self.requests = answers, []

    def call(self, method: str, path: str, body: Any = None, query: Any = None) -> dict:
        self.requests.append((method, path, body))
        answer = self.answers.get((method, path), {})
        if isinstance(answer, Exception):
            raise answer
        return answer

    def read(self, path: str, query: Any = None) -> dict | None:
        self.requests.append(("GET", path, None))
        return self.answers.get(("GET", path))


@pytest.fixture
def vault(monkeypatch: pytest.MonkeyPatch):
    def use(answers: dict[tuple[str, str], Any]) -> RecordedVault:
        recorded = RecordedVault(answers)
        monkeypatch.setattr(vault_client.META, "_client", recorded)
        return recorded

    return use


KV = "vault:kv/secretV2:SecretV2"
KV_METADATA = {
    "created_time": "2026-12-01T00:00:00Z",
    "custom_metadata": None,
    "deletion_time": "",
    "destroyed": False,
    "version": 2,
}


def test_kv_secret_written_whole_and_read_back_as_the_provider_does(vault) -> None:
    recorded = vault(
        {
            ("GET", "secret/data/aidbox/client"): {
                "data": {"data": {"k": "rotated"}, "metadata": KV_METADATA}
            },
            ("GET", "secret/metadata/aidbox/client"): {
                "data": {
                    "max_versions": 0,
                    "cas_required": False,
                    "delete_version_after": "0s",
                    "custom_metadata": None,
                }
            },
        }
    )
    inputs = {"mount": "secret", "name": "aidbox/client", "dataJson": secret('{"k": "seed"}')}
    id_, state = create(VAULT, KV, inputs)
    assert id_ == "secret/data/aidbox/client"
    assert recorded.requests[0] == ("POST", id_, {"data": {"k": "seed"}, "cas": 0, "options": {}})
    assert reveal(state["dataJson"]) == '{"k":"seed"}' and protocol.is_secret(state["dataJson"])
    assert state["metadata"]["version"] == "2" and state["path"] == id_
    refreshed = call(
        VAULT,
        "Read",
        proto.ReadRequest(
            id=id_, type=KV, properties=protocol.to_struct(state), inputs=protocol.to_struct(inputs)
        ),
    )
    # Read never sets data_json: the rotated value is not pulled into the state.
    assert reveal(protocol.from_struct(refreshed.properties)["dataJson"]) == '{"k":"seed"}'
    assert sum(1 for m, p, _ in recorded.requests if p == id_ and m == "POST") == 1


def test_kv_secret_with_disable_read_reads_nothing_and_a_vanished_one_is_gone(vault) -> None:
    kv = STANDIN_TYPES[KV]
    recorded = vault({})
    state = {"mount": "secret", "name": "a", "dataJson": "{}", "disableRead": True}
    assert kv.read("secret/data/a", state)["path"] == "secret/data/a" and recorded.requests == []
    assert kv.read("secret/data/a", {**state, "disableRead": False}) is None
    kv.delete("secret/data/a", {**state, "deleteAllVersions": True})
    kv.delete("secret/data/a", state)
    assert recorded.requests[-2:] == [
        ("DELETE", "secret/metadata/a", None),
        ("DELETE", "secret/data/a", None),
    ]


def test_get_secret_v2_reads_one_entry_or_fails_like_the_provider(vault) -> None:
    vault(
        {
            ("GET", "secret/data/aidbox/client/client-secret"): {
                "data": {"data": {"value": "s<3"}, "metadata": KV_METADATA}
            }
        }
    )
    args = protocol.to_struct({"mount": "secret", "name": "aidbox/client/client-secret"})
    response = call(
        VAULT, "Invoke", proto.InvokeRequest(tok="vault:kv/getSecretV2:getSecretV2", args=args)
    )
    result = protocol.from_struct(getattr(response, "return"))
    assert reveal(result["dataJson"]) == '{"value":"s\\u003c3"}' and protocol.is_secret(
        result["data"]
    )
    assert set(result) <= get_secret_v2_names() and result["version"] == 2
    with pytest.raises(Aborted, match='no secret found at "secret/data/missing"'):
        call(
            VAULT,
            "Invoke",
            proto.InvokeRequest(
                tok="vault:kv/getSecretV2:getSecretV2",
                args=protocol.to_struct({"mount": "secret", "name": "missing"}),
            ),
        )


def test_auth_config_keeps_the_reviewer_jwt_vault_never_returns(vault) -> None:
    config = STANDIN_TYPES["vault:kubernetes/authBackendConfig:AuthBackendConfig"]
    vault(
        {
            ("GET", "auth/kubernetes/config"): {
                "data": {
                    "kubernetes_host": "https://api",
                    "kubernetes_ca_cert": "CA",
                    "issuer": "",
                    "disable_iss_validation": True,
                    "disable_local_ca_jwt": False,
                    "pem_keys": [],
                    "use_annotations_as_alias_metadata": False,
                }
            }
        }
    )
    state = config.read(
        "auth/kubernetes/config",
        {"backend": "kubernetes", "kubernetesHost": "old", "tokenReviewerJwt": "jwt"},
    )
    assert state["tokenReviewerJwt"] == "jwt" and state["kubernetesHost"] == "https://api"
    assert set(state) <= sdk_type(config.token)[1]


def test_vault_reads_name_only_sdk_outputs(vault) -> None:
    mount = {
        "type": "kv",
        "description": "d",
        "options": {"version": "2"},
        "accessor": "kv_1",
        "local": False,
        "seal_wrap": False,
        "external_entropy_access": False,
        "config": {"default_lease_ttl": 0, "max_lease_ttl": 0},
    }
    vault(
        {
            ("GET", "sys/mounts/kv"): {"data": mount},
            ("GET", "sys/mounts/auth/kubernetes"): {"data": {**mount, "type": "kubernetes"}},
            ("GET", "sys/audit"): {
                "data": {
                    "file/": {"type": "file", "description": "", "options": {"file_path": "stdout"}}
                }
            },
            ("GET", "sys/policies/acl/aidbox"): {"data": {"policy": "path {}"}},
            ("GET", "auth/kubernetes/role/aidbox"): {
                "data": {field: None for field in vault_provider.ROLE_FIELDS.values()}
            },
        }
    )
    for token, id_ in [
        ("vault:index/mount:Mount", "kv"),
        ("vault:index/authBackend:AuthBackend", "kubernetes"),
        ("vault:index/audit:Audit", "file"),
        ("vault:index/policy:Policy", "aidbox"),
        ("vault:kubernetes/authBackendRole:AuthBackendRole", "auth/kubernetes/role/aidbox"),
    ]:
        state = STANDIN_TYPES[token].read(id_, {})
        assert state is not None and set(state) <= sdk_type(token)[1], token


def test_a_policy_gone_from_vault_reads_back_empty_and_a_mount_gone_is_gone(vault) -> None:
    gone = vault_client.VaultError(
        400, "No secret engine mount at kv/", {"errors": ["No secret engine mount at kv/"]}
    )
    vault({("GET", "sys/mounts/kv"): gone})
    assert STANDIN_TYPES["vault:index/policy:Policy"].read("aidbox", {})["policy"] == ""
    assert STANDIN_TYPES["vault:index/mount:Mount"].read("kv", {}) is None


def test_vault_client_settings_and_a_missing_ca_file(tmp_path: Path) -> None:
    settings = vault_client.Settings.of(
        {
            "address": "https://127.0.0.1:1",
            "token": "t",
            "skipChildToken": "true",
            "headers": '[{"name": "Authorization", "value": "Bearer x"}]',
            "clientAuth": '{"certFile": "c", "keyFile": "k"}',
            "caCertFile": str(tmp_path / "gone.pem"),
        }
    )
    assert settings.skip_child_token is True and settings.client_cert == "c"
    assert settings.headers == [{"name": "Authorization", "value": "Bearer x"}]
    with pytest.raises(
        protocol.Failure,
        match=r"failed to configure TLS for Vault API: Error loading CA File: "
        r"open .*gone.pem: no such file or directory",
    ):
        vault_client.Client(settings)
    meta = vault_client.Meta()
    meta.configure({"address": "https://127.0.0.1:1", "token": "t"})  # nothing connects yet
    with pytest.raises(protocol.Failure, match="does not implement provider settings"):
        meta.configure({"authLoginJwt": "{}"})


# --- the launchers ------------------------------------------------------------------------------


def test_launchers_serve_each_stand_in_with_the_sdk_version(tmp_path: Path) -> None:
    """One real plugin process: it prints its port and answers the engine's first calls."""
    launchers.write_launchers(tmp_path)
    for name in ("random", "tls", "vault"):
        text = (tmp_path / f"pulumi-resource-{name}").read_text()
        assert "STAND-IN" in text and "end-to-end run ONLY" in text
    process = subprocess.Popen(
        [tmp_path / "pulumi-resource-vault", "127.0.0.1:1"], stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(process.stdout.readline())  # type: ignore[union-attr]
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            assert (
                stub.GetPluginInfo(empty_pb2.Empty(), timeout=30).version
                == launchers.sdk_version("vault")
                == "7.14.0"
            )
            handshake = stub.Handshake(proto.ProviderHandshakeRequest(), timeout=30)
            assert handshake.accept_secrets
    finally:
        process.kill()
        process.wait()
