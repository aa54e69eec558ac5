"""`check --probe` on a `modern` server performs each 26.6+ variant's real requests.

Stored tokens: the Identity Brokering API v2 POST, client-authenticated, the user's token in `token`.
Cross-realm: a realm-B token whose only audience is realm A's issuer, presented to realm A's token
endpoint with the jwt-bearer grant. A working setup probes ok; one broken link makes the probe fail
at the step the rule predicts, with Keycloak's own text, and names only that subject's rule.
The `modern_keycloak` server is the sandbox's `modern` profile, or the real one with
`REALMCTL_TEST_URL=http://127.0.0.1:18082 REALMCTL_TEST_PROFILE=modern`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.conftest import KeycloakTarget
from tests.e2e.conftest import LongAdmin, make_upstream
from tests.e2e.test_modern_chains import (
    ALIAS,
    APP_SECRET,
    REDIRECT,
    applied_and_idle,
    jwt_spec,
    set_client_attribute,
    user_token,
)
from tests.helpers import Admin, env_for, realmctl, unique


@pytest.fixture
def modern(modern_keycloak: KeycloakTarget) -> KeycloakTarget:
    return modern_keycloak


@pytest.fixture
def realms(modern: KeycloakTarget) -> Iterator[list[str]]:
    """Realms a test made on a real server, deleted after it."""
    made: list[str] = []
    yield made
    if not modern.is_sandbox:
        admin = Admin(modern.url, modern.admin_user, modern.admin_password)
        for realm in made:
            with contextlib.suppress(requests.RequestException):
                admin.call("DELETE", f"admin/realms/{realm}")


def probe(server: KeycloakTarget, spec: Path, *options: str, **env: str) -> Any:
    """`check --probe SPEC OPTIONS` with `env` added to the admin connection's variables."""
    credentials = env_for(server.url, server.admin_user, server.admin_password, **env)
    return realmctl("check", "--probe", str(spec), *options, env=credentials)


def test_probe_reads_stored_token_through_v2(modern: KeycloakTarget, realms: list[str], tmp_path: Path) -> None:
    server, admin = modern, LongAdmin(modern)
    realm = unique("pv2")
    if server.is_sandbox:
        idp: dict[str, Any] = {"providerId": "oidc", "trustEmail": True, "config": {"clientId": "x"}}
    else:
        upstream = make_upstream(server, realm, ALIAS)
        realms.append(upstream.realm)
        upstream.add_user("alice", "alice-up", email="alice@example.com", firstName="Alice", lastName="Liddell")
        idp = {"providerId": "keycloak-oidc", "trustEmail": True, "config": upstream.idp_config()}
    realms.append(realm)
    app = {"publicClient": False, "secret": APP_SECRET, "standardFlow": True, "directAccessGrants": True}
    spec = {
        "version": 1,
        "realms": {
            realm: {
                "identityProviders": {ALIAS: idp},
                "clients": {"my-app": app | {"redirectUris": [REDIRECT]}},
                "storedTokens": {"my-app-reads-azure": {"identityProvider": ALIAS, "clients": ["my-app"]}},
            }
        },
    }
    path = tmp_path / "stored.yaml"
    path.write_text(yaml.safe_dump(spec))
    applied_and_idle(server, path)
    token, _ = user_token(server, admin, realm, "upstream-access-token-probe")

    ok = probe(server, path, "--probe-client", "my-app", "--probe-token-env", "ALICE_TOKEN", ALICE_TOKEN=token)
    assert ok.code == 0, ok.all
    path_v2 = f"POST /realms/{realm}/broker/{ALIAS}/token client_id=my-app token=*** client_secret=***"
    assert f"ok   broker: {path_v2} -> 200 stored token" in ok.out, ok.out
    assert "GET /realms" not in ok.out  # the v1 endpoint is off on this server: never probed
    assert token not in ok.all and APP_SECRET not in ok.all

    set_client_attribute(admin, realm, "my-app", "external.token.idp", "other")
    broken = probe(server, path, "--probe-client", "my-app", "--probe-token-env", "ALICE_TOKEN", ALICE_TOKEN=token)
    assert broken.code == 3, broken.all
    assert f"FAIL broker: {path_v2} -> 403 Client not allowed to retrieve token for the provider" in broken.out, (
        broken.out
    )
    predicted = [line.split(":")[0].split()[-1] for line in broken.out.splitlines() if "predicted by" in line]
    assert predicted == ["v2.idp-not-allowed"], broken.out


def test_probe_performs_jwt_authorization_grant(modern: KeycloakTarget, realms: list[str], tmp_path: Path) -> None:
    server, admin = modern, LongAdmin(modern)
    a, b = unique("pja"), unique("pjb")
    realms += [a, b]
    path = tmp_path / "jwt.yaml"
    path.write_text(yaml.safe_dump(jwt_spec(a, b)))
    applied_and_idle(server, path)
    bob = {"REALMCTL_PROBE_USER": "bob", "REALMCTL_PROBE_PASSWORD": "bob-pw-e2e"}

    ok = probe(server, path, **bob)
    assert ok.code == 0, ok.all
    token_path = f"POST /realms/{b}/protocol/openid-connect/token"
    assert f"ok   token: {token_path} grant_type=password client_id=b-app" in ok.out, ok.out
    assert f"scope=openid realmctl-audience-{a} client_secret=***" in ok.out
    assert f"aud={server.url}/realms/{a}," in ok.out  # the assertion's only audience: realm A's issuer
    grant = f"POST /realms/{a}/protocol/openid-connect/token grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert f"ok   grant: {grant} client_id=a-app assertion=*** client_secret=*** -> 200 realm {a} token" in ok.out
    assert "preferred_username=alice-a" in ok.out
    assert "bob-pw-e2e" not in ok.all and "a-app-secret-e2e" not in ok.all

    uid = admin.get(f"admin/realms/{a}/users", username="alice-a", exact="true")[0]["id"]
    admin.call("DELETE", f"admin/realms/{a}/users/{uid}/federated-identity/realm-b")
    broken = probe(server, path, **bob)
    assert broken.code == 3, broken.all
    assert "-> 400 User not found" in broken.out and "FAIL grant:" in broken.out, broken.out
    predicted = [line.split(":")[0].split()[-1] for line in broken.out.splitlines() if "predicted by" in line]
    assert predicted == ["jwt.user-not-linked"], broken.out

    applied_and_idle(server, path)  # the spec links alice-a again
    set_client_attribute(admin, a, "a-app", "oauth2.jwt.authorization.grant.idp", "other")
    refused = probe(server, path, **bob)
    assert refused.code == 3 and "-> 400 Identity Provider is not allowed for the client" in refused.out, refused.all
    predicted = [line.split(":")[0].split()[-1] for line in refused.out.splitlines() if "predicted by" in line]
    assert predicted == ["jwt.idp-not-allowed"], refused.out
