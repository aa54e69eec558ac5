"""Tokens: RS256 JWTs signed with a per-realm RSA key, the token endpoint, JWKS, discovery, userinfo.

The token endpoint serves the password, client_credentials and refresh_token grants and hands
token exchange to `realmctl.sandbox.exchange`; claims come from `realmctl.sandbox.claims`. A
token is valid while its signature, expiry and realm hold and its user still exists and is
enabled: the sandbox has no session store, so that is how a removed user's token dies.
"""

from __future__ import annotations

import base64
import hmac
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote_plus

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from realmctl.sandbox import claims as claimlib
from realmctl.sandbox import credentials, userprofile
from realmctl.sandbox.errors import HttpError
from realmctl.sandbox.store import Client, Realm, User, new_id

if TYPE_CHECKING:
    from realmctl.sandbox.http import App, Request, Response, Router

LIGHTWEIGHT = claimlib.LIGHTWEIGHT
OPENID = claimlib.OPENID


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


def issued_here(claims: dict[str, Any], base_url: str, realm: Realm) -> bool:
    """Whether the token's `iss` is this realm's URL as the request reached it: Keycloak 26.7.3
    refuses a token minted through another host name (admin API 401, broker endpoint 400
    "Invalid token.", userinfo 401), measured with `127.0.0.1` against `localhost`."""
    return claims.get("iss") == issuer(base_url, realm)


def decode_unverified(token: str) -> dict[str, Any] | None:
    """The payload of a JWT without checking it, or None when it is not a JWT."""
    try:
        payload = json.loads(b64url_decode(token.split(".")[1]))
    except (IndexError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def verify(app: App, token: str, *, typ: str = "Bearer") -> tuple[Realm, dict[str, Any]] | None:
    """The realm and claims of a validly signed, unexpired token of this server, or None.

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


@dataclass
class Bearer:
    """A valid access token of this server: its realm, claims, user and client (None if gone)."""

    realm: Realm
    claims: dict[str, Any]
    user: User
    client: Client | None


def validate_access_token(
    app: App, token: str, realm: Realm | None = None, *, base_url: str | None = None
) -> Bearer | None:
    """An access token that Keycloak would still accept: signed, unexpired, of `realm` (when
    given), issued through `base_url` (when given), and its user still existing and enabled."""
    checked = verify(app, token)
    if checked is None:
        return None
    token_realm, claims = checked
    if realm is not None and token_realm is not realm:
        return None
    if base_url is not None and not issued_here(claims, base_url, token_realm):
        return None
    user = token_realm.token_user(claims)
    if user is None or not user.rep.get("enabled"):
        return None
    return Bearer(token_realm, claims, user, token_realm.client_by_client_id(str(claims.get("azp"))))


def bearer_token(req: Request) -> str | None:
    """The token of an `Authorization: Bearer …` header, or None."""
    scheme, _, token = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def oauth_error(status: int, code: str, description: str) -> HttpError:
    return HttpError(status, {"error": code, "error_description": description})


def find_realm(req: Request) -> Realm:
    """The path's realm; unknown → 404 `{"error": "Realm does not exist"}` as Keycloak answers."""
    realm = req.app.store.realm(req.params["realm"])
    if realm is None:
        raise HttpError(404, {"error": "Realm does not exist"})
    return realm


# --- client authentication ------------------------------------------------------------------------
INVALID_CLIENT = "Invalid client or Invalid client credentials"


def authenticate_client(req: Request, form: dict[str, str], realm: Realm) -> Client:
    """The requesting client, authenticated by secret (form or HTTP Basic) unless public.

    Keycloak's answers: no client id → 400 invalid_client; unknown or disabled client → 401
    invalid_client; wrong or missing secret → 401 unauthorized_client (the authenticator's own
    code); bearer-only → 400 invalid_client.
    """
    client_id = form.get("client_id")
    secret = form.get("client_secret")
    auth = req.headers.get("Authorization", "")
    if auth.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(auth[6:].strip()).decode()
        except ValueError:
            raise oauth_error(400, "invalid_client", "Missing client_id parameter") from None
        basic_id, _, basic_secret = decoded.partition(":")
        client_id, secret = unquote_plus(basic_id), unquote_plus(basic_secret)
    if not client_id:
        raise oauth_error(400, "invalid_client", "Missing client_id parameter")
    client = realm.client_by_client_id(client_id)
    if client is None or not client.rep.get("enabled", True):
        raise oauth_error(401, "invalid_client", INVALID_CLIENT)
    if client.rep.get("bearerOnly"):
        raise oauth_error(400, "invalid_client", "Bearer-only not allowed")
    if client.rep.get("publicClient"):
        return client
    if secret is None or secret != client.rep.get("secret"):
        raise oauth_error(401, "unauthorized_client", INVALID_CLIENT)
    return client


def find_login_user(realm: Realm, name: str) -> User | None:
    """`findUserByNameOrEmail`: by username, else by e-mail when `loginWithEmailAllowed`."""
    user = realm.user_by_username(name)
    if user is None and "@" in name and realm.settings.get("loginWithEmailAllowed", True):
        wanted = name.lower()
        user = next((u for u in realm.users.values() if (u.rep.get("email") or "").lower() == wanted), None)
    return user


# --- issuing --------------------------------------------------------------------------------------
def token_context(
    realm: Realm,
    client: Client,
    user: User,
    scope: str | None,
    *,
    sid: str | None = None,
    notes: dict[str, str] | None = None,
) -> claimlib.TokenContext:
    """The claim computation context; an unknown requested scope is 400 invalid_scope."""
    try:
        scopes, openid = claimlib.scopes_in_effect(realm, client, scope)
    except claimlib.InvalidScope as exc:
        raise oauth_error(400, "invalid_scope", f"Invalid scopes: {scope}") from exc
    return claimlib.TokenContext(realm, client, user, scopes, openid, dict(notes or {}), sid)


def access_claims(app: App, base_url: str, realm: Realm, client: Client, user: User, sid: str | None) -> dict[str, Any]:
    """Access-token claims for the client's default scopes (kept for callers of the core API)."""
    return claimlib.access_token_claims(token_context(realm, client, user, None, sid=sid), issuer(base_url, realm))


def token_response(
    base_url: str,
    ctx: claimlib.TokenContext,
    *,
    refresh: bool,
    azp: str | None = None,
    audience: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A token-endpoint body: access token, and a refresh token (with `session_state`) on request.

    `azp`/`audience` serve legacy token exchange, which issues for the requester and adds the
    target client to `aud`.
    """
    realm = ctx.realm
    if ctx.sid:  # the session the token's user is found by (lightweight tokens carry no `sub`)
        realm.sessions[ctx.sid] = ctx.user.id
    claims = claimlib.access_token_claims(ctx, issuer(base_url, realm))
    if azp is not None:
        claims["azp"] = azp
    if audience is not None:
        claimlib.add_audience(claims, audience)
    body: dict[str, Any] = {
        "access_token": sign(realm, claims),
        "expires_in": claims["exp"] - claims["iat"],
        "refresh_expires_in": 0,
    }
    if refresh and ctx.sid:
        idle = int(realm.settings.get("ssoSessionIdleTimeout", 1800))
        refresh_claims = {
            "exp": claims["iat"] + idle,
            "iat": claims["iat"],
            "jti": new_id(),
            "iss": claims["iss"],
            "aud": claims["iss"],
            **({"sub": claims["sub"]} if "sub" in claims else {}),  # as the access token: none when lightweight
            "typ": "Refresh",
            "azp": claims["azp"],
            "sid": ctx.sid,
            # 26.7.3: every scope in effect (not only those shown in the access token's `scope`),
            # the access token's audience as `aud_x`, and the session provider `prov`
            "scope": " ".join(([claimlib.OPENID] if ctx.openid else []) + [s.name for s in ctx.scopes]),
        }
        if "aud" in claims:
            refresh_claims["aud_x"] = claims["aud"]
        refresh_claims["prov"] = "default"
        body["refresh_expires_in"] = idle
        body["refresh_token"] = sign(realm, refresh_claims)
    body["token_type"] = "Bearer"
    if ctx.openid:
        body["id_token"] = sign(realm, claimlib.id_token_claims(ctx, claims["iss"], body["access_token"]))
    body["not-before-policy"] = 0
    if refresh and ctx.sid:
        body["session_state"] = ctx.sid
    body["scope"] = claims["scope"]
    body.update(extra or {})
    return body


def _json_response(status: int, body: dict[str, Any]) -> Response:
    from realmctl.sandbox.http import Response

    return Response(status, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})


# --- the token endpoint ---------------------------------------------------------------------------
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


def parse_form(req: Request) -> dict[str, list[str]]:
    """The urlencoded body with every value kept: token exchange may repeat `audience`."""
    return parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=False)


def token_endpoint(req: Request) -> Response:
    """`POST /realms/{realm}/protocol/openid-connect/token`: password, client_credentials,
    refresh_token and token exchange."""
    realm = find_realm(req)
    multi = parse_form(req)
    form = {k: v[0] for k, v in multi.items()}
    if not realm.settings.get("enabled", True):
        raise oauth_error(403, "access_denied", "Realm not enabled")
    grant = form.get("grant_type")
    if not grant:
        raise oauth_error(400, "invalid_request", "Missing form parameter: grant_type")
    client = authenticate_client(req, form, realm)
    if grant == "password":
        return _json_response(200, _password_grant(req, realm, client, form))
    if grant == "client_credentials":
        return _json_response(200, _client_credentials_grant(req, realm, client, form))
    if grant == "refresh_token":
        return _json_response(200, _refresh_grant(req, realm, client, form))
    if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer" and req.app.profile.has("JWT_AUTHORIZATION_GRANT"):
        from realmctl.sandbox import jwt_grant

        return _json_response(200, jwt_grant.grant(req, realm, client, form))
    if grant == TOKEN_EXCHANGE and req.app.profile.enabled & {
        "TOKEN_EXCHANGE",
        "TOKEN_EXCHANGE_STANDARD_V2",
        "TOKEN_EXCHANGE_EXTERNAL_INTERNAL_V2",
    }:
        from realmctl.sandbox import exchange

        status, body = exchange.token_exchange(req, realm, client, multi)
        return _json_response(status, body)
    raise oauth_error(400, "unsupported_grant_type", "Unsupported grant_type")


def _password_ok(user: User, password: str) -> bool:
    """The user's password: set through the API, or a hash imported from an export."""
    if user.password is not None:
        return hmac.compare_digest(user.password.encode(), password.encode())
    return user.password_hash is not None and credentials.matches(user.password_hash, password)


def _password_grant(req: Request, realm: Realm, client: Client, form: dict[str, str]) -> dict[str, Any]:
    """Direct access grant, with the direct-grant flow's answers in its order (the user is found
    by username, or by e-mail when the realm allows e-mail login)."""
    if not client.rep.get("directAccessGrantsEnabled"):
        raise oauth_error(400, "unauthorized_client", "Client not allowed for direct access grants")
    user = find_login_user(realm, form.get("username", ""))
    if user is None:
        raise oauth_error(400, "invalid_grant", "Invalid user credentials")
    if not user.rep.get("enabled"):  # ValidateUsername checks this before the password
        raise oauth_error(400, "invalid_grant", "Account disabled")
    if not _password_ok(user, form.get("password") or ""):
        raise oauth_error(400, "invalid_grant", "Invalid user credentials")
    # What the realm's user profile requires of a user (the default: e-mail, first and last name;
    # master's: nothing); checked on 26.7.3: lacking any, 400 "Account is not fully set up".
    stored = user.rep.get("attributes") or {}
    incomplete = not all(user.rep.get(k) or stored.get(k) for k in userprofile.user_required(realm))
    if user.rep.get("requiredActions") or incomplete:
        raise oauth_error(400, "invalid_grant", "Account is not fully set up")
    ctx = token_context(realm, client, user, form.get("scope"), sid=new_id(), notes=_auth_notes(req))
    return token_response(req.base_url, ctx, refresh=True)


def _client_credentials_grant(req: Request, realm: Realm, client: Client, form: dict[str, str]) -> dict[str, Any]:
    """A token for the client's service-account user; no refresh token and no session id, as
    Keycloak 26 issues these from a transient session. The `service_account` scope's note
    mappers read `client_id`, `clientHost` and `clientAddress`."""
    if client.rep.get("publicClient"):
        raise oauth_error(401, "unauthorized_client", "Public client not allowed to retrieve service account")
    user = realm.service_account_user(client.id)
    if not client.rep.get("serviceAccountsEnabled") or user is None:
        raise oauth_error(401, "unauthorized_client", "Client not enabled to retrieve service account")
    if not user.rep.get("enabled"):
        raise oauth_error(400, "invalid_request", "User '" + user.username + "' disabled")
    host = req.headers.get("X-Forwarded-For") or "127.0.0.1"
    notes = {**_auth_notes(req), "client_id": client.client_id, "clientHost": host, "clientAddress": host}
    ctx = token_context(realm, client, user, form.get("scope"), notes=notes)
    return token_response(req.base_url, ctx, refresh=False)


def _refresh_grant(req: Request, realm: Realm, client: Client, form: dict[str, str]) -> dict[str, Any]:
    """New tokens for the refresh token's session and scope; the token must be this client's."""
    if not form.get("refresh_token"):
        raise oauth_error(400, "invalid_request", "No refresh token")  # 26.7.3
    checked = verify(req.app, form.get("refresh_token", ""), typ="Refresh")
    if checked is None or checked[0] is not realm:
        raise oauth_error(400, "invalid_grant", "Invalid refresh token")
    claims = checked[1]
    if claims.get("azp") != client.client_id:
        raise oauth_error(400, "invalid_grant", "Invalid refresh token. Token client and authorized client don't match")
    user = realm.token_user(claims)
    if user is None:
        raise oauth_error(400, "invalid_grant", "Invalid refresh token")
    if not user.rep.get("enabled"):
        raise oauth_error(400, "invalid_grant", "User disabled")
    requested = " ".join(s for s in str(claims.get("scope") or "").split())
    ctx = token_context(realm, client, user, requested, sid=claims.get("sid"), notes=_auth_notes(req))
    return token_response(req.base_url, ctx, refresh=True)


def _auth_notes(req: Request) -> dict[str, str]:
    """User-session notes the builtin note mappers read. 26.7.3 sets no `AUTH_TIME` on a direct
    grant or client-credentials session: its access tokens carry no `auth_time`."""
    return {}


# --- keys, discovery, userinfo --------------------------------------------------------------------
def jwks(realm: Realm) -> dict[str, Any]:
    """The realm's public signing key as a JWK set (`kid`, `n`, `e`, `alg` RS256, `use` sig)."""
    numbers = realm_key(realm).public_key().public_numbers()

    def as_b64(value: int) -> str:
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    key = {
        "kid": realm.key_id,
        "kty": "RSA",
        "alg": "RS256",
        "use": "sig",
        "n": as_b64(numbers.n),
        "e": as_b64(numbers.e),
    }
    return {"keys": [key]}


def certs(req: Request) -> Response:
    from realmctl.sandbox.http import Response

    return Response(200, jwks(find_realm(req)))


def realm_description(req: Request) -> Response:
    """`GET /realms/{realm}`: the public description readiness probes poll (26.7.3's fields)."""
    from realmctl.sandbox.http import Response

    realm = find_realm(req)
    der = (
        realm_key(realm)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    iss = issuer(req.base_url, realm)
    body = {
        "realm": realm.name,
        "public_key": base64.b64encode(der).decode(),
        "token-service": f"{iss}/protocol/openid-connect",
        "account-service": f"{iss}/account",
        "tokens-not-before": int(realm.settings.get("notBefore") or 0),
    }
    return Response(200, body)


def admin_console_redirect(req: Request) -> Response:
    """`GET /admin` (and `/admin/`): 302 to master's console, which tools poll as a liveness check."""
    from realmctl.sandbox.http import Response

    return Response(302, None, {"Location": f"{req.base_url}/admin/master/console/"})


CONSOLE_PAGE = (
    b'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
    b"<title>Keycloak Administration Console</title></head>"
    b"<body>realmctl sandbox: no administration console is served.</body></html>\n"
)


def admin_console(req: Request) -> Response:
    """The console's page: 200 HTML as Keycloak answers (the sandbox has no console to offer)."""
    from realmctl.sandbox.http import Response

    find_realm(req)
    return Response(200, CONSOLE_PAGE, {"Content-Type": "text/html; charset=utf-8"})


def discovery(req: Request) -> Response:
    """`/.well-known/openid-configuration`: the endpoints of this realm."""
    from realmctl.sandbox.http import Response

    realm = find_realm(req)
    iss = issuer(req.base_url, realm)
    oidc = f"{iss}/protocol/openid-connect"
    body = {
        "issuer": iss,
        "authorization_endpoint": f"{oidc}/auth",
        "token_endpoint": f"{oidc}/token",
        "introspection_endpoint": f"{oidc}/token/introspect",
        "userinfo_endpoint": f"{oidc}/userinfo",
        "end_session_endpoint": f"{oidc}/logout",
        "jwks_uri": f"{oidc}/certs",
        "grant_types_supported": [
            "authorization_code",
            "client_credentials",
            "implicit",
            "password",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code",
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
            TOKEN_EXCHANGE,
            "urn:ietf:params:oauth:grant-type:uma-ticket",
            "urn:openid:params:grant-type:ciba",
        ],  # 26.7.3, every profile (ordered by name)
        "response_types_supported": ["code", "none", "id_token", "token", "id_token token", "code id_token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "userinfo_signing_alg_values_supported": ["RS256", "none"],
        "token_endpoint_auth_methods_supported": [
            "private_key_jwt",
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
        ],
        "scopes_supported": [OPENID, *sorted(s.name for s in realm.client_scopes.values())],
        "claims_supported": [
            "aud",
            "sub",
            "iss",
            "auth_time",
            "name",
            "given_name",
            "family_name",
            "preferred_username",
            "email",
            "acr",
        ],
    }
    return Response(200, body)


def userinfo_for(app: App, realm: Realm, token: str | None, base_url: str | None = None) -> tuple[int, dict[str, Any]]:
    """Userinfo for a bearer token of `realm`: (200, claims) or Keycloak's error (UserInfoEndpoint).

    Shared by the HTTP endpoint and the in-process validation of token exchange, which must see
    exactly what an IdP calling this endpoint would see. A gone or disabled user stands for the
    session Keycloak would no longer find.
    """
    if token is None:
        return 400, {"error": "invalid_request", "error_description": "Token not provided"}
    checked = verify(app, token)
    if checked is None or checked[0] is not realm or (base_url and not issued_here(checked[1], base_url, realm)):
        return 401, {"error": "invalid_token", "error_description": "Token verification failed"}
    claims = checked[1]
    client = realm.client_by_client_id(str(claims.get("azp")))
    if client is None:
        return 400, {"error": "invalid_request", "error_description": "Client not found"}
    if not client.rep.get("enabled", True):
        return 400, {"error": "invalid_request", "error_description": "Client disabled"}
    if claimlib.OPENID not in str(claims.get("scope") or "").split():
        return 403, {"error": "insufficient_scope", "error_description": "Missing openid scope"}  # 26.7.3
    if (client.rep.get("attributes") or {}).get(claimlib.LIGHTWEIGHT) == "true":
        # 26.7.3 (the reason in `WWW-Authenticate` only): the token has no `sub` to answer with
        return 401, {
            "error": "invalid_token",
            "error_description": "Lightweight access token not allowed for userinfo endpoint",
        }
    user = realm.token_user(claims)
    if user is None or not user.rep.get("enabled"):
        text = "User session not found or doesn't have client attached on it" if claims.get("sid") else "User not found"
        return 401, {"error": "invalid_request", "error_description": text}
    try:
        ctx = token_context(realm, client, user, str(claims.get("scope") or ""))
    except HttpError:
        ctx = token_context(realm, client, user, None)
    return 200, claimlib.userinfo_claims(ctx)


def userinfo(req: Request) -> Response:
    from realmctl.sandbox.http import Response

    realm = find_realm(req)
    status, body = userinfo_for(req.app, realm, bearer_token(req), req.base_url)
    if status == 400 and body.get("error_description") == "Token not provided":
        # 26.7.3: 401, empty body, `WWW-Authenticate: Bearer realm="r"` without an error
        return Response(401, None, {"WWW-Authenticate": f'Bearer realm="{realm.name}"'})
    headers = {}
    if status in (401, 403):
        headers["WWW-Authenticate"] = (
            f'Bearer realm="{realm.name}", error="{body["error"]}", error_description="{body["error_description"]}"'
        )
        if body.get("error") in ("invalid_token", "insufficient_scope"):  # 26.7.3: the reason in the header only
            return Response(status, None, headers)
    return Response(status, body, headers)


def register(router: Router) -> None:
    router.add("POST", "/realms/{realm}/protocol/openid-connect/token", token_endpoint, auth="none")
    router.add("GET", "/realms/{realm}/protocol/openid-connect/certs", certs, auth="none")
    router.add("GET", "/realms/{realm}/.well-known/openid-configuration", discovery, auth="none")
    router.add("GET", "/realms/{realm}", realm_description, auth="none")
    router.add("GET", "/admin", admin_console_redirect, auth="none")
    router.add("GET", "/admin/{realm}/console", admin_console, auth="none")
    router.add("GET", "/realms/{realm}/protocol/openid-connect/userinfo", userinfo, auth="none")
    router.add("POST", "/realms/{realm}/protocol/openid-connect/userinfo", userinfo, auth="none")
