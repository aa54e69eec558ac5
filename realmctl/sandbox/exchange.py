"""Token exchange at the token endpoint, with Keycloak 26.x's provider selection (SEMANTICS §6).

Providers are tried by descending order (`external-internal` 20, `standard` 10, legacy V1 `default`
0), each present only when its feature is on in the profile; the first that supports the request
handles it. Legacy V1 covers internal→internal, external→internal through an IdP of this realm
(the cross-realm case), exchange to an IdP's stored token and impersonation, all authorised by
FGAP v1 (`fgap_eval`). A subject token from another realm of this same sandbox is validated
in-process: an IdP `jwksUrl` / `userInfoUrl` under the sandbox's own base URL is resolved without
an HTTP request; any other URL fails validation, since the sandbox makes no outbound calls.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from realmctl.sandbox import fgap_eval, ops, tokens
from realmctl.sandbox.errors import HttpError
from realmctl.sandbox.store import Client, FederatedIdentity, IdentityProvider, Realm, User, new_id

if TYPE_CHECKING:
    from realmctl.sandbox.http import Request

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
REFRESH_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:refresh_token"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
SAML2_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:saml2"
EXTERNAL_PROVIDERS = {"oidc", "keycloak-oidc"}
NOT_ALLOWED = "Client not allowed to exchange"

Result = tuple[int, dict[str, Any]]


def fail(status: int, code: str, description: str) -> HttpError:
    """CorsErrorResponseException: `{"error", "error_description"}` with the given status."""
    return tokens.oauth_error(status, code, description)


@dataclass
class Exchange:
    """One token-exchange request: where, by whom, and its parameters."""

    req: Request
    realm: Realm
    client: Client
    params: dict[str, list[str]]
    notes: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return list(self.params.get(name) or [])

    @property
    def realm_issuer(self) -> str:
        return tokens.issuer(self.req.base_url, self.realm)


# --- provider selection ---------------------------------------------------------------------------
def token_exchange(req: Request, realm: Realm, client: Client, params: dict[str, list[str]]) -> Result:
    """Pick the provider as `TokenExchangeGrantType` does and run it.

    Each `supports` answers (taken, reason): the first reason recorded is what the client reads
    when no provider takes the request.
    """
    ex = Exchange(req, realm, client, params)
    profile = req.app.profile
    providers: list[tuple[Callable[[Exchange], tuple[bool, str | None]], Callable[[Exchange], Result]]] = []
    if profile.has("TOKEN_EXCHANGE_EXTERNAL_INTERNAL_V2"):
        providers.append((external_internal_supports, external_internal_exchange))
    if profile.has("TOKEN_EXCHANGE_STANDARD_V2"):
        providers.append((standard_supports, standard_exchange))
    if profile.has("TOKEN_EXCHANGE"):
        providers.append((lambda _ex: (True, None), v1_exchange))
    reason: str | None = None
    for supports, run in providers:
        taken, why = supports(ex)
        if taken:
            return run(ex)
        reason = reason or why
    if reason is not None:
        raise fail(400, "invalid_request", reason)
    raise fail(500, "unknown_error", "For more on this error consult the server log.")


# --- standard (V2) --------------------------------------------------------------------------------
def standard_supports(ex: Exchange) -> tuple[bool, str | None]:
    """Whether the standard provider takes the request, else the reason it records."""
    if ex.get("requested_subject") is not None:
        return False, "Parameter 'requested_subject' is not supported for standard token exchange"
    if ex.get("requested_issuer") is not None:
        return False, "Parameter 'requested_issuer' is not supported for standard token exchange"
    if ex.get("subject_issuer") is not None:
        return False, "Parameter 'subject_issuer' is not supported for standard token exchange"
    if (ex.client.rep.get("attributes") or {}).get("standard.token.exchange.enabled") != "true":
        return False, "Standard token exchange is not enabled for the requested client"
    if ex.get("subject_token") is None:
        return False, "Parameter 'subject_token' required for standard token exchange"
    if ex.get("subject_token_type") is None:
        return False, "Parameter 'subject_token_type' required for standard token exchange"
    if ex.get("subject_token_type") != ACCESS_TOKEN_TYPE:
        return False, "Parameter 'subject_token' supports access tokens only"
    return True, None


def standard_exchange(ex: Exchange) -> Result:
    """Internal→internal exchange of an access token of this realm (StandardTokenExchangeProvider)."""
    bearer = tokens.validate_access_token(ex.req.app, ex.get("subject_token") or "", ex.realm)
    if bearer is None:
        raise fail(400, "invalid_request", "Invalid token")
    attributes = ex.client.rep.get("attributes") or {}
    refresh_allowed = (
        attributes.get("use.refresh.tokens", "true") == "true"
        and attributes.get("standard.token.exchange.enableRefreshRequestedTokenType", "NO") != "NO"
    )
    allowed = [ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE, SAML2_TOKEN_TYPE] + ([REFRESH_TOKEN_TYPE] if refresh_allowed else [])
    sid = str(bearer.claims.get("sid") or "") or None
    return _standard_client_to_client(ex, bearer.user, sid, bearer.claims, allowed)


def _standard_client_to_client(
    ex: Exchange, user: User, sid: str | None, token: dict[str, Any] | None, allowed_types: list[str]
) -> Result:
    """`exchangeClientToClient` as the V2 providers run it: requested type, audiences, the
    requester (confidential, within the subject token's audience), scope, then the new token
    with `aud` narrowed to the requested audiences."""
    requested_type = ex.get("requested_token_type") or ACCESS_TOKEN_TYPE
    if requested_type not in allowed_types:
        raise fail(400, "invalid_request", "requested_token_type unsupported")
    targets = _audience_clients(ex)
    if ex.client.rep.get("publicClient"):
        raise fail(400, "invalid_client", "Public client is not allowed to exchange token")
    for target in targets:
        if not target.rep.get("enabled", True):
            raise fail(400, "invalid_client", "Client disabled")
    if token is not None:
        holder = ex.realm.client_by_client_id(str(token.get("azp")))
        not_holder = holder is None or holder.id != ex.client.id
        if not_holder and ex.client.client_id not in _audiences(token):
            raise fail(403, "access_denied", "Client is not within the token audience")
    scope = ex.get("scope")
    try:
        ctx = tokens.token_context(ex.realm, ex.client, user, scope, sid=sid)
    except HttpError:
        raise fail(400, "invalid_scope", f"Invalid scopes: {scope}") from None
    if requested_type == SAML2_TOKEN_TYPE:
        raise fail(400, "invalid_request", "requested_token_type unsupported")
    if requested_type == REFRESH_TOKEN_TYPE and any(s.name == "offline_access" for s in ctx.scopes):
        raise fail(400, "invalid_request", "Scope offline_access not allowed for token exchange")
    body = tokens.token_response(ex.req.base_url, ctx, refresh=requested_type == REFRESH_TOKEN_TYPE)
    if ex.all("audience"):
        body["access_token"] = _restrict_audience(ex, body["access_token"], ex.all("audience"))
    if requested_type == ID_TOKEN_TYPE:
        claims = tokens.decode_unverified(body["access_token"]) or {}
        id_claims = {**claims, "typ": "ID", "aud": ex.client.client_id, "jti": new_id()}
        body = {
            "access_token": tokens.sign(ex.realm, id_claims),
            "expires_in": body["expires_in"],
            "refresh_expires_in": 0,
            "token_type": "N_A",
            "not-before-policy": 0,
            "scope": body["scope"],
        }
    body["issued_token_type"] = requested_type
    return 200, body


def _restrict_audience(ex: Exchange, token: str, requested: list[str]) -> str:
    """Keep only the requested audiences in `aud`; any requested one the token would not carry
    is 400 "Requested audience not available: …" (checkRequestedAudiences)."""
    claims = tokens.decode_unverified(token) or {}
    present = _audiences(claims)
    missing = [a for a in dict.fromkeys(requested) if a not in present]
    if missing:
        raise fail(400, "invalid_request", "Requested audience not available: " + ", ".join(missing))
    kept = [a for a in present if a in requested]
    claims["aud"] = kept[0] if len(kept) == 1 else kept
    return tokens.sign(ex.realm, claims)


def _audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    return [aud] if isinstance(aud, str) else [str(a) for a in aud or []]


def _audience_clients(ex: Exchange) -> list[Client]:
    """`getTargetAudienceClients`: each `audience` must name a client; none ⇒ the requester."""
    targets: list[Client] = []
    for audience in ex.all("audience"):
        target = ex.realm.client_by_client_id(audience)
        if target is None:
            raise fail(400, "invalid_client", "Audience not found")
        targets.append(target)
    return targets or [ex.client]


# --- external-internal (V2, experimental) ---------------------------------------------------------
def external_internal_supports(ex: Exchange) -> tuple[bool, str | None]:
    """Takes exactly the external→internal requests, recording no reason otherwise."""
    return _external_issuer(ex) is not None, None


def external_internal_exchange(ex: Exchange) -> Result:
    """ExternalToInternalTokenExchangeProvider: locate the IdP, validate, import the user, then the
    standard issuing (access or ID token only); no FGAP check in the copy read (SEMANTICS §6.3)."""
    idp = locate_idp(ex.realm, _external_issuer(ex) or "")
    if idp is None:
        raise fail(400, "invalid_issuer", "Invalid subject_issuer parameter")
    user = import_user(ex, idp, validate_external(ex, idp))
    return _standard_client_to_client(ex, user, new_id(), None, [ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE])


# --- legacy V1 ------------------------------------------------------------------------------------
def _external_issuer(ex: Exchange) -> str | None:
    """The subject issuer when the request is external→internal (`isExternalInternalTokenExchangeRequest`)."""
    token = ex.get("subject_token")
    if token is None:
        return None
    subject_issuer = ex.get("subject_issuer")
    if subject_issuer is None and ex.get("subject_token_type") == JWT_TOKEN_TYPE:
        claims = tokens.decode_unverified(token)
        if claims is None:
            raise fail(400, "invalid_request", "Invalid token type, must be access token")
        iss = claims.get("iss")
        subject_issuer = str(iss) if iss is not None else None
    if subject_issuer is not None and subject_issuer != ex.realm_issuer:
        return subject_issuer
    return None


def v1_exchange(ex: Exchange) -> Result:
    """V1TokenExchangeProvider.tokenExchange."""
    token_user: User | None = None
    token_claims: dict[str, Any] | None = None
    token_client: Client | None = None
    sid: str | None = None
    subject_token = ex.get("subject_token")
    if subject_token is not None:
        if _external_issuer(ex) is not None:
            return _exchange_external(ex)
        token_type = ex.get("subject_token_type")
        if token_type is not None and token_type != ACCESS_TOKEN_TYPE:
            raise fail(400, "invalid_request", "Invalid token type, must be access token")
        bearer = tokens.validate_access_token(ex.req.app, subject_token, ex.realm)
        if bearer is None:
            raise fail(400, "invalid_request", "Invalid token")
        token_user, token_claims, token_client = bearer.user, bearer.claims, bearer.client
        sid = str(bearer.claims.get("sid") or "") or None
    disallow_on_holder_mismatch = True
    requested_subject = ex.get("requested_subject")
    if requested_subject is not None:
        target = ex.realm.user_by_username(requested_subject) or ex.realm.users.get(requested_subject)
        if target is None or not target.rep.get("enabled"):
            raise fail(403, "access_denied", NOT_ALLOWED)
        profile = ex.req.app.profile
        if token_user is not None:
            if not fgap_eval.can_impersonate(profile, ex.realm, token_user, token_client, target):
                raise fail(403, "access_denied", NOT_ALLOWED)
        else:
            if ex.client.rep.get("publicClient"):
                raise fail(403, "access_denied", NOT_ALLOWED)
            if not fgap_eval.can_client_impersonate(profile, ex.realm, ex.client, target):
                raise fail(403, "access_denied", NOT_ALLOWED)
            disallow_on_holder_mismatch = False
        sid = new_id()
        token_user = target
    if token_user is None:
        raise fail(400, "invalid_request", "Invalid token")  # UNCONFIRMED: no subject at all
    requested_issuer = ex.get("requested_issuer")
    if requested_issuer is not None:
        return _exchange_to_idp(ex, token_user, requested_issuer)
    return _client_to_client(ex, token_user, sid or new_id(), token_claims, disallow_on_holder_mismatch)


def _requested_token_type(ex: Exchange) -> str:
    requested = ex.get("requested_token_type")
    if requested is None:
        return REFRESH_TOKEN_TYPE
    if requested in (ACCESS_TOKEN_TYPE, REFRESH_TOKEN_TYPE, SAML2_TOKEN_TYPE):
        return requested
    raise fail(400, "invalid_request", "requested_token_type unsupported")


def _client_to_client(
    ex: Exchange, user: User, sid: str, token: dict[str, Any] | None, disallow_on_holder_mismatch: bool
) -> Result:
    """`exchangeClientToClient` with V1's `validateAudience`."""
    requested_type = _requested_token_type(ex)
    targets = _audience_clients(ex)
    holder = ex.realm.client_by_client_id(str(token.get("azp"))) if token is not None else None
    public = bool(ex.client.rep.get("publicClient"))
    for target in targets:
        if target.rep.get("consentRequired"):
            raise fail(400, "invalid_client", "Client requires user consent")
        if not target.rep.get("enabled", True):
            raise fail(400, "invalid_client", "Client disabled")
        if target.id == ex.client.id:
            if public:
                _forbid_unless_holder(ex, disallow_on_holder_mismatch, holder)
            elif _outside_audience(ex, token, holder):
                raise fail(403, "access_denied", "Client is not within the token audience")
        else:
            if public:
                _forbid_unless_holder(ex, disallow_on_holder_mismatch, holder)
            if not fgap_eval.can_exchange_to_client(ex.req.app.profile, ex.realm, ex.client, target):
                raise fail(403, "access_denied", NOT_ALLOWED)
    if requested_type == SAML2_TOKEN_TYPE:
        raise fail(400, "invalid_request", "requested_token_type unsupported")  # no SAML in the sandbox
    target = targets[0]
    scope = ex.get("scope")
    if scope is None and token is not None and token.get("scope"):
        attached = {ex.realm.client_scopes[s].name for s in target.scopes if s in ex.realm.client_scopes}
        scope = " ".join(s for s in str(token["scope"]).split() if s == "openid" or s in attached)
    ctx = tokens.token_context(ex.realm, ex.client, user, scope, sid=sid, notes=ex.notes)
    use_refresh = (ex.client.rep.get("attributes") or {}).get("use.refresh.tokens", "true") == "true"
    body = tokens.token_response(
        ex.req.base_url,
        ctx,
        refresh=requested_type == REFRESH_TOKEN_TYPE and use_refresh,
        audience=target.client_id if target.id != ex.client.id else None,
        extra={"issued_token_type": requested_type},
    )
    return 200, body


def _outside_audience(ex: Exchange, token: dict[str, Any] | None, holder: Client | None) -> bool:
    """A confidential requester that is not the holder must be in the subject token's `aud`."""
    is_holder = holder is not None and holder.id == ex.client.id
    return token is not None and not is_holder and ex.client.client_id not in _audiences(token)


def _forbid_unless_holder(ex: Exchange, disallow: bool, holder: Client | None) -> None:
    if disallow and (holder is None or holder.id != ex.client.id):
        raise fail(403, "access_denied", "Client is not the holder of the token")


def _exchange_to_idp(ex: Exchange, user: User, alias: str) -> Result:
    """`exchangeToIdentityProvider`: hand out the user's stored external token (OIDC IdPs)."""
    idp = ex.realm.idps.get(alias)
    if idp is None:
        raise fail(400, "invalid_request", "Invalid issuer")
    if idp.rep.get("providerId") not in EXTERNAL_PROVIDERS:
        raise fail(400, "invalid_request", "Issuer does not support token exchange")
    if not fgap_eval.can_exchange_to_idp(ex.req.app.profile, ex.realm, ex.client, idp):
        raise fail(403, "access_denied", NOT_ALLOWED)
    requested = ex.get("requested_token_type")
    if requested is not None and requested != ACCESS_TOKEN_TYPE:
        raise fail(400, "invalid_request", "requested_token_type unsupported")  # UNCONFIRMED text
    link = user.federated.get(alias)
    stored = json.loads(link.token) if link is not None and link.token else None
    if not idp.rep.get("storeToken") or not isinstance(stored, dict) or not stored.get("access_token"):
        # exchangeNotLinked (the sandbox keeps no session-held upstream tokens)
        raise fail(400, "not_linked", "identity provider is not linked")
    expiration = int(stored.get("accessTokenExpiration") or 0)
    body: dict[str, Any] = {
        "access_token": stored["access_token"],
        "expires_in": max(expiration - int(time.time()), 0) if expiration else 0,
        "refresh_expires_in": 0,
        "token_type": "Bearer",
        "not-before-policy": 0,
        "issued_token_type": ACCESS_TOKEN_TYPE,
    }
    return 200, body


# --- external → internal --------------------------------------------------------------------------
@dataclass
class ExternalIdentity:
    """What the IdP learned about the subject (BrokeredIdentityContext)."""

    id: str
    username: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


def locate_idp(realm: Realm, issuer: str) -> IdentityProvider | None:
    """By alias first, else an OIDC IdP whose alias or trusted `issuer` list matches."""
    idp = realm.idps.get(issuer)
    if idp is not None:
        return idp if idp.rep.get("providerId") in EXTERNAL_PROVIDERS and idp.rep.get("enabled", True) else None
    for candidate in realm.idps.values():
        if candidate.rep.get("providerId") not in EXTERNAL_PROVIDERS or not candidate.rep.get("enabled", True):
            continue
        trusted = [t.strip() for t in (candidate.rep.get("config") or {}).get("issuer", "").split(",") if t]
        if issuer in trusted:
            return candidate
    return None


def _exchange_external(ex: Exchange) -> Result:
    """`exchangeExternalToken`: IdP, permission, validation, user import, then client-to-client."""
    issuer = _external_issuer(ex) or ""
    idp = locate_idp(ex.realm, issuer)
    if idp is None:
        raise fail(400, "invalid_issuer", "Invalid subject_issuer parameter")
    if not fgap_eval.can_exchange_to_idp(ex.req.app.profile, ex.realm, ex.client, idp):
        raise fail(403, "access_denied", NOT_ALLOWED)
    identity = validate_external(ex, idp)
    user = import_user(ex, idp, identity)
    return _client_to_client(ex, user, new_id(), None, False)


def _config(idp: IdentityProvider) -> dict[str, str]:
    return dict(idp.rep.get("config") or {})


INVALID = ("invalid_token", "invalid token")


def validate_external(ex: Exchange, idp: IdentityProvider) -> ExternalIdentity:
    """`exchangeExternalImpl`: for `oidc`, jwt/id_token by signature and access_token via userinfo;
    `keycloak-oidc` verifies every type as a JWT (then asks userinfo unless it is an id token)."""
    token = ex.get("subject_token")
    if token is None:
        raise fail(400, "invalid_token", "token not set")
    token_type = ex.get("subject_token_type") or ACCESS_TOKEN_TYPE
    if idp.rep.get("providerId") == "keycloak-oidc" or token_type in (JWT_TOKEN_TYPE, ID_TOKEN_TYPE):
        # KeycloakOIDCIdentityProvider validates every subject token type as a JWT
        return _validate_jwt(ex, idp, token, token_type)
    if token_type == ACCESS_TOKEN_TYPE:
        return _identity_from_userinfo(ex, idp, token)
    raise fail(400, "invalid_token", "invalid token type")


def _validate_jwt(ex: Exchange, idp: IdentityProvider, token: str, token_type: str) -> ExternalIdentity:
    config = _config(idp)
    if config.get("validateSignature") != "true":
        return _identity_from_userinfo(ex, idp, token)
    if config.get("useJwksUrl") == "true":
        if not config.get("jwksUrl"):
            raise fail(400, "invalid_config", "Invalid server config")
    elif not config.get("publicKeySignatureVerifier"):
        raise fail(400, "invalid_config", "Invalid server config")
    claims = _verified_claims(ex, config, token)
    if claims is None:
        raise fail(400, *INVALID)
    identity = ExternalIdentity(
        id=str(claims.get("sub") or ""),
        username=str(claims.get("preferred_username") or claims.get("email") or claims.get("sub") or ""),
        email=claims.get("email"),
        first_name=claims.get("given_name"),
        last_name=claims.get("family_name"),
    )
    if token_type != ID_TOKEN_TYPE and config.get("disableUserInfo") != "true" and config.get("userInfoUrl"):
        # extractIdentity asks userinfo with the subject token (not for id tokens); a failing
        # call is a broker exception in Keycloak, answered here as "invalid token" (UNCONFIRMED)
        identity = _identity_from_userinfo(ex, idp, token)
    if not identity.id:
        raise fail(400, *INVALID)
    return identity


def _verified_claims(ex: Exchange, config: dict[str, str], token: str) -> dict[str, Any] | None:
    """`validateToken(token, ignoreAudience=true)`: signature, activity (with skew), issuer list."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(tokens.b64url_decode(parts[0]))
        claims = json.loads(tokens.b64url_decode(parts[1]))
        signature = tokens.b64url_decode(parts[2])
    except ValueError:
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") != "RS256":
        return None
    keys = _verification_keys(ex, config, header.get("kid"))
    signed = f"{parts[0]}.{parts[1]}".encode("ascii")
    if not any(_rsa_verifies(key, signed, signature) for key in keys):
        return None
    skew = int(config.get("allowedClockSkew") or 0)
    now = time.time()
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and exp != 0 and now > exp + skew:
        return None
    nbf = claims.get("nbf")
    if isinstance(nbf, (int, float)) and nbf != 0 and now + skew < nbf:
        return None
    trusted = [t.strip() for t in (config.get("issuer") or "").split(",") if t.strip()]
    if trusted and claims.get("iss") not in trusted:
        return None
    return claims


def _rsa_verifies(key: rsa.RSAPublicKey, signed: bytes, signature: bytes) -> bool:
    try:
        key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


LOOPBACK = {"localhost", "127.0.0.1", "[::1]"}


def _origin(url: str) -> tuple[str, str, str] | None:
    """(scheme, host, port) with loopback names folded together: `localhost` is 127.0.0.1."""
    found = re.match(r"^(https?)://(\[[^\]]+\]|[^/:]+)(?::(\d+))?", url)
    if found is None:
        return None
    scheme, host, port = found.group(1), found.group(2).lower(), found.group(3)
    port = port or ("443" if scheme == "https" else "80")
    return scheme, "loopback" if host in LOOPBACK else host, port


def local_realm(ex: Exchange, url: str, endpoint: str) -> Realm | None:
    """The realm of a URL that points at this very sandbox's `…/protocol/openid-connect/<endpoint>`.

    The sandbox never calls out: an IdP URL is followed only when its origin is the sandbox's own
    base URL (as this request reached it); anything else is unreachable and fails validation.
    """
    prefix = re.escape(ex.req.app.context_path)
    pattern = r"(https?://[^/]+)" + prefix + r"/realms/([^/]+)/protocol/openid-connect/" + endpoint + "/?"
    found = re.fullmatch(pattern, url)
    if found is None or _origin(found.group(1)) != _origin(ex.req.base_url):
        return None
    return ex.req.app.store.realm(found.group(2))


def _verification_keys(ex: Exchange, config: dict[str, str], kid: Any) -> list[rsa.RSAPublicKey]:
    """Keys from the JWKS URL (in-process for this sandbox only) or the configured public key."""
    if config.get("useJwksUrl") == "true":
        realm = local_realm(ex, config.get("jwksUrl", ""), "certs")
        if realm is None or realm.signing_key is None:
            return []
        if kid is not None and kid != realm.key_id:
            return []
        return [tokens.realm_key(realm).public_key()]
    text = config.get("publicKeySignatureVerifier", "").strip()
    try:
        if "BEGIN" in text:
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(text))
    except ValueError:
        return []
    return [key] if isinstance(key, rsa.RSAPublicKey) else []


def _identity_from_userinfo(ex: Exchange, idp: IdentityProvider, token: str) -> ExternalIdentity:
    """`validateExternalTokenThroughUserInfo` against this sandbox's userinfo endpoint."""
    config = _config(idp)
    url = config.get("userInfoUrl")
    if config.get("disableUserInfo") == "true" or not url:
        raise fail(400, *INVALID)
    realm = local_realm(ex, url, "userinfo")
    if realm is None:
        raise fail(400, *INVALID)
    status, info = tokens.userinfo_for(ex.req.app, realm, token)
    if status != 200 or not info.get("sub"):
        raise fail(400, *INVALID)
    return ExternalIdentity(
        id=str(info["sub"]),
        username=str(info.get("preferred_username") or info.get("email") or info["sub"]),
        email=info.get("email"),
        first_name=info.get("given_name"),
        last_name=info.get("family_name"),
    )


def import_user(ex: Exchange, idp: IdentityProvider, identity: ExternalIdentity) -> User:
    """`importUserFromExternalIdentity`: find by link, else create and link (no `read-token` grant)."""
    from realmctl.sandbox.broker import find_linked_user

    realm = ex.realm
    user = find_linked_user(realm, idp.alias, identity.id)
    if user is not None:
        if not user.rep.get("enabled"):
            raise fail(400, "invalid_token", "Invalid Token")
        return user
    username = (identity.username or f"{idp.alias}.{identity.id}").strip().lower()
    if identity.email and not realm.settings.get("duplicateEmailsAllowed"):
        wanted = identity.email.lower()
        if any((u.rep.get("email") or "").lower() == wanted for u in realm.users.values()):
            raise fail(400, "invalid_token", "User already exists")
    if realm.user_by_username(username) is not None:
        raise fail(400, "invalid_token", "User already exists")
    rep: dict[str, Any] = {"username": username, "enabled": True}
    if identity.email:
        rep["email"] = identity.email
        if idp.rep.get("trustEmail"):
            rep["emailVerified"] = True
    if identity.first_name:
        rep["firstName"] = identity.first_name
    if identity.last_name:
        rep["lastName"] = identity.last_name
    user = ops.create_user(realm, rep)
    user.federated[idp.alias] = FederatedIdentity(idp.alias, identity.id, username, None)
    return user
