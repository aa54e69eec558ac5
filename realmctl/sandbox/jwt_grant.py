"""The JWT Authorization Grant (RFC 7523, Keycloak 26.6+): `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`.

Checks in the order real Keycloak 26.7.3 answers them (docs/keycloak-26.7-facts.md §4, and the
requests in tests/e2e/test_modern_chains.py): the assertion parameter, a parseable JWT, the client
(confidential, `oauth2.jwt.authorization.grant.enabled`), an enabled IdP with the grant on whose
`issuer` is the assertion's `iss`, that IdP in the client's `oauth2.jwt.authorization.grant.idp`
(aliases joined by `##`), the signature algorithm and signature, reuse of the `jti` (recorded even
when a later check fails), the assertion's age (`now - iat` against the IdP's maximum, 300 s by
default), the user linked with `userId` = `sub`, and exactly one audience: the realm's issuer or
its token endpoint. Every failure is 400 `invalid_grant`. The answer has no refresh token and no
session (a transient session, as Keycloak's).

The sandbox verifies signatures of assertions issued by one of its own realms with that realm's
key (a real server fetches the IdP's JWKS URL; the sandbox makes no outbound request).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from realmctl.sandbox import tokens
from realmctl.sandbox.errors import HttpError
from realmctl.sandbox.http import Request
from realmctl.sandbox.store import Client, IdentityProvider, Realm

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FEATURE = "JWT_AUTHORIZATION_GRANT"
DEFAULT_MAX_AGE = 300
#: The `jti`s of assertions already presented, per sandbox app (Keycloak keeps them in its single-use store).
_SEEN: dict[int, set[str]] = {}


def _fail(description: str) -> HttpError:
    return tokens.oauth_error(400, "invalid_grant", description)


def _aliases(client: Client) -> list[str]:
    value = (client.rep.get("attributes") or {}).get("oauth2.jwt.authorization.grant.idp") or ""
    return [a for a in str(value).split("##") if a]


def _replaced_audiences(client: Client, alias: str) -> list[str]:
    try:
        pairs = json.loads((client.rep.get("attributes") or {}).get("oauth2.jwt.authorization.grant.audience") or "[]")
    except ValueError:
        return []
    return (
        [str(p.get("value")) for p in pairs if isinstance(p, dict) and p.get("key") == alias]
        if isinstance(pairs, list)
        else []
    )


def _idp_for(realm: Realm, iss: Any) -> IdentityProvider | None:
    for idp in realm.idps.values():
        config = idp.rep.get("config") or {}
        if (
            idp.rep.get("enabled", True)
            and config.get("jwtAuthorizationGrantEnabled") == "true"
            and config.get("issuer") == iss
        ):
            return idp
    return None


def grant(req: Request, realm: Realm, client: Client, form: dict[str, str]) -> dict[str, Any]:
    # An empty `assertion=` is "not a valid JWT", only a missing one is "Missing parameter" (26.7.3);
    # the token endpoint's form drops blank values, so the body is read again here.
    sent = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True).get("assertion")
    if sent is None:
        raise _fail("Missing parameter:assertion")
    assertion = sent[0]
    claims = tokens.decode_unverified(assertion)
    header = decode_header(assertion)
    if claims is None or header is None:
        raise _fail("The provided assertion is not a valid JWT")
    if client.rep.get("publicClient"):
        raise _fail("Public client not allowed to use authorization grant")
    if (client.rep.get("attributes") or {}).get("oauth2.jwt.authorization.grant.enabled") != "true":
        raise _fail("JWT Authorization Grant is not supported for the requested client")
    idp = _idp_for(realm, claims.get("iss"))
    if idp is None:
        raise _fail("No Identity Provider for provided issuer")
    if idp.rep["alias"] not in _aliases(client):
        raise _fail("Identity Provider is not allowed for the client")
    config = idp.rep.get("config") or {}
    if header.get("alg") != config.get("jwtAuthorizationGrantAssertionSignatureAlg", header.get("alg")) or (
        header.get("alg") in (None, "none")
    ):
        raise _fail("Invalid signature algorithm")
    if tokens.verify(req.app, assertion) is None:  # also refuses an expired assertion (not observed)
        raise _fail("Invalid signature")
    seen = _SEEN.setdefault(id(req.app), set())
    jti = str(claims.get("jti") or "")
    if config.get("jwtAuthorizationGrantAssertionReuseAllowed") != "true":
        if jti in seen:
            raise _fail("Token reuse detected")
        seen.add(jti)
    now = time.time()
    max_age = int(config.get("jwtAuthorizationGrantMaxAllowedAssertionExpiration") or DEFAULT_MAX_AGE)
    if isinstance(claims.get("iat"), int | float) and now - claims["iat"] > max_age:
        raise _fail("Token was issued too far in the past to be used now")
    user = next(
        (
            u
            for u in realm.users.values()
            if idp.rep["alias"] in u.federated and u.federated[idp.rep["alias"]].user_id == claims.get("sub")
        ),
        None,
    )
    if user is None or not user.rep.get("enabled"):
        raise _fail("User not found")
    aud = claims.get("aud")
    if isinstance(aud, list) and len(aud) > 1:
        raise _fail("Multiple audiences not allowed")
    own = tokens.issuer(req.base_url, realm)
    single = aud[0] if isinstance(aud, list) and aud else aud
    # The client's `oauth2.jwt.authorization.grant.audience` (alias -> audiences) replaces the
    # realm's own audiences for assertions of that IdP (honoured by 26.7.3).
    valid = _replaced_audiences(client, idp.rep["alias"]) or [own, f"{own}/protocol/openid-connect/token"]
    if single not in valid:
        raise _fail("Invalid token audience")
    # 26.7.3 sets no AUTH_TIME on the grant's transient session: its access token has no `auth_time`.
    ctx = tokens.token_context(realm, client, user, form.get("scope"))
    body = tokens.token_response(req.base_url, ctx, refresh=False)
    if config.get("jwtAuthorizationGrantLimitAccessTokenExp") == "true" and isinstance(claims.get("exp"), int):
        issued = tokens.decode_unverified(body["access_token"]) or {}
        if claims["exp"] < issued.get("exp", 0):  # 26.7.3: the token expires with the assertion
            issued["exp"] = claims["exp"]
            body["access_token"] = tokens.sign(realm, issued)
            body["expires_in"] = claims["exp"] - issued["iat"]
    return body


def decode_header(token: str) -> dict[str, Any] | None:
    try:
        header = json.loads(tokens.b64url_decode(token.split(".")[0]))
    except (IndexError, ValueError):
        return None
    return header if isinstance(header, dict) else None
