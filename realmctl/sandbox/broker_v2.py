"""Identity Brokering API v2 (Keycloak 26.6+, feature `identity-brokering-api:v2`).

`POST /realms/{realm}/broker/{alias}/token`: the *client* authenticates (confidential clients
only) and sends the user's access token in form field `token`; authorisation is per client, by the
attributes `external.token.enabled` and `external.token.idp` (aliases joined by `##`), checked
before the token is even looked at. Answers are OAuth-style JSON, as real 26.7.3 gives them
(docs/keycloak-26.7-facts.md §2). With v2 on, v1 is off: the `GET` answers 400 and new realms get
no `broker` client. After the token, 26.7.3 checks the IdP (none, or disabled: 400 "Invalid
identity provider") and the user's link (400 "User not associated to identity provider"). The
sandbox keeps no user-session copy of upstream tokens (`storeTokenInSession`), so it answers as
26.7.3 answers a session that did not come through the IdP: with `storeToken` off, 400 "No token
stored." even when the link still holds a token; with it on, the link's token, or 400 `not_linked`
for a link without one (tests/fidelity/scenarios/broker-v2-modern.yaml).
"""

from __future__ import annotations

import json
import time
from typing import Any

from realmctl.sandbox import tokens
from realmctl.sandbox.errors import HttpError
from realmctl.sandbox.http import Request, Response, Router
from realmctl.sandbox.store import Realm

V1 = "IDENTITY_BROKERING_API_V1"
V2 = "IDENTITY_BROKERING_API_V2"
DISABLED = "Identity Brokering API feature not enabled"
NOT_ALLOWED = "Client not allowed to retrieve token for the provider"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


def v1_off(req: Request) -> bool:
    """Whether the server runs v2, which turns v1 off."""
    return req.app.profile.has(V2)


def v1_refused() -> HttpError:
    """The v1 `GET` on a server with v2 on."""
    return HttpError(400, {"errorMessage": DISABLED})


def drop_broker_client(req: Request, realm: Realm) -> None:
    """With v1 off, Keycloak creates realms without the `broker` client."""
    if not v1_off(req):
        return
    from realmctl.sandbox.admin.clients import delete_client_model

    broker = realm.client_by_client_id("broker")
    if broker is not None:
        delete_client_model(realm, broker)


def _fail(status: int, code: str, description: str) -> HttpError:
    return tokens.oauth_error(status, code, description)


def retrieve(req: Request) -> Response:
    """`POST /realms/{realm}/broker/{alias}/token` (v2)."""
    realm = tokens.find_realm(req)
    alias = req.params["alias"]
    if not v1_off(req):
        raise _fail(400, "invalid_request", DISABLED)
    form = {k: v[0] for k, v in tokens.parse_form(req).items()}
    if not form.get("client_id") and not req.headers.get("Authorization", "").lower().startswith("basic "):
        raise _fail(401, "invalid_client", tokens.INVALID_CLIENT)
    client = tokens.authenticate_client(req, form, realm)
    if client.rep.get("publicClient"):
        raise _fail(403, "invalid_client", "public clients not allowed")
    attributes = client.rep.get("attributes") or {}
    allowed = [a for a in str(attributes.get("external.token.idp") or "").split("##") if a]
    if attributes.get("external.token.enabled") != "true" or alias not in allowed:
        raise _fail(403, "invalid_client", NOT_ALLOWED)
    bearer = tokens.validate_access_token(req.app, form.get("token") or "", realm, base_url=req.base_url)
    if bearer is None:
        raise _fail(400, "invalid_token", "Invalid token")
    aud = bearer.claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if client.client_id not in audiences and bearer.claims.get("azp") != client.client_id:
        raise _fail(403, "unauthorized_client", "Client is not within the token audience")
    idp = realm.idps.get(alias)
    if idp is None or idp.rep.get("enabled") is False:
        raise _fail(400, "invalid_request", "Invalid identity provider")
    link = bearer.user.federated.get(alias)
    if link is None:
        raise _fail(400, "invalid_request", "User not associated to identity provider")
    if not idp.rep.get("storeToken"):  # 26.7.3: the link's copy is not read; no session copy here
        raise _fail(400, "token_expired", "No token stored.")
    if link.token is None:  # 26.7.3: a link the IdP gave no stored token to is "not linked" for v2
        raise _fail(400, "not_linked", "identity provider is not linked")
    stored = json.loads(link.token)
    expiration = stored.get("accessTokenExpiration")
    if isinstance(expiration, int | float) and expiration < time.time() and not stored.get("refresh_token"):
        # 26.7.3 refreshes an expired token with the stored refresh token (the sandbox makes no
        # outbound request, so it returns the stored one); without a refresh token it refuses.
        raise _fail(400, "token_expired", "linked token is expired")
    return Response(200, answer(stored), {"Cache-Control": "no-store", "Pragma": "no-cache"})


def answer(stored: dict[str, Any]) -> dict[str, Any]:
    """The OAuth-style answer built from the stored upstream token response: its access token
    and what is left of its lifetime, never its refresh token."""
    expiration = stored.get("accessTokenExpiration")
    expires_in = int(expiration - time.time()) if isinstance(expiration, int | float) else stored.get("expires_in")
    body: dict[str, Any] = {
        "access_token": stored.get("access_token"),
        "expires_in": expires_in,
        "refresh_expires_in": 0,
        "not-before-policy": 0,
        "issued_token_type": ACCESS_TOKEN_TYPE,
    }
    for key in ("token_type", "session_state", "scope"):
        if key in stored:
            body[key] = stored[key]
    return body


def register(router: Router) -> None:
    router.add("POST", "/realms/{realm}/broker/{alias}/token", retrieve, auth="none")
