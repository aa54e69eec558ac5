"""Token exchange (SEMANTICS §6): cross-realm via an IdP under legacy v1 + FGAP v1, standard v2 on 26.x.

Realm B is the source (a user logs in there); realm A brokers B through a `keycloak-oidc` IdP and
holds the requester client. FGAP v1 objects are set up by realm import of `realm-management`'s
authorization settings (the shape a v1 realm export has), so the tests need no sandbox endpoint.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from keycloak import KeycloakAdmin

from tests.conftest import KeycloakTarget, unique_name
from tests.sandbox.conftest import admin_for
from tests.sandbox.oidc import (
    ACCESS_TOKEN_TYPE,
    JWT_TOKEN_TYPE,
    TOKEN_EXCHANGE,
    app_client,
    password_token,
    post_token,
    realm_url,
    user_rep,
    verified,
)

ALIAS = "realm-b"
NOT_ALLOWED = {"error": "access_denied", "error_description": "Client not allowed to exchange"}


class Realms:
    """Creates realms on one server and deletes them afterwards."""

    def __init__(self, target: KeycloakTarget) -> None:
        self.target = target
        self.admin: KeycloakAdmin = admin_for(target)
        self.names: list[str] = []

    def create(self, rep: dict[str, Any]) -> str:
        self.admin.create_realm(rep)
        self.names.append(rep["realm"])
        return str(rep["realm"])

    def delete(self, name: str) -> None:
        self.admin.connection.raw_delete(f"admin/realms/{name}")
        self.names.remove(name)

    def close(self) -> None:
        for name in list(self.names):
            self.delete(name)


@pytest.fixture
def legacy(legacy_keycloak: KeycloakTarget) -> Iterator[Realms]:
    realms = Realms(legacy_keycloak)
    yield realms
    realms.close()


@pytest.fixture
def standard(keycloak: KeycloakTarget) -> Iterator[Realms]:
    if keycloak.profile != "keycloak-26":
        pytest.skip("needs a default 26.2+ server (standard token exchange v2 only)")
    realms = Realms(keycloak)
    yield realms
    realms.close()


def source_realm(realms: Realms) -> str:
    """Realm B: a public client with direct grants and the user bob."""
    return realms.create(
        {
            "realm": unique_name("b"),
            "enabled": True,
            "clients": [{"clientId": "b-app", "publicClient": True, "directAccessGrantsEnabled": True}],
            "users": [user_rep("bob")],
        }
    )


def idp(
    target: KeycloakTarget, source: str, internal_id: str, provider: str = "keycloak-oidc", **config: str
) -> dict[str, Any]:
    base = realm_url(target, source)
    oidc = f"{base}/protocol/openid-connect"
    settings = {
        "clientId": "a-broker",
        "clientSecret": "a-broker-secret",
        "clientAuthMethod": "client_secret_post",
        "authorizationUrl": f"{oidc}/auth",
        "tokenUrl": f"{oidc}/token",
        "userInfoUrl": f"{oidc}/userinfo",
        "logoutUrl": f"{oidc}/logout",
        "issuer": base,
        "jwksUrl": f"{oidc}/certs",
        "useJwksUrl": "true",
        "validateSignature": "true",
        "syncMode": "LEGACY",
    }
    settings.update(config)
    return {
        "alias": ALIAS,
        "internalId": internal_id,
        "providerId": provider,
        "enabled": True,
        "storeToken": False,
        "addReadTokenRoleOnCreate": True,
        "config": settings,
    }


def client_policy(name: str, clients: list[str], logic: str = "POSITIVE") -> dict[str, Any]:
    return {
        "name": name,
        "type": "client",
        "logic": logic,
        "decisionStrategy": "UNANIMOUS",
        "config": {"clients": json.dumps(clients)},
    }


def role_policy(role: str) -> dict[str, Any]:
    """A role policy on a realm role (exports name roles; the requester's service account holds them)."""
    return {
        "name": f"role-{role}",
        "type": "role",
        "logic": "POSITIVE",
        "decisionStrategy": "UNANIMOUS",
        "config": {"roles": json.dumps([{"id": role, "required": False}])},
    }


AGGREGATE = {
    "name": "aggregate",
    "type": "aggregate",
    "logic": "POSITIVE",
    "decisionStrategy": "UNANIMOUS",
    "config": {"applyPolicies": json.dumps(["inner"])},
}


def permission(
    name: str, resource: str, scope: str, policies: list[str], strategy: str = "UNANIMOUS"
) -> dict[str, Any]:
    return {
        "name": name,
        "type": "scope",
        "logic": "POSITIVE",
        "decisionStrategy": strategy,
        "config": {
            "resources": json.dumps([resource]),
            "scopes": json.dumps([scope]),
            "applyPolicies": json.dumps(policies),
        },
    }


def realm_management(
    resources: list[dict[str, Any]], scopes: list[str], policies: list[dict[str, Any]]
) -> dict[str, Any]:
    """`realm-management` with FGAP v1 authorization settings, as a v1 realm export carries them."""
    return {
        "clientId": "realm-management",
        "name": "${client_realm-management}",
        "bearerOnly": True,
        "authorizationServicesEnabled": True,
        "authorizationSettings": {
            "allowRemoteResourceManagement": False,
            "policyEnforcementMode": "ENFORCING",
            "decisionStrategy": "UNANIMOUS",
            "resources": resources,
            "scopes": [{"name": s} for s in scopes],
            "policies": policies,
        },
    }


def idp_permission_settings(
    internal_id: str,
    policies: list[dict[str, Any]],
    strategy: str = "UNANIMOUS",
    unattached: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The IdP's v1 resource and permission with `policies` attached; `unattached` policies exist
    too (e.g. those an aggregate policy refers to)."""
    resource = f"idp.resource.{internal_id}"
    perm = permission(
        f"token-exchange.permission.idp.{internal_id}",
        resource,
        "token-exchange",
        [p["name"] for p in policies],
        strategy,
    )
    return realm_management(
        [{"name": resource, "type": "IdentityProvider", "scopes": [{"name": "token-exchange"}]}],
        ["token-exchange"],
        [*(unattached or []), *policies, perm],
    )


def target_realm(
    realms: Realms,
    source: str,
    *,
    policies: list[dict[str, Any]] | None = None,
    strategy: str = "UNANIMOUS",
    name: str | None = None,
    provider: str = "keycloak-oidc",
    unattached: list[dict[str, Any]] | None = None,
    **idp_config: str,
) -> str:
    """Realm A: the IdP for B, the requester client (with a service account holding realm role
    `exchanger`) and (optionally) FGAP v1 objects."""
    internal_id = str(uuid.uuid4())
    clients: list[dict[str, Any]] = [
        app_client("requester", secret="req-secret", serviceAccountsEnabled=True),
        app_client("other", secret="other-secret"),
    ]
    if policies is not None:
        clients.append(idp_permission_settings(internal_id, policies, strategy, unattached))
    return realms.create(
        {
            "realm": name or unique_name("a"),
            "enabled": True,
            "roles": {"realm": [{"name": "exchanger"}, {"name": "auditor"}]},
            "clients": clients,
            "users": [
                {
                    "username": "service-account-requester",
                    "enabled": True,
                    "serviceAccountClientId": "requester",
                    "realmRoles": ["exchanger"],
                }
            ],
            "identityProviders": [idp(realms.target, source, internal_id, provider, **idp_config)],
        }
    )


def bob_token(target: KeycloakTarget, source: str) -> str:
    # `openid`: an `oidc` IdP checks the token at upstream userinfo, which 26.7.3 refuses without it
    return str(password_token(target, source, "b-app", "bob", scope="openid")["access_token"])


def exchange(target: KeycloakTarget, realm: str, form: dict[str, str], client: str = "requester") -> Any:
    data = {
        "grant_type": TOKEN_EXCHANGE,
        "client_id": client,
        "client_secret": "req-secret" if client == "requester" else "other-secret",
        **form,
    }
    return post_token(target, realm, data)


def cross_realm_form(token: str) -> dict[str, str]:
    return {"subject_token": token, "subject_issuer": ALIAS, "subject_token_type": ACCESS_TOKEN_TYPE}


# --- legacy v1: external → internal -------------------------------------------------------------
def test_cross_realm_exchange_needs_a_policy_on_the_idp_permission(legacy: Realms) -> None:
    target = legacy.target
    source = source_realm(legacy)
    token = bob_token(target, source)
    bob_id = verified(target, source, token)["sub"]

    a = target_realm(legacy, source, policies=[])
    response = exchange(target, a, cross_realm_form(token))
    assert response.status_code == 403
    assert response.json() == NOT_ALLOWED

    legacy.delete(a)  # attach a client policy naming the requester (by re-importing the realm)
    a = target_realm(legacy, source, policies=[client_policy("requester-may-exchange", ["requester"])], name=a)
    response = exchange(target, a, cross_realm_form(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:refresh_token"
    assert body["refresh_token"]
    claims = verified(target, a, body["access_token"])
    assert claims["iss"] == realm_url(target, a)
    assert claims["azp"] == "requester"
    assert claims["preferred_username"] == "bob"

    admin = admin_for(target, a)
    links = admin.connection.raw_get(f"admin/realms/{a}/users/{claims['sub']}/federated-identity").json()
    assert [(x["identityProvider"], x["userId"], x["userName"]) for x in links] == [(ALIAS, bob_id, "bob")]
    broker = admin.connection.raw_get(f"admin/realms/{a}/clients", clientId="broker").json()[0]
    direct = admin.connection.raw_get(f"admin/realms/{a}/users/{claims['sub']}/role-mappings/clients/{broker['id']}")
    assert direct.json() == []  # exchange-imported users never get read-token

    again = exchange(target, a, cross_realm_form(token))
    assert again.status_code == 200
    assert verified(target, a, again.json()["access_token"])["sub"] == claims["sub"]


@pytest.mark.parametrize(
    ("policies", "strategy", "allowed"),
    [
        ([client_policy("p", ["other"])], "UNANIMOUS", False),
        ([client_policy("p", ["requester"], logic="NEGATIVE")], "UNANIMOUS", False),
        ([client_policy("p", ["requester"]), client_policy("q", ["other"])], "UNANIMOUS", False),
        ([client_policy("p", ["requester"]), client_policy("q", ["other"])], "AFFIRMATIVE", True),
        ([client_policy("p", ["other"], logic="NEGATIVE")], "UNANIMOUS", True),
        ([client_policy("p", ["requester"]), client_policy("q", ["other"])], "CONSENSUS", False),
        (
            [
                client_policy("p", ["requester"]),
                client_policy("q", ["requester"]),
                client_policy("r", ["other"]),
            ],
            "CONSENSUS",
            True,
        ),
        ([AGGREGATE], "UNANIMOUS", True),
        ([role_policy("exchanger")], "UNANIMOUS", True),
        ([role_policy("auditor")], "UNANIMOUS", False),
    ],
    ids=[
        "other-client",
        "negative-requester",
        "unanimous-split",
        "affirmative-split",
        "negative-other",
        "consensus-tie",
        "consensus-majority",
        "aggregate",
        "service-account-role",
        "role-not-held",
    ],
)
def test_idp_permission_decision(legacy: Realms, policies: list[dict[str, Any]], strategy: str, allowed: bool) -> None:
    source = source_realm(legacy)
    unattached = [client_policy("inner", ["requester"])] if AGGREGATE in policies else None
    a = target_realm(legacy, source, policies=policies, strategy=strategy, unattached=unattached)
    response = exchange(legacy.target, a, cross_realm_form(bob_token(legacy.target, source)))
    if allowed:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 403
        assert response.json() == NOT_ALLOWED


def test_jwt_subject_token_is_verified_by_signature_and_issuer(legacy: Realms) -> None:
    target = legacy.target
    source = source_realm(legacy)
    a = target_realm(legacy, source, policies=[client_policy("p", ["requester"])])
    token = bob_token(target, source)
    # no subject_issuer: the IdP is found through its trusted issuer
    response = exchange(target, a, {"subject_token": token, "subject_token_type": JWT_TOKEN_TYPE})
    assert response.status_code == 200, response.text
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    response = exchange(target, a, {"subject_token": tampered, "subject_token_type": JWT_TOKEN_TYPE})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_token", "error_description": "invalid token"}


def test_jwks_url_outside_the_sandbox_fails_validation(legacy: Realms) -> None:
    target = legacy.target
    source = source_realm(legacy)
    a = target_realm(
        legacy,
        source,
        policies=[client_policy("p", ["requester"])],
        jwksUrl="https://keys.invalid/certs",
        userInfoUrl="https://keys.invalid/userinfo",
    )
    form = {
        "subject_token": bob_token(target, source),
        "subject_issuer": ALIAS,
        "subject_token_type": JWT_TOKEN_TYPE,
    }
    response = exchange(target, a, form)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_token"


def test_unknown_subject_issuer_and_garbage_token(legacy: Realms) -> None:
    target = legacy.target
    source = source_realm(legacy)
    a = target_realm(legacy, source, policies=[client_policy("p", ["requester"])])
    form = {**cross_realm_form(bob_token(target, source)), "subject_issuer": "nope"}
    response = exchange(target, a, form)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_issuer",
        "error_description": "Invalid subject_issuer parameter",
    }
    response = exchange(target, a, cross_realm_form("garbage"))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_token", "error_description": "invalid token"}


def test_existing_local_user_with_same_username_blocks_import(legacy: Realms) -> None:
    target = legacy.target
    source = source_realm(legacy)
    a = target_realm(legacy, source, policies=[client_policy("p", ["requester"])])
    admin = admin_for(target, a)
    admin.create_user({"username": "bob", "enabled": True})
    response = exchange(target, a, cross_realm_form(bob_token(target, source)))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_token", "error_description": "User already exists"}


# --- default 26.x: the same request fails ---------------------------------------------------------
def test_cross_realm_exchange_on_default_26_is_rejected_by_standard_exchange(standard: Realms) -> None:
    target = standard.target
    source = source_realm(standard)
    a = target_realm(standard, source)
    token = bob_token(target, source)
    response = exchange(target, a, cross_realm_form(token))
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Parameter 'subject_issuer' is not supported for standard token exchange",
    }
    response = exchange(target, a, {"subject_token": token, "subject_token_type": JWT_TOKEN_TYPE})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# --- standard v2: internal → internal -----------------------------------------------------------
def test_standard_exchange_of_own_token(standard: Realms) -> None:
    target = standard.target
    enabled = {"standard.token.exchange.enabled": "true"}
    name = standard.create(
        {
            "realm": unique_name("std"),
            "enabled": True,
            "clients": [
                app_client("requester", secret="req-secret", attributes=enabled),
                app_client("other", secret="other-secret", attributes=enabled),
            ],
            "users": [user_rep("alice")],
        }
    )
    token = password_token(target, name, "requester", "alice", secret="req-secret")["access_token"]
    form = {"subject_token": token, "subject_token_type": ACCESS_TOKEN_TYPE}
    response = exchange(target, name, form)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    assert "refresh_token" not in body
    assert verified(target, name, body["access_token"])["azp"] == "requester"
    response = exchange(target, name, form, client="other")
    assert response.status_code == 403
    assert response.json() == {
        "error": "access_denied",
        "error_description": "Client is not within the token audience",
    }
    response = exchange(target, name, {**form, "audience": "ghost"})
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_client", "error_description": "Audience not found"}
    # alice holds account roles (default role), so "account" is in the token's audience; "other" is not
    response = exchange(target, name, {**form, "audience": "account"})
    assert response.status_code == 200, response.text
    assert verified(target, name, response.json()["access_token"])["aud"] == "account"
    response = exchange(target, name, {**form, "audience": "other"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Requested audience not available: other",
    }
    response = exchange(
        target, name, {**form, "requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "requested_token_type unsupported",
    }


def test_standard_exchange_needs_the_client_switch(standard: Realms) -> None:
    target = standard.target
    name = standard.create(
        {
            "realm": unique_name("std"),
            "enabled": True,
            "clients": [app_client("requester", secret="req-secret")],
            "users": [user_rep("alice")],
        }
    )
    token = password_token(target, name, "requester", "alice", secret="req-secret")["access_token"]
    response = exchange(target, name, {"subject_token": token, "subject_token_type": ACCESS_TOKEN_TYPE})
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Standard token exchange is not enabled for the requested client",
    }


# --- legacy v1: internal → internal and impersonation ---------------------------------------------
def _internal_realm(
    realms: Realms,
    *,
    extra_clients: list[dict[str, Any]] | None = None,
    users: list[dict[str, Any]] | None = None,
) -> str:
    return realms.create(
        {
            "realm": unique_name("int"),
            "enabled": True,
            "clients": [
                app_client("requester", secret="req-secret"),
                app_client("other", secret="other-secret"),
                *(extra_clients or []),
            ],
            "users": users or [user_rep("alice"), user_rep("bob")],
        }
    )


def test_legacy_exchange_to_another_audience_needs_the_client_permission(legacy: Realms) -> None:
    target = legacy.target
    target_uuid = str(uuid.uuid4())
    resource = f"client.resource.{target_uuid}"
    rm = realm_management(
        [{"name": resource, "type": "Client", "scopes": [{"name": "token-exchange"}]}],
        ["token-exchange"],
        [
            client_policy("requester-may", ["requester"]),
            permission(
                f"token-exchange.permission.client.{target_uuid}",
                resource,
                "token-exchange",
                ["requester-may"],
            ),
        ],
    )
    name = _internal_realm(
        legacy,
        extra_clients=[
            app_client("target", secret="t-secret", id=target_uuid),
            app_client("third", secret="x"),
        ],
    )
    token = password_token(target, name, "requester", "alice", secret="req-secret")["access_token"]
    form = {"subject_token": token, "audience": "third"}
    response = exchange(target, name, form)
    assert response.status_code == 403
    assert response.json() == NOT_ALLOWED
    # same request once realm-management carries the client permission for "target"
    legacy.delete(name)
    name2 = legacy.create(
        {
            "realm": name,
            "enabled": True,
            "clients": [
                app_client("requester", secret="req-secret"),
                app_client("target", secret="t", id=target_uuid),
                rm,
            ],
            "users": [user_rep("alice")],
        }
    )
    token = password_token(target, name2, "requester", "alice", secret="req-secret")["access_token"]
    response = exchange(target, name2, {"subject_token": token, "audience": "target"})
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["azp"] == "requester"
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert "target" in aud


def test_impersonation_needs_the_impersonation_role(legacy: Realms) -> None:
    target = legacy.target
    name = _internal_realm(
        legacy,
        users=[
            user_rep("alice", clientRoles={"realm-management": ["impersonation"]}),
            user_rep("carol"),
            user_rep("bob"),
        ],
    )
    alice = password_token(target, name, "requester", "alice", secret="req-secret")["access_token"]
    response = exchange(target, name, {"subject_token": alice, "requested_subject": "bob"})
    assert response.status_code == 200, response.text
    claims = verified(target, name, response.json()["access_token"])
    assert claims["preferred_username"] == "bob"
    carol = password_token(target, name, "requester", "carol", secret="req-secret")["access_token"]
    response = exchange(target, name, {"subject_token": carol, "requested_subject": "bob"})
    assert response.status_code == 403
    assert response.json() == NOT_ALLOWED
    response = exchange(target, name, {"subject_token": alice, "requested_subject": "nobody"})
    assert response.status_code == 403
    assert response.json() == NOT_ALLOWED


def test_direct_impersonation_needs_the_users_impersonate_permission(legacy: Realms) -> None:
    target = legacy.target
    name = _internal_realm(legacy)
    response = exchange(target, name, {"requested_subject": "bob"})
    assert response.status_code == 403
    assert response.json() == NOT_ALLOWED
    legacy.delete(name)
    rm = realm_management(
        [{"name": "Users", "scopes": [{"name": "impersonate"}, {"name": "user-impersonated"}]}],
        ["impersonate", "user-impersonated"],
        [
            client_policy("requester-may", ["requester"]),
            permission("admin-impersonating.permission.users", "Users", "impersonate", ["requester-may"]),
        ],
    )
    legacy.create(
        {
            "realm": name,
            "enabled": True,
            "clients": [app_client("requester", secret="req-secret"), rm],
            "users": [user_rep("bob")],
        }
    )
    response = exchange(target, name, {"requested_subject": "bob"})
    assert response.status_code == 200, response.text
    assert verified(target, name, response.json()["access_token"])["preferred_username"] == "bob"


# --- legacy exchange with FGAP v2 active (`--features=token-exchange` on 26.2+) -------------------
@pytest.fixture(scope="module")
def fgap_v2_legacy() -> Iterator[Realms]:
    """A sandbox whose server runs token-exchange v1 while FGAP v2 stays the active version."""
    from realmctl.sandbox import Sandbox
    from realmctl.sandbox.profiles import PROFILES, Profile

    base = PROFILES["keycloak-26"].enabled
    with Sandbox(profile="keycloak-26") as sb:
        sb.app.profile = Profile("token-exchange-fgap-v2", base | {"TOKEN_EXCHANGE"})
        realms = Realms(KeycloakTarget(sb.url, sb.admin_user, sb.admin_password, True, "token-exchange-fgap-v2"))
        yield realms
        realms.close()


@pytest.mark.sandbox_only
def test_fgap_v2_ignores_v1_permissions_and_always_denies(fgap_v2_legacy: Realms) -> None:
    realms = fgap_v2_legacy
    target = realms.target
    source = source_realm(realms)
    a = target_realm(realms, source, policies=[client_policy("p", ["requester"])])
    response = exchange(target, a, cross_realm_form(bob_token(target, source)))
    assert response.status_code == 403
    assert response.json() == NOT_ALLOWED
    # a client-audience exchange reaches ClientPermissionsV2.canExchangeTo, which throws (500)
    name = _internal_realm(realms)
    token = password_token(target, name, "requester", "alice", secret="req-secret")["access_token"]
    response = exchange(target, name, {"subject_token": token, "audience": "other"})
    assert response.status_code == 500
    # the impersonation role still short-circuits under v2
    response = exchange(target, name, {"subject_token": token, "requested_subject": "bob"})
    assert response.status_code == 403
    assert response.json() == NOT_ALLOWED


def test_oidc_provider_validates_access_tokens_through_userinfo(legacy: Realms) -> None:
    target = legacy.target
    source = source_realm(legacy)
    # no usable keys: an `oidc` IdP checks access tokens at userinfo only (resolved in-process)
    a = target_realm(
        legacy,
        source,
        policies=[client_policy("p", ["requester"])],
        provider="oidc",
        jwksUrl="https://keys.invalid/c",
    )
    response = exchange(target, a, cross_realm_form(bob_token(target, source)))
    assert response.status_code == 200, response.text
    assert verified(target, a, response.json()["access_token"])["preferred_username"] == "bob"


def test_keycloak_oidc_provider_checks_the_signature_of_access_tokens_too(legacy: Realms) -> None:
    target = legacy.target
    source = source_realm(legacy)
    a = target_realm(legacy, source, policies=[client_policy("p", ["requester"])], jwksUrl="https://keys.invalid/c")
    response = exchange(target, a, cross_realm_form(bob_token(target, source)))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_token", "error_description": "invalid token"}


@pytest.mark.sandbox_only
def test_idp_urls_naming_the_sandbox_as_localhost_resolve_in_process(legacy: Realms) -> None:
    target = legacy.target
    source = source_realm(legacy)
    local = realm_url(target, source).replace("127.0.0.1", "localhost") + "/protocol/openid-connect"
    a = target_realm(
        legacy,
        source,
        policies=[client_policy("p", ["requester"])],
        jwksUrl=f"{local}/certs",
        userInfoUrl=f"{local}/userinfo",
    )
    response = exchange(target, a, cross_realm_form(bob_token(target, source)))
    assert response.status_code == 200, response.text


def test_impersonation_by_users_permission_and_impersonated_restriction(legacy: Realms) -> None:
    target = legacy.target
    rm = realm_management(
        [{"name": "Users", "scopes": [{"name": "impersonate"}, {"name": "user-impersonated"}]}],
        ["impersonate", "user-impersonated"],
        [
            client_policy("via-requester", ["requester"]),
            {
                "name": "only-alice",
                "type": "user",
                "logic": "POSITIVE",
                "decisionStrategy": "UNANIMOUS",
                "config": {"users": json.dumps(["alice"])},
            },
            permission("admin-impersonating.permission.users", "Users", "impersonate", ["via-requester"]),
            permission("user-impersonated.permission.users", "Users", "user-impersonated", ["only-alice"]),
        ],
    )
    name = legacy.create(
        {
            "realm": unique_name("imp"),
            "enabled": True,
            "clients": [app_client("requester", secret="req-secret"), rm],
            "users": [user_rep("carol"), user_rep("alice"), user_rep("bob")],
        }
    )
    carol = password_token(target, name, "requester", "carol", secret="req-secret")["access_token"]
    response = exchange(target, name, {"subject_token": carol, "requested_subject": "alice"})
    assert response.status_code == 200, response.text
    assert verified(target, name, response.json()["access_token"])["preferred_username"] == "alice"
    response = exchange(target, name, {"subject_token": carol, "requested_subject": "bob"})
    assert response.status_code == 403
    assert response.json() == NOT_ALLOWED


def test_cross_realm_exchange_with_permission_attached_through_the_admin_api(legacy: Realms) -> None:
    """The same chain as realmctl drives it: FGAP v1 endpoints (SEMANTICS §7.1, §7.2)."""
    target = legacy.target
    source = source_realm(legacy)
    a = target_realm(legacy, source)
    admin = admin_for(target, a)
    conn = admin.connection
    base = f"admin/realms/{a}"
    enabled = conn.raw_put(
        f"{base}/identity-provider/instances/{ALIAS}/management/permissions", json.dumps({"enabled": True})
    )
    if enabled.status_code == 404:
        pytest.skip("the FGAP v1 management/permissions endpoints are not part of this build")
    assert enabled.status_code == 200, enabled.text
    perm_id = enabled.json()["scopePermissions"]["token-exchange"]
    token = bob_token(target, source)
    response = exchange(target, a, cross_realm_form(token))
    assert response.status_code == 403
    assert response.json() == NOT_ALLOWED

    rm = conn.raw_get(f"{base}/clients", clientId="realm-management").json()[0]["id"]
    authz = f"{base}/clients/{rm}/authz/resource-server"
    policy = {
        "name": "requester-may-exchange",
        "type": "client",
        "logic": "POSITIVE",
        "decisionStrategy": "UNANIMOUS",
        "clients": ["requester"],
    }
    created = conn.raw_post(f"{authz}/policy/client", json.dumps(policy))
    assert created.status_code == 201, created.text
    perm = conn.raw_get(f"{authz}/permission/scope/{perm_id}").json()
    resources = [r["_id"] for r in conn.raw_get(f"{authz}/permission/{perm_id}/resources").json()]
    scopes = [s["id"] for s in conn.raw_get(f"{authz}/permission/{perm_id}/scopes").json()]
    update = {**perm, "resources": resources, "scopes": scopes, "policies": [created.json()["id"]]}
    assert conn.raw_put(f"{authz}/permission/scope/{perm_id}", json.dumps(update)).status_code == 201

    response = exchange(target, a, cross_realm_form(token))
    assert response.status_code == 200, response.text
    assert verified(target, a, response.json()["access_token"])["azp"] == "requester"


@pytest.mark.sandbox_only
def test_exchange_to_the_stored_token_of_an_idp(legacy: Realms) -> None:
    """`requested_issuer`: internal → external, authorised by the IdP's token-exchange permission."""
    import requests

    from tests.sandbox.oidc import master_token

    target = legacy.target
    source = source_realm(legacy)
    a = target_realm(legacy, source, policies=[client_policy("p", ["requester"])])
    admin = admin_for(target, a)
    ext = admin.connection.raw_get(f"admin/realms/{a}/identity-provider/instances/{ALIAS}").json()
    ext["storeToken"] = True
    assert (
        admin.connection.raw_put(f"admin/realms/{a}/identity-provider/instances/{ALIAS}", json.dumps(ext)).status_code
        == 204
    )
    admin.create_user(user_rep("dora"))
    token = password_token(target, a, "requester", "dora", secret="req-secret")["access_token"]
    form = {"subject_token": token, "requested_issuer": ALIAS}
    response = exchange(target, a, form)
    assert response.status_code == 400
    assert response.json() == {"error": "not_linked", "error_description": "identity provider is not linked"}
    login = requests.post(
        f"{target.url}/sandbox/realms/{a}/broker/{ALIAS}/login",
        json={
            "username": "dora",
            "subject": "ext-dora",
            "token": {"access_token": "upstream-at", "expires_in": 60},
        },
        headers={"Authorization": f"Bearer {master_token(target)}"},
        timeout=10,
    )
    assert login.status_code == 200, login.text
    response = exchange(target, a, form)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["access_token"] == "upstream-at"
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    assert 0 < body["expires_in"] <= 60
    response = exchange(target, a, form, client="other")
    assert response.status_code == 403
    assert response.json() == NOT_ALLOWED


@pytest.fixture(scope="module")
def external_internal_v2() -> Iterator[Realms]:
    """A 26.x sandbox with the experimental `token-exchange-external-internal:v2` switched on."""
    from realmctl.sandbox import Sandbox
    from realmctl.sandbox.profiles import PROFILES, Profile

    base = PROFILES["keycloak-26"].enabled
    with Sandbox(profile="keycloak-26") as sb:
        sb.app.profile = Profile("external-internal-v2", base | {"TOKEN_EXCHANGE_EXTERNAL_INTERNAL_V2"})
        realms = Realms(KeycloakTarget(sb.url, sb.admin_user, sb.admin_password, True, "external-internal-v2"))
        yield realms
        realms.close()


@pytest.mark.sandbox_only
def test_external_internal_v2_needs_no_fgap_and_issues_an_access_token(external_internal_v2: Realms) -> None:
    realms = external_internal_v2
    target = realms.target
    source = source_realm(realms)
    a = target_realm(realms, source)  # no FGAP objects at all
    token = bob_token(target, source)
    response = exchange(target, a, {"subject_token": token, "subject_token_type": JWT_TOKEN_TYPE})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    assert "refresh_token" not in body
    claims = verified(target, a, body["access_token"])
    assert claims["azp"] == "requester" and claims["preferred_username"] == "bob"
    refresh = {
        **cross_realm_form(token),
        "requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token",
    }
    response = exchange(target, a, refresh)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "requested_token_type unsupported",
    }
