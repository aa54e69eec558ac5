"""Identity brokering: the stored-token endpoint (SEMANTICS §4) and a simulated broker login (§3.5).

The sandbox has no login pages, so `POST /sandbox/realms/{realm}/broker/{alias}/login` stands in
for what Keycloak does when a user comes back from an external IdP: first broker login (create or
link the user, grant `broker/read-token` when the IdP says so, store the token) or a later login
(refresh the stored token). The retrieval endpoint then decides exactly as Keycloak does, from the
caller's token claims only.
"""

from __future__ import annotations

import json
import time
from typing import Any

from realmctl.sandbox import broker_v2, ops, tokens
from realmctl.sandbox.errors import HttpError, error, error_message
from realmctl.sandbox.http import Request, Response, Router
from realmctl.sandbox.store import FederatedIdentity, IdentityProvider, Realm, User

BROKER_CLIENT = "broker"
READ_TOKEN = "read-token"


def can_read_broker_token(claims: dict[str, Any]) -> bool:
    """`canReadBrokerToken`: the token's `resource_access.broker.roles` holds `read-token`."""
    access = claims.get("resource_access")
    if not isinstance(access, dict):
        return False
    broker = access.get(BROKER_CLIENT)
    roles = broker.get("roles") if isinstance(broker, dict) else None
    return isinstance(roles, list) and READ_TOKEN in roles


def bad_gateway_page() -> Response:
    """Keycloak renders an HTML error page (502) when the IdP alias is unknown."""
    page = (
        "<!DOCTYPE html><html><head><title>Error</title></head><body>"
        "<p>Could not obtain token from external identity provider.</p></body></html>"
    )
    return Response(502, page.encode(), {"Content-Type": "text/html;charset=utf-8"})


def retrieve_token(req: Request) -> Response:
    """`GET /realms/{realm}/broker/{alias}/token`, checks in Keycloak's order with its codes."""
    realm = tokens.find_realm(req)
    alias = req.params["alias"]
    if broker_v2.v1_off(req):
        raise broker_v2.v1_refused()
    header = req.headers.get("Authorization")
    if header is None:
        raise error_message(400, "Invalid token.")
    token = tokens.bearer_token(req)
    if token is None:
        raise error(401, "HTTP 401 Unauthorized")
    bearer = tokens.validate_access_token(req.app, token, realm, base_url=req.base_url)
    if bearer is None or bearer.client is None or not bearer.client.rep.get("enabled", True):
        raise error_message(400, "Invalid token.")
    if realm.client_by_client_id(BROKER_CLIENT) is None:
        raise error_message(403, "Realm has not migrated to support the broker token exchange service")
    if not can_read_broker_token(bearer.claims):
        raise error_message(
            403,
            f"Client [{bearer.client.client_id}] not authorized to retrieve tokens from identity provider [{alias}].",
        )
    idp = realm.idps.get(alias)
    if idp is None:
        return bad_gateway_page()
    if not idp.rep.get("storeToken"):
        raise error_message(400, f"Identity Provider [{alias}] does not support this operation.")
    link = bearer.user.federated.get(alias)
    if link is None:
        raise error_message(400, f"User [{bearer.user.id}] is not associated with identity provider [{alias}].")
    if link.token is None:
        raise error_message(
            404, f"No token stored for user [{bearer.user.id}] with associated identity provider [{alias}]."
        )
    return Response(200, link.token.encode(), {"Content-Type": "application/json"})


# --- simulated broker login -----------------------------------------------------------------------
def find_linked_user(realm: Realm, alias: str, subject: str) -> User | None:
    """The user whose federated identity for `alias` has the external user id `subject`."""
    for user in realm.users.values():
        link = user.federated.get(alias)
        if link is not None and link.user_id == subject:
            return user
    return None


def stored_token(idp: IdentityProvider, token: Any) -> str | None:
    """What Keycloak stores: nothing unless `storeToken`; else the upstream response, with
    `accessTokenExpiration` added when it has a positive `expires_in` (OIDCIdentityProvider)."""
    if not idp.rep.get("storeToken") or token is None:
        return None
    if isinstance(token, dict):
        body = dict(token)
        expires_in = body.get("expires_in")
        if isinstance(expires_in, int) and expires_in > 0:
            body["accessTokenExpiration"] = int(time.time()) + expires_in
        return json.dumps(body)
    return str(token)


def grant_read_token(realm: Realm, user: User) -> None:
    """`afterFirstBrokerLogin`: a direct mapping to `broker/read-token`."""
    broker = realm.client_by_client_id(BROKER_CLIENT)
    role = realm.client_role(broker.id, READ_TOKEN) if broker is not None else None
    if broker is None or role is None:
        raise HttpError(
            502,
            {
                "errorMessage": "Client 'broker' not available. Maybe realm has not migrated to support "
                "the broker token exchange service"
            },
        )
    user.role_ids.add(role.id)


def broker_login(req: Request) -> Response:
    """`POST /sandbox/realms/{realm}/broker/{alias}/login`: first or subsequent broker login."""
    realm = tokens.find_realm(req)
    alias = req.params["alias"]
    idp = realm.idps.get(alias)
    if idp is None:
        raise error(404, "Identity Provider not found")
    if not idp.rep.get("enabled", True):
        raise error_message(400, f"Identity Provider [{alias}] is disabled.")
    body = req.json_object()
    subject = str(body.get("subject") or "")
    if not subject:
        raise error_message(400, "subject is required")
    username = str(body.get("username") or body.get("email") or subject).lower()
    token = stored_token(idp, body.get("token"))
    user = find_linked_user(realm, alias, subject)
    if user is not None:
        if not user.rep.get("enabled"):
            raise error_message(400, "Account is disabled, contact your administrator.")
        if idp.rep.get("storeToken"):  # updateToken: only when tokens are stored
            user.federated[alias].token = token
        return Response(200, {"userId": user.id, "created": False})
    created = False
    user = realm.user_by_username(username)
    if user is None:
        rep: dict[str, Any] = {"username": username, "enabled": True}
        for key in ("email", "firstName", "lastName"):
            if body.get(key):
                rep[key] = body[key]
        # A real first broker login cannot finish without the attributes the realm's user profile
        # requires: its review-profile page asks the user for them. The simulation stands for the
        # whole login, so it fills what the body leaves out, as that user would have.
        rep.setdefault("email", f"{username}@users.sandbox.invalid")
        rep.setdefault("firstName", username)
        rep.setdefault("lastName", "(from " + alias + ")")
        if body.get("email") and idp.rep.get("trustEmail"):
            rep["emailVerified"] = True
        user = ops.create_user(realm, rep)
        created = True
    if idp.rep.get("addReadTokenRoleOnCreate"):
        grant_read_token(realm, user)
    user.federated[alias] = FederatedIdentity(alias, subject, username, token)
    return Response(200, {"userId": user.id, "created": created})


def register(router: Router) -> None:
    router.add("GET", "/realms/{realm}/broker/{alias}/token", retrieve_token, auth="none")
    router.add("POST", "/sandbox/realms/{realm}/broker/{alias}/login", broker_login, auth="sandbox")
