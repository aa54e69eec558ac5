"""Mutations shared by the admin endpoints, realm creation and import.

Keycloak applies the same defaults whether a client arrives through `POST /clients`, a realm
import or the built-in set-up; keeping those rules in one place keeps the three paths agreeing.
"""

from __future__ import annotations

import copy
import secrets
import string
import time
from typing import Any
from urllib.parse import urlsplit

from realmctl.sandbox import credentials
from realmctl.sandbox.errors import HttpError, error
from realmctl.sandbox.store import (
    Client,
    ClientScope,
    FederatedIdentity,
    Group,
    Realm,
    Role,
    User,
    as_text,
    new_id,
)

#: Field defaults of a stored client (RepresentationToModel.createClient and the model's defaults).
CLIENT_DEFAULTS: dict[str, Any] = {
    "surrogateAuthRequired": False,
    "enabled": True,
    "alwaysDisplayInConsole": False,
    "clientAuthenticatorType": "client-secret",
    "redirectUris": [],
    "webOrigins": [],
    "notBefore": 0,
    "bearerOnly": False,
    "consentRequired": False,
    "standardFlowEnabled": True,
    "implicitFlowEnabled": False,
    "directAccessGrantsEnabled": False,
    "serviceAccountsEnabled": False,
    "publicClient": False,
    "frontchannelLogout": False,
    "protocol": "openid-connect",
    "attributes": {},
    "authenticationFlowBindingOverrides": {},
    "nodeReRegistrationTimeout": -1,
}

#: Fields that live elsewhere in the model and are never stored in `Client.rep`.
CLIENT_COMPUTED = {
    "id",
    "protocolMappers",
    "defaultClientScopes",
    "optionalClientScopes",
    "access",
    "authorizationServicesEnabled",
    "authorizationSettings",
    "defaultRoles",
    "registeredNodes",
}


def generate_secret() -> str:
    """An 86-character alphanumeric client secret: 512 bits, as 26.7.3's `SecretGenerator` makes
    (measured; Keycloak before 24 made 32 characters)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(86))


def clean_mapper(rep: dict[str, Any], *, keep_id: bool = False) -> dict[str, Any]:
    """A protocol mapper as stored: empty config strings dropped (`removeEmptyString`)."""
    config = {k: as_text(v) for k, v in (rep.get("config") or {}).items() if v is not None and v != ""}
    mapper = {
        "id": rep.get("id") if keep_id and rep.get("id") else new_id(),
        "name": rep.get("name"),
        "protocol": rep.get("protocol"),
        "protocolMapper": rep.get("protocolMapper"),
        "consentRequired": False,
        "config": config,
    }
    return mapper


def add_role(
    realm: Realm,
    name: str,
    *,
    client_id: str | None = None,
    description: str | None = None,
    role_id: str | None = None,
    attributes: dict[str, list[str]] | None = None,
) -> Role:
    """Create a role in the realm or in a client; the caller checks for duplicates."""
    role = Role(
        id=role_id or new_id(),
        name=name,
        realm_id=realm.id,
        client_id=client_id,
        description=description,
        attributes=dict(attributes or {}),
    )
    realm.roles[role.id] = role
    return role


def attach_default_scopes(realm: Realm, client: Client) -> None:
    """Link the realm's default and optional scopes whose protocol matches the client's."""
    protocol = client.rep.get("protocol") or "openid-connect"
    for scope_id, is_default in realm.default_scopes.items():
        scope = realm.client_scopes.get(scope_id)
        if scope is not None and (scope.protocol or "openid-connect") == protocol:
            client.scopes.setdefault(scope_id, is_default)


def link_scope(realm: Realm, client: Client, scope: ClientScope, default: bool) -> None:
    """Attach a scope to a client unless already attached or of another protocol (silent no-op)."""
    protocol = client.rep.get("protocol") or "openid-connect"
    if scope.id in client.scopes or (scope.protocol or "openid-connect") != protocol:
        return
    client.scopes[scope.id] = default


def oidc_client_defaults(rep: dict[str, Any], stored: dict[str, Any]) -> None:
    """`OIDCLoginProtocolFactory.setupClientDefaults`: what a sparse `POST /clients` body becomes.

    Keycloak 26.7.3 applies these only when the body names its `protocol` (measured: `{"clientId":
    "x"}` alone stays confidential with a generated secret and direct grants off). With it:
    `publicClient` not given ⇒ a **public** client (even with `bearerOnly`); direct access grants
    and the standard flow default to on; a root URL seeds redirect URIs, web origins and admin URL;
    without a backchannel logout URL the two backchannel attributes are set.
    """
    root = rep.get("rootUrl")
    if root is not None and not rep.get("redirectUris"):
        pattern = root + "*" if root.endswith("/") else root + "/*"
        parts = urlsplit(pattern)
        stored["redirectUris"] = [pattern]
        stored["webOrigins"] = [f"{parts.scheme}://{parts.netloc}"] if parts.scheme else []
    if rep.get("publicClient") is None:
        stored["publicClient"] = True
    if rep.get("adminUrl") is None and root is not None:
        stored["adminUrl"] = root
    if rep.get("standardFlowEnabled") is None:
        stored["standardFlowEnabled"] = True
    if rep.get("directAccessGrantsEnabled") is None:
        stored["directAccessGrantsEnabled"] = True
    if not (rep.get("attributes") or {}).get("backchannel.logout.url"):
        stored["attributes"]["backchannel.logout.session.required"] = "true"
        stored["attributes"]["backchannel.logout.revoke.offline.tokens"] = "false"


def create_client(
    realm: Realm,
    rep: dict[str, Any],
    *,
    keep_ids: bool = False,
    service_account: bool = True,
    protocol_defaults: bool = True,
) -> Client:
    """Create a client as `POST /clients` does: defaults, secret, scopes, mappers, service account.

    `protocol_defaults=False` stores the representation as given (built-in clients, realm imports
    of exported clients), without the OIDC defaults a sparse admin-API body receives.
    """
    client_id = rep.get("clientId")
    if not client_id:
        raise HttpError(400, {"errorMessage": "clientId is required"})  # UNCONFIRMED text
    if realm.client_by_client_id(client_id) is not None:
        raise HttpError(409, {"errorMessage": f"Client {client_id} already exists"})
    stored = copy.deepcopy(CLIENT_DEFAULTS)
    stored.update({k: copy.deepcopy(v) for k, v in rep.items() if k not in CLIENT_COMPUTED and v is not None})
    stored["attributes"] = {k: as_text(v) for k, v in (stored.get("attributes") or {}).items()}
    stored["attributes"].pop("realm_client", None)
    if "fullScopeAllowed" not in stored:
        stored["fullScopeAllowed"] = not stored.get("consentRequired", False)
    if protocol_defaults and not stored.get("publicClient") and not stored.get("secret"):
        # generated before the protocol defaults make the client public: Keycloak keeps the creation time
        stored["secret"] = generate_secret()
        stored["attributes"].setdefault("client.secret.creation.time", str(int(time.time())))
    if protocol_defaults and rep.get("protocol") == "openid-connect":
        oidc_client_defaults(rep, stored)
    if stored.get("publicClient"):  # 26.7.3: a confidential bearer-only client keeps its secret
        stored.pop("secret", None)
    elif not stored.get("secret") and not stored.get("bearerOnly"):
        # built-in bearer-only clients (broker, realm-management) have none; an admin-API one got
        # its secret above
        stored["secret"] = generate_secret()
        stored["attributes"].setdefault("client.secret.creation.time", str(int(time.time())))
    uuid_ = str(rep["id"]) if rep.get("id") else new_id()
    client = Client(id=uuid_, rep=stored)
    client.mappers = [clean_mapper(m, keep_id=keep_ids) for m in rep.get("protocolMappers") or []]
    realm.clients[client.id] = client
    if rep.get("defaultClientScopes") is None and rep.get("optionalClientScopes") is None:
        attach_default_scopes(realm, client)
    else:
        for names, default in (
            (rep.get("defaultClientScopes"), True),
            (rep.get("optionalClientScopes"), False),
        ):
            for name in names or []:
                scope = realm.scope_by_name(name)
                if scope is not None:
                    link_scope(realm, client, scope, default)
    if service_account and stored.get("serviceAccountsEnabled"):
        enable_service_account(realm, client)
    return client


def enable_service_account(realm: Realm, client: Client) -> User:
    """Create `service-account-<clientId>` with the default role and attach `service_account`."""
    existing = realm.service_account_user(client.id)
    if existing is not None:
        return existing
    user = create_user(
        realm,
        {
            "username": f"service-account-{client.client_id}".lower(),
            "enabled": True,
            "serviceAccountClientId": client.client_id,
        },
    )
    scope = realm.scope_by_name("service_account")
    if scope is not None:
        client.scopes.setdefault(scope.id, True)
    return user


def create_user(realm: Realm, rep: dict[str, Any], *, keep_ids: bool = False) -> User:
    """Create a user with Keycloak's defaults and the realm's default role."""
    username = str(rep.get("username") or "").lower()
    if not username:
        raise HttpError(
            400,
            {"field": "username", "errorMessage": "error-user-attribute-required", "params": ["username"]},
        )
    if realm.user_by_username(username) is not None:
        raise HttpError(409, {"errorMessage": "User exists with same username"})
    email = rep.get("email")
    same_email = email and realm.user_by_email(str(email)) is not None
    if same_email and not realm.settings.get("duplicateEmailsAllowed"):
        raise HttpError(409, {"errorMessage": "User exists with same email"})
    stored: dict[str, Any] = {
        "username": username,
        "emailVerified": bool(rep.get("emailVerified", False)),
        "createdTimestamp": int(rep.get("createdTimestamp") or time.time() * 1000),
        "enabled": bool(rep.get("enabled", False)),
        "totp": False,
        "disableableCredentialTypes": [],
        "requiredActions": list(rep.get("requiredActions") or []),
        "notBefore": 0,
    }
    for key in ("firstName", "lastName", "email", "attributes", "serviceAccountClientId"):
        if rep.get(key) is not None:
            stored[key] = copy.deepcopy(rep[key])
    if "email" in stored:
        stored["email"] = str(stored["email"]).lower()
    user = User(id=rep["id"] if keep_ids and rep.get("id") else new_id(), rep=stored)
    if realm.default_role_id:
        user.role_ids.add(realm.default_role_id)
    for cred in rep.get("credentials") or []:
        if cred.get("type", "password") != "password":
            continue
        if cred.get("value") is not None:
            user.password = str(cred["value"])
            if cred.get("temporary") and "UPDATE_PASSWORD" not in stored["requiredActions"]:
                stored["requiredActions"].append("UPDATE_PASSWORD")  # what a temporary password means
        else:  # an export's hashed credential
            user.password_hash = credentials.hashed(cred)
    realm.users[user.id] = user
    realm.index_user(user)
    return user


def create_group(realm: Realm, name: str, parent_id: str | None = None, group_id: str | None = None) -> Group:
    """Create a (sub)group; sibling names must be unique."""
    siblings = [g for g in realm.groups.values() if g.parent_id == parent_id]
    if any(g.name == name for g in siblings):
        if parent_id is None:
            raise HttpError(409, {"errorMessage": f"Top level group named '{name}' already exists."})
        raise HttpError(409, {"errorMessage": f"Sibling group named '{name}' already exists."})
    group = Group(id=group_id or new_id(), name=name, parent_id=parent_id)
    realm.groups[group.id] = group
    return group


def group_path(realm: Realm, group: Group) -> str:
    """`/parent/child`, the path Keycloak reports and accepts for groups."""
    return "/" + "/".join(g.name for g in reversed(realm.group_chain(group.id)))


def resolve_roles(realm: Realm, body: Any, *, client_uuid: str | None = None) -> list[Role]:
    """Roles named in a role-mapping body; each entry needs a matching `id` and `name`.

    Keycloak looks each role up by id and then compares the name; a mismatch or unknown role is
    404 "Role not found" (RoleMapperResource / ClientRoleMappingsResource).
    """
    if not isinstance(body, list):
        raise HttpError(400, {"error": "unknown_error"})
    roles: list[Role] = []
    for entry in body:
        role = realm.roles.get(str((entry or {}).get("id")))
        if role is None or role.name != entry.get("name") or role.client_id != client_uuid:
            raise error(404, "Role not found")
        roles.append(role)
    return roles


def find_group_by_path(realm: Realm, path: str) -> Group | None:
    return next((g for g in realm.groups.values() if group_path(realm, g) == path), None)


def delete_group(realm: Realm, group: Group) -> None:
    """Remove a group with its subgroups and every membership in them."""
    doomed = {g.id for g in realm.groups.values() if group in realm.group_chain(g.id)}
    for gid in doomed:
        del realm.groups[gid]
    for user in realm.users.values():
        user.group_ids -= doomed


def delete_idp(realm: Realm, alias: str) -> None:
    """Remove an identity provider, its mappers and the users' links to it."""
    realm.idps.pop(alias, None)
    for user in realm.users.values():
        user.federated.pop(alias, None)


def role_ids_by_names(realm: Realm, realm_roles: list[str], client_roles: dict[str, list[str]]) -> set[str]:
    """Ids of the roles a representation names (`realmRoles`, `clientRoles`); unknown names skipped."""
    ids = {r.id for n in realm_roles if (r := realm.realm_role(n)) is not None}
    for client_id, names in client_roles.items():
        client = realm.client_by_client_id(client_id)
        if client is not None:
            ids |= {r.id for n in names if (r := realm.client_role(client.id, n)) is not None}
    return ids


def import_group(realm: Realm, rep: dict[str, Any], parent: str | None, *, keep_ids: bool = False) -> Group:
    """A group from its export form, with role grants and subgroups."""
    group = create_group(realm, str(rep["name"]), parent, rep.get("id") if keep_ids else None)
    group.attributes = dict(rep.get("attributes") or {})
    group.role_ids |= role_ids_by_names(realm, rep.get("realmRoles") or [], rep.get("clientRoles") or {})
    for sub in rep.get("subGroups") or []:
        import_group(realm, sub, group.id, keep_ids=keep_ids)
    return group


def import_user(realm: Realm, rep: dict[str, Any], *, keep_ids: bool = False) -> User:
    """A user from its export form: role grants (replacing the default role if any are listed),
    group paths and federated identities."""
    user = create_user(realm, rep if keep_ids else {k: v for k, v in rep.items() if k != "id"}, keep_ids=keep_ids)
    if rep.get("realmRoles") is not None or rep.get("clientRoles") is not None:
        user.role_ids = role_ids_by_names(realm, rep.get("realmRoles") or [], rep.get("clientRoles") or {})
    for path in rep.get("groups") or []:
        group = find_group_by_path(realm, path)
        if group is not None:
            user.group_ids.add(group.id)
    for link in rep.get("federatedIdentities") or []:
        alias = str(link.get("identityProvider"))
        user.federated[alias] = FederatedIdentity(alias, str(link.get("userId") or ""), str(link.get("userName") or ""))
    return user
