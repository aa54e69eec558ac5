"""The probe names only the rules about its own subject, and check goes on past a server without
legacy exchange features (issue #17). Both run on the sandbox and on a real Keycloak."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.check.test_corpus import stored_tokens
from tests.helpers import Admin, env_for, realmctl, unique


def test_a_users_failure_is_not_blamed_on_another_users_finding(keycloak: Any, tmp_path: Path) -> None:
    realm = unique("subj")
    spec = stored_tokens(realm)
    users = spec["realms"][realm]["users"]
    users["bob"] = {**users["alice"], "email": "bob@example.com", "initialPassword": "bob-pw"}
    spec["realms"][realm]["roleGrants"] = [{"users": ["alice"], "clientRoles": {"broker": ["read-token"]}}]
    spec["realms"][realm]["identityProviders"]["azure"]["storedTokensReadable"] = False
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    env = env_for(keycloak.url, keycloak.admin_user, keycloak.admin_password)
    try:
        assert realmctl("apply", "--yes", "-q", str(path), env=env).code == 0
        as_bob = realmctl(
            "check",
            "--probe",
            str(path),
            env={**env, "REALMCTL_PROBE_USER": "bob", "REALMCTL_PROBE_PASSWORD": "bob-pw"},
        )
        assert as_bob.code == 3
        assert "predicted by broker.user-lacks-role: user bob does not hold broker/read-token" in as_bob.out
        as_alice = realmctl(
            "check",
            "--probe",
            str(path),
            env={**env, "REALMCTL_PROBE_USER": "alice", "REALMCTL_PROBE_PASSWORD": "alice-pw"},
        )
        assert "ERROR broker.user-lacks-role — realm" in as_alice.out  # bob's finding is reported ...
        probe = as_alice.out[as_alice.out.index("Probe:") :]
        assert "FAIL broker" in probe and "is not associated with identity provider [azure]" in probe
        assert "predicted by broker.user-not-linked: user alice has no link" in probe
        assert "user bob" not in probe  # ... but alice's failure is not put on bob's findings
    finally:
        Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password).call("DELETE", f"admin/realms/{realm}")


def test_without_legacy_features_check_still_names_the_other_links(keycloak: Any, tmp_path: Path) -> None:
    if keycloak.profile != "keycloak-26":
        pytest.skip("needs a server with the release defaults (the legacy server has the features)")
    a, b = unique("nfa"), unique("nfb")
    spec = {
        "version": 1,
        "realms": {
            b: {"clients": {"b-client": {"publicClient": False, "secret": "b-secret"}}},
            a: {
                "clients": {"a-client": {"publicClient": False, "secret": "a-secret", "standardTokenExchange": True}},
                "tokenExchange": {
                    "from-b": {
                        "source": {"realm": b, "client": "b-client"},
                        "identityProvider": "realm-b",
                        "clients": ["a-client"],
                        "method": "legacy-exchange",  # 26.6+ would take the JWT grant, which is on by default
                    }
                },
            },
        },
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    env = env_for(keycloak.url, keycloak.admin_user, keycloak.admin_password)
    admin = Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password)
    try:
        admin.post("admin/realms", {"realm": a, "enabled": True})
        admin.post(
            f"admin/realms/{a}/clients",
            {"clientId": "a-client", "publicClient": False, "attributes": {"standard.token.exchange.enabled": "true"}},
        )
        checked = realmctl("check", str(path), env=env)
        assert checked.code == 3
        assert "ERROR exchange.features-missing" in checked.out
        assert "ERROR exchange.idp-missing" in checked.out  # the rest is still named
        assert "WARNING exchange.standard-exchange-on" in checked.out
        assert 'invalid_request "Invalid token"' in checked.out
    finally:
        admin.call("DELETE", f"admin/realms/{a}")


def test_a_probe_client_the_spec_does_not_declare_is_said(keycloak: Any, tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(stored_tokens(unique("none"))))
    env = env_for(keycloak.url, keycloak.admin_user, keycloak.admin_password)
    result = realmctl("check", str(path), "--probe-client", "nope", "--probe-grant", "client_credentials", env=env)
    assert result.code == 1
    assert (
        "--probe-client nope: no realm of the spec declares it (give --probe-realm); nothing was probed" in result.err
    )


def test_the_probe_secret_env_var_must_be_set(keycloak: Any, tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(stored_tokens(unique("none"))))
    env = env_for(keycloak.url, keycloak.admin_user, keycloak.admin_password)
    missing = realmctl("check", str(path), "--probe-client", "my-app", "--probe-client-secret-env", "NOT_SET", env=env)
    assert missing.code == 1 and "env var NOT_SET is not set or empty" in missing.err
