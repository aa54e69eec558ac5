"""Tokens: RS256 JWTs signed with a per-realm RSA key, and the token endpoint.

This part issues the tokens the admin API needs (password grant, client_credentials, refresh);
claims are the basic ones (`iss`, `sub`, `azp`, `exp`, `iat`, `typ`, `sid`, `scope`). Part 2
extends `access_claims` with role/scope/mapper claims and adds token exchange, the broker token
endpoint, JWKS and discovery by registering more routes with `register`.
"""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from realmctl.sandbox.errors import HttpError
from realmctl.sandbox.store import Client, Realm, User, new_id

if TYPE_CHECKING:
    from realmctl.sandbox.http import App, Request, Response, Router

LIGHTWEIGHT = "client.use.lightweight.access.token.enabled"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def realm_key(realm: Realm) -> rsa.RSAPrivateKey:
    """The realm's signing key, made on first use (key generation costs tens of milliseconds)."""
    if realm.signing_key is None:
        realm.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key: rsa.RSAPrivateKey = realm.signing_key
    return key


def sign(realm: Realm, claims: dict[str, Any]) -> str:
    """A compact RS256 JWS over `claims`, with the realm's key id in the header."""
    header = {"alg": "RS256", "typ": "JWT", "kid": realm.key_id}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = realm_key(realm).sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def issuer(base_url: str, realm: Realm) -> str:
    return f"{base_url}/realms/{realm.name}"


def decode_unverified(token: str) -> dict[str, Any] | None:
    """The payload of a JWT without checking it, or None when it is not a JWT."""
    try:
        payload = json.loads(b64url_decode(token.split(".")[1]))
    except (IndexError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def verify(app: App, token: str, *, typ: str = "Bearer") -> tuple[Realm, dict[str, Any]] | None:
    """The realm and claims of a valid, unexpired token of this server, or None.

    Verified signatures are cached per token string: a client sends the same token many times and
    the RSA check would otherwise dominate a simple GET.
    """
    cached = app.token_cache.get(token)
    if cached is None:
        claims = decode_unverified(token)
        if claims is None or not isinstance(claims.get("iss"), str):
            return None
        realm = app.store.realm(claims["iss"].rsplit("/realms/", 1)[-1])
        if realm is None or realm.signing_key is None:
            return None
        signing_input, _, signature = token.rpartition(".")
        try:
            realm.signing_key.public_key().verify(
                b64url_decode(signature), signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return None
        if len(app.token_cache) > 10_000:
            app.token_cache.clear()
        app.token_cache[token] = (realm.id, claims)
    else:
        realm_id, claims = cached
        found = app.store.realm_by_id(realm_id)
        if found is None:
            return None
        realm = found
    if claims.get("typ") != typ or claims.get("exp", 0) < time.time():
        return None
    return realm, claims


def access_claims(
    app: App,
    base_url: str,
    realm: Realm,
    client: Client,
    user: User,
    sid: str | None,
    requested: str = "",
) -> dict[str, Any]:
    """The access token claims. Lightweight tokens (admin-cli) carry no role claims."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "exp": now + int(realm.settings.get("accessTokenLifespan", 300)),
        "iat": now,
        "jti": new_id(),
        "iss": issuer(base_url, realm),
        "sub": user.id,
        "typ": "Bearer",
        "azp": client.client_id,
    }
    if sid:
        claims["sid"] = sid
    claims["scope"] = token_scope(realm, client, requested.split())
    if client.rep.get("attributes", {}).get(LIGHTWEIGHT) != "true":
        claims["preferred_username"] = user.username
    return claims


def token_scope(realm: Realm, client: Client, requested: list[str] | None = None) -> str:
    """`openid` if asked, then the client's default scopes and the requested optional scopes that
    are included in the token scope (`include.in.token.scope`, missing ⇒ true), in link order."""
    wanted = set(requested or [])
    names = ["openid"] if "openid" in wanted else []
    for scope_id, is_default in client.scopes.items():
        scope = realm.client_scopes.get(scope_id)
        if scope is None or not (is_default or scope.name in wanted):
            continue
        if scope.attributes.get("include.in.token.scope", "true") == "true":
            names.append(scope.name)
    return " ".join(names)


def oauth_error(status: int, code: str, description: str) -> HttpError:
    return HttpError(status, {"error": code, "error_description": description})


def _client_auth(req: Request, form: dict[str, str], realm: Realm) -> Client:
    """The requesting client; confidential clients must prove their secret (form or HTTP Basic)."""
    client_id = form.get("client_id")
    secret = form.get("client_secret")
    auth = req.headers.get("Authorization", "")
    if auth.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            raise oauth_error(
                401, "unauthorized_client", "Invalid client or Invalid client credentials"
            ) from None
    if not client_id:
        raise oauth_error(400, "invalid_client", "Missing client_id parameter")
    client = realm.client_by_client_id(client_id)
    if client is None or not client.rep.get("enabled", True):  # disabled: UNCONFIRMED answer
        raise oauth_error(401, "invalid_client", "Invalid client or Invalid client credentials")
    if client.rep.get("publicClient"):
        return client
    if secret is None or secret != client.rep.get("secret"):
        raise oauth_error(401, "unauthorized_client", "Invalid client or Invalid client credentials")
    return client


def token_endpoint(req: Request) -> Response:
    """`POST /realms/{realm}/protocol/openid-connect/token`: password, client_credentials, refresh."""
    from realmctl.sandbox.http import Response

    app = req.app
    realm = app.store.realm(req.params["realm"])
    if realm is None:
        raise HttpError(404, {"error": "Realm does not exist"})
    if not realm.settings.get("enabled"):
        raise oauth_error(403, "access_denied", "Realm not enabled")
    form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
    grant = form.get("grant_type")
    if not grant:
        raise oauth_error(400, "invalid_request", "Missing form parameter: grant_type")
    client = _client_auth(req, form, realm)
    sid: str | None = None
    if grant == "password":
        if not client.rep.get("directAccessGrantsEnabled"):
            raise oauth_error(400, "unauthorized_client", "Client not allowed for direct access grants")
        user = realm.user_by_username(form.get("username", ""))
        if user is None or user.password is None or user.password != form.get("password"):
            raise oauth_error(401, "invalid_grant", "Invalid user credentials")
        if not user.rep.get("enabled"):
            raise oauth_error(400, "invalid_grant", "Account disabled")
        if user.rep.get("requiredActions"):
            raise oauth_error(400, "invalid_grant", "Account is not fully set up")
        sid = new_id()
    elif grant == "client_credentials":
        if client.rep.get("publicClient"):
            raise oauth_error(
                401, "unauthorized_client", "Public client not allowed to retrieve service account"
            )
        found = realm.service_account_user(client.id)
        if not client.rep.get("serviceAccountsEnabled") or found is None:
            raise oauth_error(401, "unauthorized_client", "Client not enabled to retrieve service account")
        user = found
    elif grant == "refresh_token":
        checked = verify(app, form.get("refresh_token", ""), typ="Refresh")
        if checked is None or checked[0] is not realm or checked[1].get("azp") != client.client_id:
            raise oauth_error(400, "invalid_grant", "Invalid refresh token")
        refreshed = realm.users.get(checked[1]["sub"])
        if refreshed is None:
            raise oauth_error(400, "invalid_grant", "Invalid refresh token")
        user, sid = refreshed, checked[1].get("sid")
    else:
        raise oauth_error(400, "unsupported_grant_type", "Unsupported grant_type")
    claims = access_claims(app, req.base_url, realm, client, user, sid, form.get("scope", ""))
    body: dict[str, Any] = {
        "access_token": sign(realm, claims),
        "expires_in": claims["exp"] - claims["iat"],
        "refresh_expires_in": 0,
        "token_type": "Bearer",
        "not-before-policy": 0,
    }
    if sid:
        idle = int(realm.settings.get("ssoSessionIdleTimeout", 1800))
        refresh = {**claims, "typ": "Refresh", "exp": claims["iat"] + idle, "jti": new_id()}
        body["refresh_expires_in"] = idle
        body["refresh_token"] = sign(realm, refresh)
        body["session_state"] = sid
    body["scope"] = claims["scope"]
    return Response(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def register(router: Router) -> None:
    router.add("POST", "/realms/{realm}/protocol/openid-connect/token", token_endpoint, auth="none")
