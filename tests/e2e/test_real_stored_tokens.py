"""The stored-token seed scenario on a real Keycloak, with real brokered logins.

The upstream identity provider is a second realm of the same server. Users log in to `my-app`
through it over Keycloak's own login pages (tests/brokered_login.py); the broker token endpoint
then answers from what Keycloak really stored. The sandbox variant (simulated logins) is
tests/e2e/test_seed_stored_tokens.py.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
import yaml

from tests.brokered_login import brokered_login, stored_token
from tests.conftest import KeycloakTarget
from tests.e2e.conftest import LongAdmin, Upstream, admin_events, enable_admin_events, make_upstream
from tests.helpers import ROOT, env_for, realmctl, unique

ALIAS = "azure"
REDIRECT = "https://my-app.example/callback"  # never fetched: the code is read from the Location
SECRET = "my-app-secret"  # the example's default


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def example_for(realm: str, upstream: Upstream, tmp_path: Path) -> Path:
    """examples/stored-tokens.yaml as it is, in `realm`, its IdP pointed at the upstream realm."""
    spec = yaml.safe_load((ROOT / "examples" / "stored-tokens.yaml").read_text())
    apps = spec["realms"].pop("apps")
    apps["identityProviders"][ALIAS]["providerId"] = "keycloak-oidc"
    apps["identityProviders"][ALIAS]["config"] = upstream.idp_config()
    spec["realms"] = {realm: apps}
    path = tmp_path / "stored-tokens.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def login(server: KeycloakTarget, realm: str, username: str, **options: Any) -> str:
    """A brokered login of `username` (password `<username>-up` upstream) to my-app; its access token."""
    done = brokered_login(server.url, realm, "my-app", SECRET, REDIRECT, ALIAS, username, f"{username}-up", **options)
    return done.access_token


def assert_stored_is_upstreams(server: KeycloakTarget, realm: str, upstream: Upstream, username: str) -> None:
    """After a new login, the broker endpoint gives exactly the access token the upstream realm issued."""
    response = stored_token(server.url, realm, ALIAS, login(server, realm, username))
    assert response.status_code == 200, response.text
    stored = response.json()
    assert stored["token_type"].lower() == "bearer" and "refresh_token" in stored
    issued = claims(stored["access_token"])
    assert issued["iss"] == upstream.issuer
    assert issued["sub"] == upstream.users[username]
    assert issued["azp"] == "app-broker"
    # The upstream realm's own record of its last code exchange names this very token.
    assert upstream.issued_access_tokens()[0] == issued["jti"]


@pytest.mark.parametrize("full_scope", [True, False], ids=["fullScopeAllowed", "fullScopeAllowed=false"])
def test_seed_scenario_with_real_logins(
    real_keycloak: KeycloakTarget, cleanup: list[str], tmp_path: Path, full_scope: bool, caplog: Any
) -> None:
    server = real_keycloak
    admin = LongAdmin(server)
    realm = unique("apps")
    upstream = make_upstream(server, realm, ALIAS)
    cleanup += [realm, upstream.realm]
    upstream.add_user("alice", "alice-up", email="alice@example.com", firstName="Alice", lastName="Liddell")
    upstream.add_user("erin", "erin-up")  # no e-mail, no name: the review-profile page asks for them
    upstream.add_user("bob", "bob-up", email="bob@example.com", firstName="Bob", lastName="Builder")

    # The realm as a team left it: the IdP without stored tokens, my-app, users linked by earlier logins.
    admin.post("admin/realms", {"realm": realm, "enabled": True})
    base = f"admin/realms/{realm}"
    idp = {"alias": ALIAS, "providerId": "keycloak-oidc", "enabled": True, "config": upstream.idp_config()}
    admin.post(f"{base}/identity-provider/instances", idp)
    admin.post(
        f"{base}/clients",
        {
            "clientId": "my-app",
            "publicClient": False,
            "secret": SECRET,
            "redirectUris": [REDIRECT],
            "fullScopeAllowed": full_scope,
        },
    )
    before = stored_token(server.url, realm, ALIAS, login(server, realm, "alice"))
    assert before.status_code == 403
    assert before.json() == {
        "errorMessage": f"Client [my-app] not authorized to retrieve tokens from identity provider [{ALIAS}]."
    }
    erin = brokered_login(
        server.url,
        realm,
        "my-app",
        SECRET,
        REDIRECT,
        ALIAS,
        "erin",
        "erin-up",
        profile={"email": "erin@example.com"},
    )
    assert erin.steps == ["upstream login form", "profile form"], erin.steps
    assert stored_token(server.url, realm, ALIAS, erin.access_token).status_code == 403

    enable_admin_events(admin, realm)
    spec = str(example_for(realm, upstream, tmp_path))
    env = env_for(server.url, server.admin_user, server.admin_password)
    applied = realmctl("apply", "--yes", spec, env=env)
    assert applied.code == 0, applied.all
    assert "+ role broker/read-token granted to user alice" in applied.out
    assert "+ role broker/read-token granted to user erin" in applied.out  # linked before: the backfill
    assert admin_events(admin, realm), "the first apply wrote, so Keycloak recorded admin events"

    # erin's session from before apply, refreshed: the backfilled role is in her token now, but
    # nothing was stored at her login (storeToken was off), so only a new login brings the token.
    refreshed = requests.post(
        f"{server.url}/realms/{realm}/protocol/openid-connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": erin.tokens["refresh_token"],
            "client_id": "my-app",
            "client_secret": SECRET,
        },
        timeout=30,
    )
    assert refreshed.status_code == 200, refreshed.text
    erin_id = admin.get(f"{base}/users", username="erin", exact="true")[0]["id"]
    nothing = stored_token(server.url, realm, ALIAS, refreshed.json()["access_token"])
    assert nothing.status_code == 404, nothing.text
    assert nothing.json() == {
        "errorMessage": f"No token stored for user [{erin_id}] with associated identity provider [{ALIAS}]."
    }

    assert_stored_is_upstreams(server, realm, upstream, "alice")
    assert_stored_is_upstreams(server, realm, upstream, "erin")
    assert "broker" in claims(login(server, realm, "erin"))["resource_access"]
    # bob was created by realmctl with the same e-mail: his first brokered login links the accounts.
    bob = brokered_login(server.url, realm, "my-app", SECRET, REDIRECT, ALIAS, "bob", "bob-up", link_password="bob")
    # The example declares his e-mail and names, so Keycloak 24+ has no profile page to show him.
    assert bob.steps == [
        "upstream login form",
        "account already exists: link",
        "re-authentication to link the existing account",
    ], bob.steps
    bob_stored = stored_token(server.url, realm, ALIAS, bob.access_token)
    assert bob_stored.status_code == 200, bob_stored.text
    assert claims(bob_stored.json()["access_token"])["sub"] == upstream.users["bob"]

    # Converged: neither a second apply nor a plan sends a write, as the server itself records.
    seen = len(admin_events(admin, realm))
    caplog.set_level(logging.DEBUG, logger="realmctl.http")
    again = realmctl("apply", "--yes", "-v", spec, env=env)
    assert again.code == 0, again.all
    planned = realmctl("plan", "--detailed-exitcode", "-v", spec, env=env)
    assert planned.code == 0, planned.all
    assert len(admin_events(admin, realm)) == seen
    sent = [r.getMessage() for r in caplog.records if r.name == "realmctl.http"]
    assert sent and all(line.startswith("GET ") for line in sent), sent
