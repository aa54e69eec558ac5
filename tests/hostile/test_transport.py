"""realmctl against a hostile server (issue #18, transport): what each misbehaviour gets.

A `Hostile` server forwards to the Keycloak under test (the sandbox, or a real server with
REALMCTL_TEST_URL) and misbehaves on one request; a second instance plays "another host" and
records whatever reaches it. Each test runs the real CLI and checks the exit code, the one-line
message, the time taken (small limits, generous bounds) and what reached the other origin.
"""

import datetime
import ipaddress
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import KeycloakTarget
from tests.helpers import ROOT, Admin, Result, env_for, realmctl, unique
from tests.hostile.server import Hostile, Rule

SECRET = "s3cret-client-value-7f41"
TOKEN_PATH = r"/protocol/openid-connect/token$"


def spec(tmp_path: Path, realm: str, body: dict[str, object] | None = None) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "realms": {realm: body or {"enabled": True}}}, sort_keys=False))
    return str(path)


def run(keycloak: KeycloakTarget, url: str, *args: str, **extra: str) -> tuple[Result, float]:
    env = env_for(url, keycloak.admin_user, keycloak.admin_password, **extra)
    started = time.monotonic()
    result = realmctl(*args, env=env)
    return result, time.monotonic() - started


def one_sentence(result: Result) -> str:
    """The error line; there must be exactly one, and no traceback."""
    assert "Traceback" not in result.all
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.err
    return errors[0]


@pytest.fixture
def other() -> Iterator[Hostile]:
    """Another origin, which must never receive anything."""
    with Hostile() as server:
        yield server


# --- redirects -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [307, 308])
def test_login_redirected_to_another_origin_is_refused_and_the_password_stays_home(
    keycloak: KeycloakTarget, other: Hostile, tmp_path: Path, status: int
) -> None:
    rules = [Rule("redirect", "POST", TOKEN_PATH, status=status, location=other.url)]
    with Hostile(keycloak.url, rules) as front:
        result, _ = run(keycloak, front.url, "plan", spec(tmp_path, unique("hostile")))
    assert result.code == 4
    line = one_sentence(result)
    assert f"POST /realms/master/protocol/openid-connect/token was redirected (HTTP {status})" in line
    assert f"from {front.url} to {other.url}, another origin" in line
    assert other.received == []
    assert not other.saw(keycloak.admin_password)


def test_admin_write_redirected_to_another_origin_is_refused_and_its_secret_stays_home(
    keycloak: KeycloakTarget, other: Hostile, tmp_path: Path
) -> None:
    realm = unique("hostile")
    body = {"clients": {"app": {"publicClient": False, "secret": SECRET}}}
    rules = [Rule("redirect", "POST", rf"/admin/realms/{realm}/clients$", status=307, location=other.url)]
    with Hostile(keycloak.url, rules) as front:
        result, _ = run(keycloak, front.url, "apply", "--yes", spec(tmp_path, realm, body))
    assert result.code == 4
    assert "another origin" in result.err and other.url in result.err
    assert "POST /admin/realms" in result.err
    assert other.received == []
    assert SECRET not in result.all
    Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password).call("DELETE", f"admin/realms/{realm}")


def test_same_origin_redirect_is_followed(keycloak: KeycloakTarget, tmp_path: Path) -> None:
    """A redirect within the origin (e.g. a proxy normalising a path) is harmless and still works."""
    rules = [Rule("redirect", "GET", r"^/admin/realms/[^/]+$", times=1, status=307)]
    with Hostile(keycloak.url, rules) as front:
        rules[0].location = front.url
        result, _ = run(keycloak, front.url, "plan", spec(tmp_path, unique("hostile")))
    assert result.code == 0, result.all
    assert "+ realm" in result.out


# --- TLS ---------------------------------------------------------------------------------------


def _certificate(tmp_path: Path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (file paths of the certificate and the key)."""
    crypto = pytest.importorskip("cryptography")
    del crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


def _tls(tmp_path: Path) -> tuple[ssl.SSLContext, str]:
    cert, key = _certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


def test_untrusted_certificate_is_named_and_not_retried(keycloak: KeycloakTarget, tmp_path: Path) -> None:
    context, _ = _tls(tmp_path)
    with Hostile(keycloak.url, tls=context) as front:
        result, elapsed = run(keycloak, front.url, "plan", spec(tmp_path, unique("hostile")))
    assert result.code == 4
    line = one_sentence(result)
    assert "certificate" in line and front.url in line and "KEYCLOAK_CA_BUNDLE" in line
    assert elapsed < 3  # no retries: main spent about 6 s retrying, then said "cannot reach"


def test_https_redirected_to_plain_http_is_refused(keycloak: KeycloakTarget, other: Hostile, tmp_path: Path) -> None:
    context, cert = _tls(tmp_path)
    rules = [Rule("redirect", "POST", TOKEN_PATH, status=308, location=other.url)]
    with Hostile(keycloak.url, rules, tls=context) as front:
        result, _ = run(keycloak, front.url, "plan", spec(tmp_path, unique("hostile")), KEYCLOAK_CA_BUNDLE=cert)
    assert result.code == 4
    line = one_sentence(result)
    assert "https://127.0.0.1" in line and "to http://127.0.0.1" in line
    assert other.received == []


def test_missing_ca_bundle_is_one_sentence(keycloak: KeycloakTarget, tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-ca.pem")
    result, elapsed = run(keycloak, keycloak.url, "plan", spec(tmp_path, "x"), KEYCLOAK_CA_BUNDLE=missing)
    assert result.code == 1
    line = one_sentence(result)
    assert "KEYCLOAK_CA_BUNDLE" in line and missing in line and "does not exist" in line
    assert elapsed < 3


# --- warnings ----------------------------------------------------------------------------------


def test_insecure_tls_is_warned_about(keycloak: KeycloakTarget, tmp_path: Path) -> None:
    result, _ = run(keycloak, keycloak.url, "plan", spec(tmp_path, unique("hostile")), KEYCLOAK_INSECURE="1")
    assert result.code == 0, result.all
    assert "realmctl: warning: KEYCLOAK_INSECURE=1: TLS certificates are not verified" in result.err


def test_plain_http_off_loopback_is_warned_about(keycloak: KeycloakTarget, tmp_path: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) is never routed: the run also shows the deadline bounding a dead host.
    result, elapsed = run(
        keycloak, "http://192.0.2.1:9", "plan", "--deadline", "0.6", "--timeout", "0.3", spec(tmp_path, "x")
    )
    assert "realmctl: warning: KEYCLOAK_URL is plain http to 192.0.2.1" in result.err
    assert result.code == 4
    assert elapsed < 15


def test_plain_http_on_loopback_is_not_warned_about(keycloak: KeycloakTarget, tmp_path: Path) -> None:
    if not keycloak.url.startswith("http://127.0.0.1"):
        pytest.skip("needs a server on loopback")
    result, _ = run(keycloak, keycloak.url, "plan", spec(tmp_path, unique("hostile")))
    assert result.code == 0
    assert "warning" not in result.err


# --- malformed answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "shape"),
    [("html", "not JSON (text/html"), ("truncated", "not JSON"), ("json-string", "JSON str"), ("null", "JSON null")],
)
def test_malformed_answer_to_a_read_is_one_sentence_naming_the_request(
    keycloak: KeycloakTarget, tmp_path: Path, behaviour: str, shape: str
) -> None:
    realm = unique("hostile")
    with Hostile(keycloak.url, [Rule(behaviour, "GET", rf"^/admin/realms/{realm}$")]) as front:
        result, _ = run(keycloak, front.url, "plan", spec(tmp_path, realm))
    assert result.code == 4, result.all  # a null body is not "realm absent" (main planned a new realm)
    line = one_sentence(result)
    assert f"GET /admin/realms/{realm} was answered with HTTP 200" in line and shape in line
    assert "+ realm" not in result.out


@pytest.mark.parametrize("behaviour", ["html", "json-string", "null", "truncated"])
def test_malformed_answer_to_the_login_is_one_sentence(
    keycloak: KeycloakTarget, tmp_path: Path, behaviour: str
) -> None:
    with Hostile(keycloak.url, [Rule(behaviour, "POST", TOKEN_PATH)]) as front:
        result, _ = run(keycloak, front.url, "plan", spec(tmp_path, unique("hostile")))
    assert result.code == 4, result.all
    line = one_sentence(result)
    assert "POST /realms/master/protocol/openid-connect/token" in line
    assert "not a token" in line or "not JSON" in line


# --- time limits ---------------------------------------------------------------------------------


def limits(keycloak: KeycloakTarget) -> tuple[float, float]:
    """(per-request timeout, run deadline) small enough that a test spends little time waiting.

    The sandbox answers a login in milliseconds; a real Keycloak's login may take a second or two
    under load, so there the limits stay at 4 s and 6 s.
    """
    return (0.5, 1.5) if keycloak.is_sandbox else (4.0, 6.0)


@pytest.mark.parametrize("behaviour", ["stall", "trickle"])
def test_a_stalling_or_trickling_server_is_cut_off_by_the_deadline(
    keycloak: KeycloakTarget, tmp_path: Path, behaviour: str
) -> None:
    timeout, deadline = limits(keycloak)
    # a trickle sends a byte well within the timeout: only a limit on the whole answer cuts it off
    rule = Rule(behaviour, "GET", r"^/admin/realms/[^/]+$", every=timeout / 8)
    with Hostile(keycloak.url, [rule]) as front:
        result, elapsed = run(
            keycloak,
            front.url,
            "plan",
            spec(tmp_path, unique("hostile")),
            REALMCTL_REQUEST_TIMEOUT=f"{timeout:g}",
            REALMCTL_DEADLINE=f"{deadline:g}",
        )
    assert result.code == 4, result.all
    line = one_sentence(result)
    assert "GET /admin/realms/" in line and f"deadline of {deadline:g} s" in line
    assert elapsed < deadline + 9


def test_a_stalled_login_is_bounded_too(keycloak: KeycloakTarget, tmp_path: Path) -> None:
    # every login is trickled here, so a real server's slow login changes nothing: small limits
    # everywhere, a byte more often than the per-request timeout
    with Hostile(keycloak.url, [Rule("trickle", "POST", TOKEN_PATH, every=0.2)]) as front:
        result, elapsed = run(
            keycloak, front.url, "plan", "--timeout", "0.5", "--deadline", "1.5", spec(tmp_path, unique("hostile"))
        )
    assert result.code == 4, result.all
    assert "POST /realms/master/protocol/openid-connect/token" in one_sentence(result)
    assert elapsed < 15


def test_one_slow_answer_is_retried_within_the_deadline(keycloak: KeycloakTarget, tmp_path: Path) -> None:
    realm = unique("hostile")
    timeout, _ = limits(keycloak)
    with Hostile(keycloak.url, [Rule("stall", "GET", rf"^/admin/realms/{realm}$", times=1)]) as front:
        result, elapsed = run(keycloak, front.url, "plan", "--timeout", f"{timeout:g}", spec(tmp_path, realm))
    assert result.code == 0, result.all
    assert "+ realm" in result.out
    assert elapsed < timeout + 11


def test_connection_reset_is_retried_then_one_sentence(
    keycloak: KeycloakTarget, tmp_path: Path, quick_retries: None
) -> None:
    realm = unique("hostile")
    with Hostile(keycloak.url, [Rule("reset", "GET", rf"^/admin/realms/{realm}$")]) as front:
        result, elapsed = run(keycloak, front.url, "plan", "--deadline", "8", spec(tmp_path, realm))
    assert result.code == 4, result.all
    line = one_sentence(result)
    assert f"GET admin/realms/{realm} failed: connection to {front.url} failed" in line or (
        f"GET /admin/realms/{realm} was not answered before the run's deadline of 8 s" in line
    )
    assert sum(r.path == f"/admin/realms/{realm}" for r in front.received) >= 6  # retried (6 attempts each)
    assert elapsed < 20


# --- lost answers --------------------------------------------------------------------------------


LOST_DELETES = {
    "role": (
        {"roles": ["keep", "drop"]},
        {"roles": ["keep"]},
        r"/roles/drop$",
    ),
    # a link: Keycloak 26.7.3 and the sandbox answer 204 to the repeated DELETE (a control that passed on
    # main too); were it 404, the re-read would be the parent's list, as a link path has no GET
    "group membership": (
        {"groups": ["staff", "ops"], "users": {"bob": {"groups": ["staff", "ops"]}}},
        {"groups": ["staff", "ops"], "users": {"bob": {"groups": ["staff"]}}},
        r"/users/[^/]+/groups/[^/]+$",
    ),
}


@pytest.mark.parametrize("case", list(LOST_DELETES))
def test_a_lost_delete_answer_converges(
    keycloak: KeycloakTarget, tmp_path: Path, case: str, quick_retries: None
) -> None:
    """The DELETE took effect, its answer was lost, the retry got 404: after a re-read, that is success."""
    before, after, pattern = LOST_DELETES[case]
    realm = unique("hostile")
    created, _ = run(keycloak, keycloak.url, "apply", "--yes", spec(tmp_path, realm, before))
    assert created.code == 0, created.all
    rules = [Rule("lost", "DELETE", rf"^/admin/realms/{realm}{pattern}", times=1)]
    with Hostile(keycloak.url, rules) as front:
        result, _ = run(keycloak, front.url, "apply", "--yes", spec(tmp_path, realm, after))
    assert result.code == 0, result.all
    # the delete, and the write of the ownership record that noted what was deleted
    assert "Apply complete: 2 change(s) applied" in result.out
    assert "  ~ realmctl's ownership record (realm attribute realmctl.links)" in result.out
    deletes = [r for r in front.received if r.method == "DELETE"]
    assert len(deletes) == 2  # the lost one and its retry
    again, _ = run(keycloak, keycloak.url, "plan", "--detailed-exitcode", spec(tmp_path, realm, after))
    assert again.code == 0, again.all
    Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password).call("DELETE", f"admin/realms/{realm}")


def test_a_lost_create_answer_is_adopted_not_duplicated(
    keycloak: KeycloakTarget, tmp_path: Path, quick_retries: None
) -> None:
    realm = unique("hostile")
    rules = [Rule("lost", "POST", rf"^/admin/realms/{realm}/clients$", times=1)]
    body = {"clients": {"app": {"publicClient": False, "secret": SECRET}}}
    with Hostile(keycloak.url, rules) as front:
        result, _ = run(keycloak, front.url, "apply", "--yes", spec(tmp_path, realm, body))
    assert result.code == 0, result.all
    admin = Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password)
    assert len(admin.get(f"admin/realms/{realm}/clients", clientId="app")) == 1
    posts = [r for r in front.received if r.method == "POST" and r.path.endswith("/clients")]
    assert len(posts) == 1  # re-read found it: never sent twice
    admin.call("DELETE", f"admin/realms/{realm}")


# --- check --probe -------------------------------------------------------------------------------


PROBED_SPEC = str(ROOT / "examples" / "stored-tokens.yaml")


@pytest.fixture(scope="module")
def probed_sandbox() -> Iterator[str]:
    """A sandbox of this module's own with the stored-token example applied (the probes only read it)."""
    from realmctl.sandbox import Sandbox

    with Sandbox() as sb:
        applied = realmctl("apply", "--yes", PROBED_SPEC, env=env_for(sb.url, "admin", "admin"))
        assert applied.code == 0, applied.all
        yield sb.url


@pytest.mark.sandbox_only
@pytest.mark.parametrize("behaviour", ["redirect", "html"])
def test_probe_requests_follow_the_same_rules(other: Hostile, probed_sandbox: str, behaviour: str) -> None:
    """The probes' password-grant form (test user's password, client secret) is not re-sent elsewhere."""
    rules = [Rule(behaviour, "POST", r"^/realms/apps/protocol/openid-connect/token$", location=other.url)]
    with Hostile(probed_sandbox, rules) as front:
        env = env_for(front.url, "admin", "admin", REALMCTL_PROBE_USER="alice", REALMCTL_PROBE_PASSWORD="alice")
        result = realmctl("check", "--probe", PROBED_SPEC, env=env)
    assert result.code == 4, result.all
    line = one_sentence(result)
    assert "POST /realms/apps/protocol/openid-connect/token" in line
    assert other.received == []


# --- the sandbox exposed -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "warned"),
    [
        (["--host", "0.0.0.0"], True),
        (["--host", "0.0.0.0", "--admin-password", "not-the-default"], False),
        (["--host", "127.0.0.1"], False),
    ],
)
def test_sandbox_off_loopback_with_the_default_password_is_warned_about(args: list[str], warned: bool) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REALMCTL_SANDBOX_ADMIN_PASSWORD"}
    process = subprocess.Popen(
        [sys.executable, "-m", "realmctl", "sandbox", "--port", "0", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        lines = []
        while not lines or "serving" not in lines[-1]:
            lines.append(process.stderr.readline())
            assert lines[-1], lines  # the process ended before serving
    finally:
        process.terminate()
        process.wait(timeout=10)
    warning = "realmctl: warning: the sandbox listens on 0.0.0.0, beyond this machine, with the default admin password"
    assert (warning in "".join(lines)) is warned
