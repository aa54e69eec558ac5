"""Model → JSON representations, as Keycloak's `ModelToRepresentation` builds them.

Null fields are omitted (Keycloak's non-null inclusion); computed fields (`realm_client`,
scope-name lists, `authorizationServicesEnabled`) are derived here on every read, never stored.
"""

from __future__ import annotations

import copy
from typing import Any

from realmctl.sandbox import userprofile
from realmctl.sandbox.store import Client, ClientScope, Group, IdentityProvider, Realm, Role, User

SECRET_MASK = "**********"
CLIENT_ACCESS = {"view": True, "configure": True, "manage": True}
CLIENT_FIELD_ORDER = [
    "id",
    "clientId",
    "name",
    "description",
    "type",
    "rootUrl",
    "adminUrl",
    "baseUrl",
    "surrogateAuthRequired",
    "enabled",
    "alwaysDisplayInConsole",
    "clientAuthenticatorType",
    "secret",
    "registrationAccessToken",
    "redirectUris",
    "webOrigins",
    "notBefore",
    "bearerOnly",
    "consentRequired",
    "standardFlowEnabled",
    "implicitFlowEnabled",
    "directAccessGrantsEnabled",
    "serviceAccountsEnabled",
    "authorizationServicesEnabled",
    "publicClient",
    "frontchannelLogout",
    "protocol",
    "attributes",
    "authenticationFlowBindingOverrides",
    "fullScopeAllowed",
    "nodeReRegistrationTimeout",
    "protocolMappers",
    "defaultClientScopes",
    "optionalClientScopes",
    "access",
]


def is_realm_client(realm: Realm, client: Client, realm_names: set[str]) -> bool:
    """`realm_client` is true for `broker`, `realm-management` and master's `<realm>-realm`."""
    cid = client.client_id
    if cid == "broker":
        return True
    if realm.name == "master":
        return cid.endswith("-realm") and cid[: -len("-realm")] in realm_names
    return cid == "realm-management"


def role_rep(realm: Realm, role: Role, *, brief: bool = False) -> dict[str, Any]:
    rep: dict[str, Any] = {"id": role.id, "name": role.name}
    if role.description is not None:
        rep["description"] = role.description
    rep["composite"] = bool(role.composites)
    rep["clientRole"] = role.client_id is not None
    rep["containerId"] = role.container_id
    if not brief:
        rep["attributes"] = copy.deepcopy(role.attributes)
    return rep


def mapper_rep(mapper: dict[str, Any]) -> dict[str, Any]:
    rep = {k: copy.deepcopy(v) for k, v in mapper.items() if v is not None}
    rep["consentRequired"] = False
    return rep


def client_rep(realm: Realm, client: Client, realm_names: set[str], *, access: bool = True) -> dict[str, Any]:
    rep: dict[str, Any] = {"id": client.id}
    rep.update(copy.deepcopy(client.rep))
    if rep.get("publicClient"):  # 26.7.3: a confidential bearer-only client shows its secret
        rep.pop("secret", None)
    attributes = {"realm_client": "true" if is_realm_client(realm, client, realm_names) else "false"}
    attributes.update(rep.get("attributes") or {})
    rep["attributes"] = attributes
    if client.mappers:
        rep["protocolMappers"] = [mapper_rep(m) for m in client.mappers]
    scopes = [(realm.client_scopes[s], d) for s, d in client.scopes.items() if s in realm.client_scopes]
    rep["defaultClientScopes"] = [s.name for s, d in scopes if d]
    rep["optionalClientScopes"] = [s.name for s, d in scopes if not d]
    if client.id in realm.resource_servers:
        rep["authorizationServicesEnabled"] = True
    if access:
        rep["access"] = dict(CLIENT_ACCESS)
        admin_client = client.client_id == "realm-management" or (
            realm.name == "master" and client.client_id.endswith("-realm") and attributes["realm_client"] == "true"
        )
        if admin_client:  # 26.7.3: a realm's admin client is view-only (broker, also a realm client, is not)
            rep["access"].update(configure=False, manage=False)
    rank = {k: i for i, k in enumerate(CLIENT_FIELD_ORDER)}
    ordered = sorted(rep.items(), key=lambda kv: rank.get(kv[0], len(rank)))
    return {k: v for k, v in ordered if v is not None}


def scope_rep(scope: ClientScope) -> dict[str, Any]:
    rep: dict[str, Any] = {"id": scope.id, "name": scope.name}
    if scope.description is not None:
        rep["description"] = scope.description
    if scope.protocol is not None:
        rep["protocol"] = scope.protocol
    rep["attributes"] = dict(scope.attributes)
    if scope.mappers:
        rep["protocolMappers"] = [mapper_rep(m) for m in scope.mappers]
    return rep


def user_rep(realm: Realm, user: User, *, brief: bool = False, stored: bool = False) -> dict[str, Any]:
    """A user as the admin API shows it: `attributes` as the realm's user profile lets an admin
    read them (`stored`: every stored attribute, as an export writes them)."""
    rep: dict[str, Any] = {"id": user.id}
    rep.update(copy.deepcopy(user.rep))
    if not stored and "attributes" in rep:
        shown = userprofile.admin_view(realm, rep["attributes"])
        if shown:
            rep["attributes"] = shown
        else:
            del rep["attributes"]
    # kept in the store to find a client's service account; 26.7.3 never writes it on the admin API
    rep.pop("serviceAccountClientId", None)
    if brief:  # ModelToRepresentation.toBriefRepresentation
        keep = (
            "id",
            "username",
            "firstName",
            "lastName",
            "email",
            "emailVerified",
            "createdTimestamp",
            "enabled",
        )
        return {k: rep[k] for k in keep if k in rep}
    return rep


def group_rep(realm: Realm, group: Group, path: str, *, sub_count: bool = True) -> dict[str, Any]:
    rep: dict[str, Any] = {"id": group.id, "name": group.name, "path": path}
    if group.parent_id:
        rep["parentId"] = group.parent_id
    if sub_count:
        rep["subGroupCount"] = sum(1 for g in realm.groups.values() if g.parent_id == group.id)
    rep["subGroups"] = []
    rep["attributes"] = copy.deepcopy(group.attributes)
    rep["realmRoles"] = sorted(realm.roles[r].name for r in group.role_ids if realm.roles[r].client_id is None)
    client_roles: dict[str, list[str]] = {}
    for rid in group.role_ids:
        role = realm.roles[rid]
        if role.client_id:
            client_roles.setdefault(realm.clients[role.client_id].client_id, []).append(role.name)
    rep["clientRoles"] = client_roles
    rep["access"] = {
        "view": True,
        "viewMembers": True,
        "manageMembers": True,
        "manage": True,
        "manageMembership": True,
    }
    return rep


def idp_rep(idp: IdentityProvider, *, mask: bool = True) -> dict[str, Any]:
    """IdP with `config.clientSecret` masked unless it is a vault reference (StripSecretsUtils)."""
    rep = copy.deepcopy(idp.rep)
    secret = rep.get("config", {}).get("clientSecret")
    if mask and secret is not None and not (secret.startswith("${vault.") and secret.endswith("}")):
        rep["config"]["clientSecret"] = SECRET_MASK
    if "types" not in rep:  # computed from the provider (26.7.3), not stored
        from realmctl.sandbox.admin.idps import TYPES

        rep["types"] = list(TYPES.get(str(rep.get("providerId")), []))
    return rep
