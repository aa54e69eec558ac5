"""FGAP v1 decisions that legacy token exchange asks for (SEMANTICS §6.4–§6.6, §7).

Keycloak evaluates named permissions on the realm's admin client (`realm-management`, in master
`master-realm`) through its policy engine. The sandbox evaluates the same objects directly: the
permission must exist and have at least one associated policy; its decision strategy combines
the associated policies; each policy's `NEGATIVE` logic inverts its own result. Client, user,
role and aggregate policies are understood; any other policy type denies. With FGAP v2 active the
v1 objects are ignored, as Keycloak ignores them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from realmctl.sandbox.errors import HttpError
from realmctl.sandbox.profiles import Profile
from realmctl.sandbox.store import Client, IdentityProvider, Policy, Realm, ResourceServer, User

TOKEN_EXCHANGE_SCOPE = "token-exchange"
USERS_RESOURCE = "Users"
IMPERSONATE_SCOPE = "impersonate"
ADMIN_IMPERSONATING = "admin-impersonating.permission.users"
USER_IMPERSONATED = "user-impersonated.permission.users"
IMPERSONATED_SCOPE = "user-impersonated"


@dataclass
class Identity:
    """Who is evaluated: a client (requester of an exchange) and/or a user.

    A client identity's user is its service account (Keycloak's `ClientModelIdentity`); a user
    identity carries the client its token was issued to (`kc.client.id`).
    """

    client: Client | None
    user: User | None


def admin_client(realm: Realm) -> Client | None:
    """`realm-management`, or `master-realm` in master: the holder of the v1 resource server."""
    name = "master-realm" if realm.name == "master" else "realm-management"
    return realm.client_by_client_id(name)


def realm_resource_server(realm: Realm) -> ResourceServer | None:
    client = admin_client(realm)
    return realm.resource_servers.get(client.id) if client is not None else None


def _listed(rep: dict[str, Any], key: str) -> list[Any]:
    """A policy list field from the typed representation or the generic `config` (JSON string)."""
    value = rep.get(key)
    if value is None:
        value = (rep.get("config") or {}).get(key)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = [value]
    return list(value) if isinstance(value, list) else []


def _client_matches(realm: Realm, entry: Any, client: Client) -> bool:
    return str(entry) in (client.id, client.client_id)


def _role_ids(realm: Realm, entry: Any) -> set[str]:
    """A role policy entry (`{"id": …}`): by id, or `name` / `clientId/name` as in exports."""
    ref = str(entry.get("id") if isinstance(entry, dict) else entry)
    if ref in realm.roles:
        return {ref}
    if "/" in ref:
        client_id, _, name = ref.partition("/")
        client = realm.client_by_client_id(client_id)
        role = realm.client_role(client.id, name) if client is not None else None
    else:
        role = realm.realm_role(ref)
    return {role.id} if role is not None else set()


def _identity_user(realm: Realm, identity: Identity) -> User | None:
    if identity.user is not None:
        return identity.user
    if identity.client is not None:
        return realm.service_account_user(identity.client.id)
    return None


def evaluate_policy(
    realm: Realm,
    server: ResourceServer,
    policy: Policy,
    identity: Identity,
    seen: frozenset[str] = frozenset(),
) -> bool:
    """One policy's decision for `identity`, with its logic applied."""
    rep = policy.rep
    kind = rep.get("type")
    granted = False
    if policy.id in seen:
        granted = False
    elif kind == "client":
        granted = identity.client is not None and any(
            _client_matches(realm, c, identity.client) for c in _listed(rep, "clients")
        )
    elif kind == "user":
        user = _identity_user(realm, identity)
        listed = {str(u) for u in _listed(rep, "users")}  # ids; exports name users instead
        granted = user is not None and bool({user.id, user.username} & listed)
    elif kind == "role":
        user = _identity_user(realm, identity)
        if user is not None:
            held = realm.user_effective_role_ids(user)
            entries = _listed(rep, "roles")
            required = [e for e in entries if isinstance(e, dict) and e.get("required")]
            if required:
                granted = all(_role_ids(realm, e) & held for e in required)
            else:
                granted = any(_role_ids(realm, e) & held for e in entries)
    elif kind == "aggregate":
        granted = decide(realm, server, policy, identity, seen | {policy.id})
    if rep.get("logic") == "NEGATIVE":
        granted = not granted
    return granted


def associated(server: ResourceServer, permission: Policy) -> list[Policy]:
    return [server.policies[p] for p in permission.policy_ids if p in server.policies]


def decide(
    realm: Realm,
    server: ResourceServer,
    permission: Policy,
    identity: Identity,
    seen: frozenset[str] = frozenset(),
) -> bool:
    """Combine the associated policies by the permission's decision strategy."""
    results = [evaluate_policy(realm, server, p, identity, seen) for p in associated(server, permission)]
    if not results:
        return False
    strategy = permission.rep.get("decisionStrategy") or "UNANIMOUS"
    if strategy == "AFFIRMATIVE":
        return any(results)
    if strategy == "CONSENSUS":
        return results.count(True) > results.count(False)
    return all(results)


def _permission(server: ResourceServer, resource_name: str, permission_name: str, scope_name: str) -> Policy | None:
    """The named permission when its resource and scope exist and it has ≥1 associated policy."""
    if server.resource_by_name(resource_name) is None:
        return None
    permission = server.policy_by_name(permission_name)
    if permission is None or not associated(server, permission):
        return None
    if server.scope_by_name(scope_name) is None:
        return None
    return permission


def can_exchange_to_idp(profile: Profile, realm: Realm, requester: Client, idp: IdentityProvider) -> bool:
    """`idps().canExchangeTo(client, idp)`: permission `token-exchange.permission.idp.<internalId>`."""
    if not profile.fgap_v1:
        return False  # v2: the admin-permissions client holds no idp.resource.* ⇒ always denied
    server = realm_resource_server(realm)
    if server is None:
        return False
    permission = _permission(
        server,
        f"idp.resource.{idp.internal_id}",
        f"token-exchange.permission.idp.{idp.internal_id}",
        TOKEN_EXCHANGE_SCOPE,
    )
    return permission is not None and decide(realm, server, permission, Identity(requester, None))


def can_exchange_to_client(profile: Profile, realm: Realm, requester: Client, target: Client) -> bool:
    """`clients().canExchangeTo(client, target)`: permission `token-exchange.permission.client.<uuid>`.

    Under FGAP v2 Keycloak's `ClientPermissionsV2.canExchangeTo` throws
    UnsupportedOperationException, which reaches the caller as a 500.
    """
    if not profile.fgap_v1:
        raise HttpError(
            500,
            {"error": "unknown_error", "error_description": "For more on this error consult the server log."},
        )
    server = realm_resource_server(realm)
    if server is None:
        return False
    permission = _permission(
        server,
        f"client.resource.{target.id}",
        f"token-exchange.permission.client.{target.id}",
        TOKEN_EXCHANGE_SCOPE,
    )
    return permission is not None and decide(realm, server, permission, Identity(requester, None))


def is_impersonatable(realm: Realm, target: User) -> bool:
    """`isImpersonatable`: when `user-impersonated.permission.users` has policies it must grant
    for the target user; otherwise every user may be impersonated."""
    server = realm_resource_server(realm)
    if server is None:
        return True
    permission = server.policy_by_name(USER_IMPERSONATED)
    if permission is None or not associated(server, permission):
        return True
    return decide(realm, server, permission, Identity(None, target))


def _impersonate_permission(realm: Realm, identity: Identity) -> bool:
    server = realm_resource_server(realm)
    if server is None:
        return False
    permission = _permission(server, USERS_RESOURCE, ADMIN_IMPERSONATING, IMPERSONATE_SCOPE)
    return permission is not None and decide(realm, server, permission, identity)


def holds_impersonation_role(realm: Realm, user: User) -> bool:
    """The `impersonation` role of the realm's admin client (or master's `admin` role)."""
    held = realm.user_effective_role_ids(user)
    client = admin_client(realm)
    for rid in held:
        role = realm.roles[rid]
        if client is not None and role.client_id == client.id and role.name == "impersonation":
            return True
        if realm.name == "master" and role.client_id is None and role.name == "admin":
            return True
    return False


def can_impersonate(
    profile: Profile, realm: Realm, token_user: User, token_client: Client | None, target: User
) -> bool:
    """`users().canImpersonate(target, client)` for the user of the subject token."""
    if holds_impersonation_role(realm, token_user):
        return is_impersonatable(realm, target) if profile.fgap_v1 else True
    if not profile.fgap_v1:
        return False
    if not _impersonate_permission(realm, Identity(token_client, token_user)):
        return False
    return is_impersonatable(realm, target)


def can_client_impersonate(profile: Profile, realm: Realm, client: Client, target: User) -> bool:
    """`users().canClientImpersonate(client, target)`: the permission alone, no role shortcut."""
    if not profile.fgap_v1:
        return False
    return _impersonate_permission(realm, Identity(client, None)) and is_impersonatable(realm, target)
