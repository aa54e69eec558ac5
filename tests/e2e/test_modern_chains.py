"""The two chains wired the Keycloak 26.6+ way, end to end, on a `modern` server.

`modern` is Keycloak 26.7 started with `--features=jwt-authorization-grant,identity-brokering-api:v2`:
the sandbox's `modern` profile by default, or a real server with
`REALMCTL_TEST_URL=http://127.0.0.1:18082 REALMCTL_TEST_PROFILE=modern`. Each test applies a spec
written as intent (`storedTokens`, `tokenExchange`), checks that a second plan is empty and that
`check` passes, then *uses* the chain for real (the v2 broker endpoint after a brokered login; a
realm-B token turned into a realm-A token by the jwt-bearer grant); then breaks one link by hand and
expects `check` to name it and the server to refuse with the text the rule quotes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
import yaml

from tests.brokered_login import brokered_login
from tests.conftest import KeycloakTarget
from tests.e2e.conftest import BROKER_CLIENT, LongAdmin, deleting, make_upstream
from tests.helpers import Admin, env_for, realmctl, unique

ALIAS = "azure"
REDIRECT = "https://my-app.example/callback"  # never fetched: the code is read from the Location
APP_SECRET = "my-app-secret-e2e"  # test-only values on throwaway realms
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.fixture
def modern(modern_keycloak: KeycloakTarget) -> KeycloakTarget:
    """The `modern` server of tests/conftest.py (a real one with --backend keycloak or
    REALMCTL_TEST_URL + REALMCTL_TEST_PROFILE=modern, else the sandbox's `modern` profile)."""
    return modern_keycloak


@pytest.fixture
def realms(modern: KeycloakTarget) -> Iterator[list[str]]:
    yield from deleting(modern)


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def run(server: KeycloakTarget, *args: str) -> Any:
    return realmctl(*args, env=env_for(server.url, server.admin_user, server.admin_password))


def applied_and_idle(server: KeycloakTarget, spec: Path) -> None:
    result = run(server, "apply", "--yes", str(spec))
    assert result.code == 0, result.all
    again = run(server, "plan", "--detailed-exitcode", str(spec))
    assert again.code == 0, again.all  # second run: nothing to write


def set_client_attribute(admin: Admin, realm: str, client_id: str, key: str, value: str) -> None:
    client = admin.client(realm, client_id)
    assert client is not None
    client["attributes"] = {**(client.get("attributes") or {}), key: value}
    admin.put(f"admin/realms/{realm}/clients/{client['id']}", client)


# --- stored tokens through the Identity Brokering API v2 ----------------------------------------------
def read_v2(server: KeycloakTarget, realm: str, user_token: str) -> requests.Response:
    return requests.post(
        f"{server.url}/realms/{realm}/broker/{ALIAS}/token",
        data={"client_id": "my-app", "client_secret": APP_SECRET, "token": user_token},
        timeout=30,
    )


def user_token(server: KeycloakTarget, admin: Admin, realm: str, upstream_token: str) -> tuple[str, str]:
    """A brokered login of alice to my-app: real on a real server, simulated on the sandbox.
    Returns her my-app access token and the upstream access token Keycloak stored at that login."""
    if not server.is_sandbox:
        done = brokered_login(server.url, realm, "my-app", APP_SECRET, REDIRECT, ALIAS, "alice", "alice-up")
        return done.access_token, ""
    login = {
        "subject": "upstream-alice",
        "username": "alice",
        "email": "alice@example.com",
        "token": {"access_token": upstream_token, "token_type": "Bearer", "expires_in": 300, "scope": "openid"},
    }
    admin.post(f"sandbox/realms/{realm}/broker/{ALIAS}/login", login)
    uid = admin.get(f"admin/realms/{realm}/users", username="alice", exact="true")[0]["id"]
    admin.put(f"admin/realms/{realm}/users/{uid}/reset-password", {"type": "password", "value": "alice-pw"})
    answer = requests.post(
        f"{server.url}/realms/{realm}/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": "my-app", "client_secret": APP_SECRET}
        | {"username": "alice", "password": "alice-pw"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"], upstream_token


def upstream_idp(server: KeycloakTarget, realm: str, made: list[str]) -> tuple[dict[str, Any], str | None]:
    """The IdP alice logs in through: a real upstream realm on a real server (its issuer returned),
    a placeholder on the sandbox (whose brokered login is simulated)."""
    if server.is_sandbox:
        return {"providerId": "oidc", "trustEmail": True, "config": {"clientId": "x"}}, None
    upstream = make_upstream(server, realm, ALIAS)
    made.append(upstream.realm)
    upstream.add_user("alice", "alice-up", email="alice@example.com", firstName="Alice", lastName="Liddell")
    return {"providerId": "keycloak-oidc", "trustEmail": True, "config": upstream.idp_config()}, upstream.issuer


def stored_spec(realm: str, idp: dict[str, Any]) -> dict[str, Any]:
    """The stored-token intent: my-app reads azure's stored tokens, whichever API the server runs."""
    return {
        "version": 1,
        "realms": {
            realm: {
                "identityProviders": {ALIAS: idp},
                "clients": {
                    "my-app": {
                        "publicClient": False,
                        "secret": APP_SECRET,
                        "standardFlow": True,
                        "directAccessGrants": True,
                        "redirectUris": [REDIRECT],
                    }
                },
                "storedTokens": {"my-app-reads-azure": {"identityProvider": ALIAS, "clients": ["my-app"]}},
            }
        },
    }


def test_stored_tokens_through_brokering_api_v2(modern: KeycloakTarget, realms: list[str], tmp_path: Path) -> None:
    server, admin = modern, LongAdmin(modern)
    realm = unique("st2")
    idp, upstream_issuer = upstream_idp(server, realm, realms)
    realms.append(realm)
    path = tmp_path / "stored.yaml"
    path.write_text(yaml.safe_dump(stored_spec(realm, idp)))

    plan = run(server, "plan", str(path))
    assert "identity-brokering-api v2 (client attributes) because v2 is on" in plan.all
    applied_and_idle(server, path)
    attributes = (admin.client(realm, "my-app") or {})["attributes"]
    assert attributes["external.token.enabled"] == "true" and attributes["external.token.idp"] == ALIAS
    assert admin.get(f"admin/realms/{realm}/clients", clientId="broker") == []  # v1 off: no broker client
    checked = run(server, "check", str(path))
    assert checked.code == 0, checked.all

    token, upstream_token = user_token(server, admin, realm, "upstream-access-token-e2e")
    answer = read_v2(server, realm, token)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert "refresh_token" not in body and body["refresh_expires_in"] == 0
    if upstream_issuer:
        assert claims(body["access_token"])["iss"] == upstream_issuer
    else:
        assert body["access_token"] == upstream_token
    # Keycloak's answers to a wrong call, the same from the sandbox and the real server.
    for data, status, error in [
        ({"token": token}, 401, ("invalid_client", "Invalid client or Invalid client credentials")),
        ({"client_id": "my-app", "client_secret": "wrong", "token": token}, 401, ("unauthorized_client", None)),
        ({"client_id": "my-app", "client_secret": APP_SECRET, "token": "garbage"}, 400, ("invalid_token", None)),
        ({"client_id": "my-app", "client_secret": APP_SECRET}, 400, ("invalid_token", "Invalid token")),
    ]:
        wrong = requests.post(f"{server.url}/realms/{realm}/broker/{ALIAS}/token", data=data, timeout=30)
        assert wrong.status_code == status and wrong.json()["error"] == error[0], (data.keys(), wrong.text)
        assert error[1] is None or wrong.json()["error_description"] == error[1]
    # v1 is off on this server.
    v1 = requests.get(
        f"{server.url}/realms/{realm}/broker/{ALIAS}/token", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert (v1.status_code, v1.json()) == (400, {"errorMessage": "Identity Brokering API feature not enabled"})

    # Break one link: the client's IdP list no longer names azure.
    set_client_attribute(admin, realm, "my-app", "external.token.idp", "other")
    broken = run(server, "check", str(path))
    assert broken.code == 3, broken.all
    assert "v2.idp-not-allowed" in broken.out and "client my-app" in broken.out
    refused = read_v2(server, realm, token)
    assert refused.status_code == 403
    assert refused.json() == {
        "error": "invalid_client",
        "error_description": "Client not allowed to retrieve token for the provider",
    }
    # And the missing switch.
    set_client_attribute(admin, realm, "my-app", "external.token.enabled", "false")
    off = run(server, "check", str(path))
    assert off.code == 3 and "v2.client-not-enabled" in off.out, off.all
    applied_and_idle(server, path)  # mended by the spec
    assert read_v2(server, realm, token).status_code == 200


# --- cross-realm acceptance through the JWT Authorization Grant -----------------------------------------
def assertion(server: KeycloakTarget, b: str, a: str) -> str:
    """bob's realm-B token for b-app with the audience scope: aud = realm A's issuer only."""
    answer = requests.post(
        f"{server.url}/realms/{b}/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": "b-app", "client_secret": "b-app-secret-e2e"}
        | {"username": "bob", "password": "bob-pw-e2e", "scope": f"openid realmctl-audience-{a}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    token = str(answer.json()["access_token"])
    assert claims(token)["aud"] == f"{server.url}/realms/{a}"
    return token


def grant(server: KeycloakTarget, a: str, token: str | None) -> requests.Response:
    data = {"grant_type": JWT_BEARER, "client_id": "a-app", "client_secret": "a-app-secret-e2e"}
    if token is not None:
        data["assertion"] = token
    return requests.post(f"{server.url}/realms/{a}/protocol/openid-connect/token", data=data, timeout=30)


def jwt_spec(a: str, b: str) -> dict[str, Any]:
    return {
        "version": 1,
        "realms": {
            b: {
                "clients": {
                    "b-app": {
                        "publicClient": False,
                        "directAccessGrants": True,
                        "fullScopeAllowed": False,
                        "secret": "b-app-secret-e2e",
                    }
                },
                "users": {
                    "bob": {"initialPassword": "bob-pw-e2e", "email": "bob@example.com"}
                    | {"firstName": "Bob", "lastName": "Builder"}
                },
            },
            a: {
                "clients": {"a-app": {"publicClient": False, "secret": "a-app-secret-e2e"}},
                "users": {"alice-a": {"email": "alice@example.com", "firstName": "Alice", "lastName": "A"}},
                "tokenExchange": {
                    "from-b": {
                        "source": {"realm": b, "client": "b-app"},
                        "identityProvider": "realm-b",
                        "clients": ["a-app"],
                        "users": {"alice-a": "bob@example.com"},
                    }
                },
            },
        },
    }


def test_cross_realm_through_jwt_authorization_grant(modern: KeycloakTarget, realms: list[str], tmp_path: Path) -> None:
    server, admin = modern, LongAdmin(modern)
    a, b = unique("jwa"), unique("jwb")
    realms += [a, b]
    path = tmp_path / "jwt.yaml"
    path.write_text(yaml.safe_dump(jwt_spec(a, b)))

    plan = run(server, "plan", str(path))
    assert "JWT Authorization Grant because legacy token exchange is off" in plan.all, plan.all
    applied_and_idle(server, path)
    assert run(server, "check", str(path)).code == 0

    answer = grant(server, a, assertion(server, b, a))
    assert answer.status_code == 200, answer.text
    issued = claims(answer.json()["access_token"])
    assert issued["preferred_username"] == "alice-a" and issued["azp"] == "a-app"
    assert "refresh_token" not in answer.json()

    used = assertion(server, b, a)
    assert grant(server, a, used).status_code == 200
    for sent, text in [
        (used, "Token reuse detected"),
        ("garbage", "The provided assertion is not a valid JWT"),
        ("", "The provided assertion is not a valid JWT"),
        (None, "Missing parameter:assertion"),
    ]:
        wrong = grant(server, a, sent)
        assert (wrong.status_code, wrong.json()) == (400, {"error": "invalid_grant", "error_description": text})

    uid = admin.get(f"admin/realms/{a}/users", username="alice-a", exact="true")[0]["id"]
    idp_path = f"admin/realms/{a}/identity-provider/instances/realm-b"
    breaks = [
        (
            "jwt.user-not-linked",
            "User not found",
            lambda: admin.call("DELETE", f"admin/realms/{a}/users/{uid}/federated-identity/realm-b"),
        ),
        (
            "jwt.idp-grant-off",
            "No Identity Provider for provided issuer",
            lambda: admin.put(
                idp_path,
                (lambda rep: rep | {"config": rep["config"] | {"jwtAuthorizationGrantEnabled": "false"}})(
                    admin.get(idp_path)
                ),
            ),
        ),
        (
            "jwt.client-not-enabled",
            "JWT Authorization Grant is not supported for the requested client",
            lambda: set_client_attribute(admin, a, "a-app", "oauth2.jwt.authorization.grant.enabled", "false"),
        ),
        (
            "jwt.idp-not-allowed",
            "Identity Provider is not allowed for the client",
            lambda: set_client_attribute(admin, a, "a-app", "oauth2.jwt.authorization.grant.idp", "other"),
        ),
    ]
    for rule, text, do in breaks:
        do()
        found = run(server, "check", str(path))
        assert found.code == 3 and rule in found.out, (rule, found.all)
        refused = grant(server, a, assertion(server, b, a))  # a fresh assertion: a failed grant may consume one
        assert (refused.status_code, refused.json()) == (400, {"error": "invalid_grant", "error_description": text})
        applied_and_idle(server, path)  # the spec mends it
        assert grant(server, a, assertion(server, b, a)).status_code == 200, rule


# --- the same intents, unchanged, on a legacy-exchange server: the v1 variants ---------------------------
@pytest.fixture
def legacy_realms(legacy_keycloak: KeycloakTarget) -> Iterator[list[str]]:
    yield from deleting(legacy_keycloak)


def test_the_stored_token_intent_goes_through_v1_on_a_legacy_server(
    legacy_keycloak: KeycloakTarget, legacy_realms: list[str], tmp_path: Path
) -> None:
    """`stored_spec`, as the v2 test applies it, on a server whose brokering API is v1: realmctl wires
    the broker/read-token chain, and the user reads the stored token at the v1 GET endpoint."""
    server, admin = legacy_keycloak, LongAdmin(legacy_keycloak)
    realm = unique("st1")
    idp, upstream_issuer = upstream_idp(server, realm, legacy_realms)
    legacy_realms.append(realm)
    path = tmp_path / "stored.yaml"
    path.write_text(yaml.safe_dump(stored_spec(realm, idp)))

    plan = run(server, "plan", str(path))
    assert "identity-brokering-api v1" in plan.all, plan.all
    applied_and_idle(server, path)
    attributes = (admin.client(realm, "my-app") or {}).get("attributes") or {}
    assert "external.token.enabled" not in attributes
    checked = run(server, "check", str(path))
    assert checked.code == 0, checked.all

    token, upstream_token = user_token(server, admin, realm, "upstream-access-token-e2e-v1")
    answer = requests.get(
        f"{server.url}/realms/{realm}/broker/{ALIAS}/token", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    stored = answer.json()["access_token"]
    assert claims(stored)["iss"] == upstream_issuer if upstream_issuer else stored == upstream_token


def test_the_cross_realm_intent_goes_through_legacy_exchange_on_a_legacy_server(
    legacy_keycloak: KeycloakTarget, legacy_realms: list[str], tmp_path: Path
) -> None:
    """`jwt_spec`, as the JWT-grant test applies it, on a server with legacy token exchange: realmctl
    wires the IdP, FGAP v1 permission and client policy, and bob's realm-B token is exchanged at A."""
    server = legacy_keycloak
    a, b = unique("lxa"), unique("lxb")
    legacy_realms += [a, b]
    path = tmp_path / "cross.yaml"
    path.write_text(yaml.safe_dump(jwt_spec(a, b)))

    plan = run(server, "plan", str(path))
    assert "legacy" in plan.all.lower(), plan.all
    applied_and_idle(server, path)
    checked = run(server, "check", str(path))
    assert checked.code == 0, checked.all

    exchanged = legacy_exchange(server, a, b, "a-app-secret-e2e")
    assert exchanged.status_code == 200, exchanged.text
    assert claims(exchanged.json()["access_token"])["iss"] == f"{server.url}/realms/{a}"


def legacy_exchange(server: KeycloakTarget, a: str, b: str, secret: str | None) -> requests.Response:
    """Bob's realm-B token (password grant at b-app) exchanged at realm A by a-app (legacy v1, with
    `subject_issuer`); a-app authenticates with `secret`, or not at all when it is public."""
    subject = requests.post(
        f"{server.url}/realms/{b}/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": "b-app", "client_secret": "b-app-secret-e2e"}
        | {"username": "bob", "password": "bob-pw-e2e", "scope": "openid"},
        timeout=30,
    )
    assert subject.status_code == 200, subject.text
    client = {"client_id": "a-app"} | ({"client_secret": secret} if secret else {})
    return requests.post(
        f"{server.url}/realms/{a}/protocol/openid-connect/token",
        data=client
        | {
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": subject.json()["access_token"],
            "subject_issuer": "realm-b",
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        },
        timeout=30,
    )


# --- a public requester: legacy exchange lets it in, the JWT Authorization Grant does not ----------------
def public_requester_spec(a: str, b: str, method: str | None) -> dict[str, Any]:
    spec = jwt_spec(a, b)
    spec["realms"][a]["clients"]["a-app"] = {"publicClient": True}
    if method:
        spec["realms"][a]["tokenExchange"]["from-b"]["method"] = method
    return spec


def test_a_public_requester_is_valid_for_legacy_exchange_and_exchanges(
    legacy_keycloak: KeycloakTarget, legacy_realms: list[str], tmp_path: Path
) -> None:
    """Real 26.7.3 legacy exchange lets a public client exchange (200, no client authentication):
    `validate` warns about the open door instead of refusing, and the chain is applied and works."""
    server = legacy_keycloak
    a, b = unique("lpa"), unique("lpb")
    legacy_realms += [a, b]
    path = tmp_path / "public.yaml"
    path.write_text(yaml.safe_dump(public_requester_spec(a, b, "legacy-exchange")))

    valid = realmctl("validate", str(path))
    assert valid.code == 0, valid.all
    assert "warning: exchange policy `from-b` lets client `a-app` exchange tokens, and `a-app` is public" in valid.out
    applied_and_idle(server, path)
    exchanged = legacy_exchange(server, a, b, None)  # public: no secret
    assert exchanged.status_code == 200, exchanged.text
    assert claims(exchanged.json()["access_token"])["azp"] == "a-app"


def test_a_public_requester_is_refused_for_the_jwt_grant(
    modern: KeycloakTarget, realms: list[str], tmp_path: Path
) -> None:
    """The grant needs a confidential client: pinned, `validate` refuses it; unpinned, `validate`
    warns and `plan` on a server without legacy exchange (where the grant is chosen) refuses it."""
    a, b = unique("jpa"), unique("jpb")
    pinned, unpinned = tmp_path / "pinned.yaml", tmp_path / "unpinned.yaml"
    pinned.write_text(yaml.safe_dump(public_requester_spec(a, b, "jwt-authorization-grant")))
    unpinned.write_text(yaml.safe_dump(public_requester_spec(a, b, None)))

    refused = realmctl("validate", str(pinned))
    assert refused.code == 1 and '"Public client not allowed to use authorization grant"' in refused.out, refused.all
    warned = realmctl("validate", str(unpinned))
    assert warned.code == 0 and "which refuses public clients (plan says so)" in warned.out, warned.all
    plan = run(modern, "plan", str(unpinned))
    assert plan.code != 0 and "client 'a-app' is public" in plan.all, plan.all


# --- a v1 chain wired by hand, in a realm made on a v2 server --------------------------------------------
def test_a_v1_chain_by_hand_in_a_realm_without_broker_client_is_a_plan_error(
    modern: KeycloakTarget, realms: list[str], tmp_path: Path
) -> None:
    """broker/read-token named by hand (no storedTokens entry) in an existing realm that has no `broker`
    client: `plan` names the cause from the client listing it reads anyway (no serverinfo request),
    instead of `apply` failing half-way with "role broker/read-token does not exist"."""
    server, admin = modern, LongAdmin(modern)
    realm = unique("v1h")
    realms.append(realm)
    app = {"publicClient": False, "secret": APP_SECRET, "directAccessGrants": True}
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump({"version": 1, "realms": {realm: {"clients": {"my-app": app}}}}))
    applied_and_idle(server, base)
    idp = {"providerId": "oidc", "storeToken": True, "storedTokensReadable": True, "config": {"clientId": "x"}}
    v1 = {
        "identityProviders": {ALIAS: idp},
        "clients": {"my-app": app},
        "users": {"alice": {"email": "alice@example.com", "firstName": "Alice", "lastName": "A"}},
        "roleGrants": [{"users": ["alice"], "clientRoles": {"broker": ["read-token"]}}],
    }
    path = tmp_path / "v1.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "realms": {realm: v1}}))

    if server.is_sandbox:
        admin.reset_requests()
    plan = run(server, "plan", str(path))
    assert plan.code == 1, plan.all
    assert f"realm {realm} wires stored-token reading for the Identity Brokering API v1" in plan.all
    assert "has no `broker` client, so broker/read-token does not exist" in plan.all
    if server.is_sandbox:
        log = admin.requests()["log"]
        assert not [e for e in log if "serverinfo" in e["path"]], "\n".join(f"{e['method']} {e['target']}" for e in log)
    applied = run(server, "apply", "--yes", str(path))
    assert applied.code == 1 and "has no `broker` client" in applied.all, applied.all
    assert admin.get(f"admin/realms/{realm}/users", username="alice", exact="true") == []  # nothing written


# --- an expired stored token without a refresh token: what each API answers, and what check says ---------
@pytest.mark.parametrize("target", ["modern_keycloak", "legacy_keycloak"])
def test_an_expired_stored_token_without_refresh_token(target: str, request: Any, tmp_path: Path) -> None:
    """Observed on real 26.7.3 with upstream access tokens of 10 s: when the IdP returned no refresh
    token, the v1 GET answers 200 with the expired token as it was, and the v2 POST 400 token_expired
    "linked token is expired" (with a refresh token both refresh it). `upkeep.no-refresh-token` says
    which, for the API the server runs."""
    server: KeycloakTarget = request.getfixturevalue(target)
    made = request.getfixturevalue("legacy_realms" if target == "legacy_keycloak" else "realms")
    admin, realm = LongAdmin(server), unique("exp")
    v2 = server.profile == "modern"
    if server.is_sandbox:
        idp: dict[str, Any] = {"providerId": "oidc", "trustEmail": True, "config": {"clientId": "x"}}
    else:
        upstream = make_upstream(server, realm, ALIAS)
        made.append(upstream.realm)
        upstream.add_user("alice", "alice-up", email="alice@example.com", firstName="Alice", lastName="Liddell")
        admin.put(f"admin/realms/{upstream.realm}", {"realm": upstream.realm, "accessTokenLifespan": 10})
        broker = admin.client(upstream.realm, BROKER_CLIENT) or {}
        broker["attributes"] = {**(broker.get("attributes") or {}), "use.refresh.tokens": "false"}
        admin.put(f"admin/realms/{upstream.realm}/clients/{broker['id']}", broker)
        idp = {"providerId": "oidc", "trustEmail": True, "config": upstream.idp_config()}
    made.append(realm)
    path = tmp_path / "stored.yaml"
    path.write_text(yaml.safe_dump(stored_spec(realm, idp)))
    applied_and_idle(server, path)

    if server.is_sandbox:
        login = {"subject": "upstream-alice", "username": "alice", "email": "alice@example.com"}
        login["token"] = {"access_token": "upstream-expiring", "token_type": "Bearer", "expires_in": 1}  # type: ignore[assignment]
        admin.post(f"sandbox/realms/{realm}/broker/{ALIAS}/login", login)
        uid = admin.get(f"admin/realms/{realm}/users", username="alice", exact="true")[0]["id"]
        admin.put(f"admin/realms/{realm}/users/{uid}/reset-password", {"type": "password", "value": "alice-pw"})
        token = requests.post(
            f"{server.url}/realms/{realm}/protocol/openid-connect/token",
            data={"grant_type": "password", "client_id": "my-app", "client_secret": APP_SECRET}
            | {"username": "alice", "password": "alice-pw"},
            timeout=30,
        ).json()["access_token"]
        time.sleep(2)
    else:
        token = brokered_login(
            server.url, realm, "my-app", APP_SECRET, REDIRECT, ALIAS, "alice", "alice-up"
        ).access_token
        time.sleep(12)

    if v2:
        answer = read_v2(server, realm, token)
        assert (answer.status_code, answer.json()) == (
            400,
            {"error": "token_expired", "error_description": "linked token is expired"},
        ), answer.text
    else:
        answer = requests.get(
            f"{server.url}/realms/{realm}/broker/{ALIAS}/token",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert answer.status_code == 200 and "refresh_token" not in answer.json(), answer.text
        if not server.is_sandbox:  # the sandbox's stored access token is not a JWT
            assert claims(answer.json()["access_token"])["exp"] < time.time()  # returned as it was, expired
    checked = run(server, "check", str(path))
    assert "upkeep.no-refresh-token" in checked.out, checked.all
    said = " ".join(checked.out.split())
    if v2:
        assert (
            f'POST /realms/{realm}/broker/{ALIAS}/token then answers 400 token_expired "linked token is expired"'
            in said
        )
    else:
        assert (
            f"GET /realms/{realm}/broker/{ALIAS}/token keeps returning it as it was, expired (Keycloak 26.7.3" in said
        )


def test_the_granted_token_can_be_limited_to_the_assertions_lifetime(
    modern: KeycloakTarget, realms: list[str], tmp_path: Path
) -> None:
    """`jwtGrant.limitAccessTokenExp` wires the IdP's jwtAuthorizationGrantLimitAccessTokenExp: on real
    26.7.3 realm A's token then expires with the assertion (else it gets A's full lifespan: 240 s more
    here, with realm B's tokens living 60 s)."""
    server, admin = modern, LongAdmin(modern)
    a, b = unique("jla"), unique("jlb")
    realms += [a, b]
    spec = jwt_spec(a, b)
    spec["realms"][a]["tokenExchange"]["from-b"]["jwtGrant"] = {"limitAccessTokenExp": True}
    path = tmp_path / "limit.yaml"
    path.write_text(yaml.safe_dump(spec))
    applied_and_idle(server, path)
    idp = admin.get(f"admin/realms/{a}/identity-provider/instances/realm-b")
    assert idp["config"]["jwtAuthorizationGrantLimitAccessTokenExp"] == "true"
    admin.put(f"admin/realms/{b}", {"realm": b, "accessTokenLifespan": 60})

    def granted_minus_assertion() -> int:
        sent = assertion(server, b, a)
        answer = grant(server, a, sent)
        assert answer.status_code == 200, answer.text
        issued = claims(answer.json()["access_token"])
        assert abs(answer.json()["expires_in"] - (issued["exp"] - issued["iat"])) <= 1
        return int(issued["exp"] - claims(sent)["exp"])

    assert granted_minus_assertion() == 0
    spec["realms"][a]["tokenExchange"]["from-b"]["jwtGrant"] = {"limitAccessTokenExp": False}
    path.write_text(yaml.safe_dump(spec))
    plan = run(server, "plan", str(path))
    assert 'config.jwtAuthorizationGrantLimitAccessTokenExp: "true" -> "false"' in plan.out, plan.all
    applied_and_idle(server, path)
    assert granted_minus_assertion() >= 200  # A's 300 s lifespan against B's 60 s
