"""The cross-realm exchange seed scenario on a real Keycloak.

On the legacy-exchange server: refused before `realmctl apply examples/cross-realm-exchange.yaml`,
a realm-A token for the realm-B user after, extra audiences and impersonation each refused until
declared; a second apply and a plan send no write (Keycloak's admin events and realmctl's request
log). On a server with the release's default features the plan refuses and nothing is written.
The sandbox variant is tests/e2e/test_seed_exchange.py.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import KeycloakTarget
from tests.e2e.conftest import LongAdmin, admin_events, enable_admin_events
from tests.e2e.test_seed_exchange import b_token, claims, example_for, exchange, impersonate
from tests.helpers import env_for, realmctl, unique

# Keycloak 24+ refuses a password grant to a user missing a required profile attribute (first and
# last name in the default user profile): "Account is not fully set up". The example declares
# neither for carol, so these tests declare them (test_real_example_users.py keeps the defect).
NAMES = {"firstName": "Carol", "lastName": "Realm-B"}


def spec_for(a: str, b: str, tmp_path: Path, **entry: Any) -> Path:
    """The example with realms renamed (tests/e2e/test_seed_exchange.py), carol given a name."""
    path = example_for(a, b, tmp_path, **entry)
    spec = yaml.safe_load(path.read_text())
    spec["realms"][b]["users"]["carol"].update(NAMES)
    for user in (spec["realms"][a].get("users") or {}).values():
        user.update(firstName="Dave", lastName="Realm-A")
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def apply_realm_b(server: KeycloakTarget, path: Path, a: str, tmp_path: Path) -> None:
    """Realm B alone first, so that carol has a token before realm A's part exists."""
    only_b = yaml.safe_load(path.read_text())
    only_b["realms"].pop(a)
    b_path = tmp_path / "b.yaml"
    b_path.write_text(yaml.safe_dump(only_b))
    result = realmctl("apply", "--yes", str(b_path), env=env_for(server.url, server.admin_user, server.admin_password))
    assert result.code == 0, result.all


def assert_no_write(
    server: KeycloakTarget, path: Path, realms: list[str], admin: LongAdmin, caplog: Any, *commands: list[str]
) -> None:
    """Each command sends only GETs (realmctl's log) and Keycloak records no admin event (its log)."""
    env = env_for(server.url, server.admin_user, server.admin_password)
    seen = {realm: len(admin_events(admin, realm)) for realm in realms}
    caplog.set_level(logging.DEBUG, logger="realmctl.http")
    for command in commands:
        caplog.clear()
        result = realmctl(*command, "-v", str(path), env=env)
        assert result.code == 0, result.all
        sent = [r.getMessage() for r in caplog.records if r.name == "realmctl.http"]
        assert sent and all(line.startswith("GET ") for line in sent), (command, sent)
    assert {realm: len(admin_events(admin, realm)) for realm in realms} == seen


def test_exchange_refused_before_apply_and_works_after(
    real_legacy_keycloak: KeycloakTarget, cleanup: list[str], tmp_path: Path, caplog: Any
) -> None:
    server = real_legacy_keycloak
    url = server.url
    admin = LongAdmin(server)
    a, b = unique("realm-a"), unique("realm-b")
    cleanup += [a, b]
    path = spec_for(a, b, tmp_path)
    apply_realm_b(server, path, a, tmp_path)
    admin.post("admin/realms", {"realm": a, "enabled": True})
    admin.post(
        f"admin/realms/{a}/clients", {"clientId": "realm-a-client", "publicClient": False, "secret": "realm-a-secret"}
    )
    before = exchange(url, a, b_token(url, b))
    assert before.status_code == 400
    assert before.json() == {"error": "invalid_issuer", "error_description": "Invalid subject_issuer parameter"}

    enable_admin_events(admin, a)
    enable_admin_events(admin, b)
    applied = realmctl("apply", "--yes", str(path), env=env_for(url, server.admin_user, server.admin_password))
    assert applied.code == 0, applied.all
    assert admin_events(admin, a), "the apply wrote to realm A, so Keycloak recorded admin events"
    after = exchange(url, a, b_token(url, b))
    assert after.status_code == 200, after.text
    issued = claims(after.json()["access_token"])
    assert issued["iss"] == f"{url}/realms/{a}"
    assert issued["azp"] == "realm-a-client"
    assert issued["preferred_username"] == "carol"
    carol = admin.get(f"admin/realms/{a}/users", username="carol", exact="true")[0]
    links = admin.get(f"admin/realms/{a}/users/{carol['id']}/federated-identity")
    b_carol = admin.get(f"admin/realms/{b}/users", username="carol", exact="true")[0]
    assert [(link["identityProvider"], link["userId"]) for link in links] == [("realm-b", b_carol["id"])]

    assert_no_write(server, path, [a, b], admin, caplog, ["apply", "--yes"], ["plan", "--detailed-exitcode"])


def test_extra_audience_needs_its_permission_and_gets_it(
    real_legacy_keycloak: KeycloakTarget, cleanup: list[str], tmp_path: Path
) -> None:
    server = real_legacy_keycloak
    url = server.url
    a, b = unique("realm-a"), unique("realm-b")
    cleanup += [a, b]
    env = env_for(url, server.admin_user, server.admin_password)
    plain = spec_for(a, b, tmp_path)
    apply_realm_b(server, plain, a, tmp_path)
    spec = yaml.safe_load(plain.read_text())
    spec["realms"][a]["clients"]["api-a"] = {"publicClient": False}  # the audience exists, not its permission
    plain.write_text(yaml.safe_dump(spec))
    assert realmctl("apply", "--yes", str(plain), env=env).code == 0
    refused = exchange(url, a, b_token(url, b), audience="api-a")
    assert refused.status_code == 403
    assert refused.json() == {"error": "access_denied", "error_description": "Client not allowed to exchange"}

    result = realmctl("apply", "--yes", str(spec_for(a, b, tmp_path, audiences=["api-a"])), env=env)
    assert result.code == 0, result.all
    accepted = exchange(url, a, b_token(url, b), audience="api-a")
    assert accepted.status_code == 200, accepted.text
    assert "api-a" in claims(accepted.json()["access_token"])["aud"]


def test_impersonation_needs_its_permission_and_gets_it(
    real_legacy_keycloak: KeycloakTarget, cleanup: list[str], tmp_path: Path
) -> None:
    server = real_legacy_keycloak
    url = server.url
    a, b = unique("realm-a"), unique("realm-b")
    cleanup += [a, b]
    env = env_for(url, server.admin_user, server.admin_password)
    without = spec_for(a, b, tmp_path)
    apply_realm_b(server, without, a, tmp_path)
    spec = yaml.safe_load(without.read_text())
    spec["realms"][a]["users"] = {"dave": {"email": "dave@example.com", "firstName": "Dave", "lastName": "Realm-A"}}
    without.write_text(yaml.safe_dump(spec))
    assert realmctl("apply", "--yes", str(without), env=env).code == 0
    carol_in_a = exchange(url, a, b_token(url, b)).json()["access_token"]
    refused = impersonate(url, a, carol_in_a, "dave")
    assert refused.status_code == 403
    assert refused.json() == {"error": "access_denied", "error_description": "Client not allowed to exchange"}

    result = realmctl("apply", "--yes", str(spec_for(a, b, tmp_path, impersonation=True)), env=env)
    assert result.code == 0, result.all
    carol_in_a = exchange(url, a, b_token(url, b)).json()["access_token"]
    accepted = impersonate(url, a, carol_in_a, "dave")
    assert accepted.status_code == 200, accepted.text
    assert claims(accepted.json()["access_token"])["preferred_username"] == "dave"


def test_default_features_plan_refuses_and_writes_nothing(
    real_keycloak: KeycloakTarget, cleanup: list[str], tmp_path: Path, caplog: Any
) -> None:
    server = real_keycloak
    if server.profile not in ("default", "keycloak-26"):
        pytest.skip(f"needs a real Keycloak with the release's default features (this one: {server.profile})")
    admin = LongAdmin(server)
    a, b = unique("realm-a"), unique("realm-b")
    cleanup += [a, b]
    admin.post("admin/realms", {"realm": b, "enabled": True})  # one realm exists, to watch for writes
    enable_admin_events(admin, b)
    env = env_for(server.url, server.admin_user, server.admin_password)
    caplog.set_level(logging.DEBUG, logger="realmctl.http")
    for command in (["plan"], ["apply", "--yes"]):
        caplog.clear()
        # Pinned: unpinned, a 26.6+ default server gets the JWT Authorization Grant (test_modern_chains.py).
        result = realmctl(*command, "-v", str(spec_for(a, b, tmp_path, method="legacy-exchange")), env=env)
        assert result.code == 1, result.all
        assert "needs Keycloak's legacy token exchange" in result.err
        assert "Start Keycloak with --features=token-exchange,admin-fine-grained-authz:v1" in result.err
        assert "standard token exchange (v2) handles only tokens of the same realm" in result.err
        sent = [r.getMessage() for r in caplog.records if r.name == "realmctl.http"]
        assert sent and all(line.startswith("GET ") for line in sent), (command, sent)
    assert admin.call("GET", f"admin/realms/{a}").status_code == 404
    assert admin_events(admin, b) == []
    assert admin.get(f"admin/realms/{b}/clients", clientId="realm-b-client") == []


def probe(server: KeycloakTarget, path: Path) -> str:
    """`realmctl check --probe` as carol: what a user runs to prove the chain holds."""
    env = env_for(
        server.url,
        server.admin_user,
        server.admin_password,
        REALMCTL_PROBE_USER="carol",
        REALMCTL_PROBE_PASSWORD="carol",
    )
    assert realmctl("apply", "--yes", str(path), env=env).code == 0
    return realmctl("check", "--probe", str(path), env=env).out


def test_the_examples_user_can_get_a_token(
    real_legacy_keycloak: KeycloakTarget, cleanup: list[str], tmp_path: Path
) -> None:
    a, b = unique("realm-a"), unique("realm-b")
    cleanup += [a, b]
    out = probe(real_legacy_keycloak, example_for(a, b, tmp_path))  # the example as it is
    token_step = (
        f"ok   token: POST /realms/{b}/protocol/openid-connect/token grant_type=password client_id=realm-b-client"
    )
    assert token_step in out and "password=***" in out, out


def test_probe_proves_the_exchange(real_legacy_keycloak: KeycloakTarget, cleanup: list[str], tmp_path: Path) -> None:
    a, b = unique("realm-a"), unique("realm-b")
    cleanup += [a, b]
    out = probe(real_legacy_keycloak, spec_for(a, b, tmp_path))
    exchange_step = f"ok   exchange: POST /realms/{a}/protocol/openid-connect/token grant_type=urn:ietf:params:oauth"
    assert exchange_step in out and f"-> 200 realm {a} token" in out, out
