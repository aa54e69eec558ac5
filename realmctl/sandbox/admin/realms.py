"""Realm endpoints: list, create, get, update, delete, serverinfo and partial export."""

from __future__ import annotations

import copy
from typing import Any

from realmctl.sandbox import broker_v2, defaults, fields, reps
from realmctl.sandbox.errors import FORBIDDEN, HttpError, error
from realmctl.sandbox.http import NO_CONTENT, SERVER_ERROR, Request, Response, Router, created, seg
from realmctl.sandbox.profiles import VERSION
from realmctl.sandbox.store import Realm, as_text


def realm_rep(realm: Realm) -> dict[str, Any]:
    """The realm's settings with `id`, `realm` and the brief default role."""
    rep: dict[str, Any] = {"id": realm.id, "realm": realm.name}
    rep.update(copy.deepcopy(realm.settings))
    if realm.default_role_id and realm.default_role_id in realm.roles:
        role = reps.role_rep(realm, realm.roles[realm.default_role_id], brief=True)
        rep["defaultRole"] = role
    # client policies and profiles: kept as imported, not evaluated
    rep["clientProfiles"] = copy.deepcopy(realm.kept.get("clientProfiles") or {"profiles": []})
    rep["clientPolicies"] = copy.deepcopy(realm.kept.get("clientPolicies") or {"policies": []})
    if not rep.get("supportedLocales"):  # 26.7.3 leaves an empty set out
        rep.pop("supportedLocales", None)
    return rep


def list_realms(req: Request) -> Response:
    """Realms the caller administers (Keycloak filters the list the same way)."""
    visible = [r for r in req.app.store.realms.values() if req.may(r)]
    if req.bool_arg("briefRepresentation", False):
        return Response(200, [{"id": r.id, "realm": r.name} for r in visible])
    return Response(200, [realm_rep(r) for r in visible])


def create_realm(req: Request) -> Response:
    req.require_master_role("create-realm")
    body = req.json_object()
    fields.refuse_unknown_on_create(req.body, fields.REALM_FIELDS)
    defaults.refuse_reserved_chars(body.get("realm"))
    if isinstance(body.get("realm"), str) and defaults.URI_TEMPLATE.search(body["realm"]):
        raise HttpError(500, SERVER_ERROR)
    realm = defaults.import_realm(req.app.store, body, organization=req.app.profile.has("ORGANIZATION"))
    broker_v2.drop_broker_client(req, realm)
    _grant_creator(req, realm)
    return created(f"{req.base_url}/admin/realms/{seg(realm.name)}")


def _grant_creator(req: Request, realm: Realm) -> None:
    """A creator holding only `create-realm` gets the new `<realm>-realm` roles (RealmsAdminResource)."""
    principal = req.principal
    master = req.app.store.realm(defaults.MASTER)
    if principal is None or master is None or principal.realm is not master:
        return
    admin = master.realm_role("admin")
    if admin is not None and admin.id in master.user_effective_role_ids(principal.user):
        return
    client = master.client_by_client_id(f"{realm.name}-realm")
    if client is not None:
        principal.user.role_ids |= {r.id for r in master.client_roles(client.id)}


def get_realm(req: Request) -> Response:
    """Full settings with view-realm; other admins of the realm get the name-list subset."""
    realm = req.realm()
    rep = realm_rep(realm)
    if req.may(realm, "view-realm"):
        return Response(200, rep)
    keys = ("id", "realm", "displayName", "displayNameHtml", "enabled", "internationalizationEnabled")
    return Response(200, {k: rep[k] for k in keys if k in rep})


#: Realm attributes Keycloak 26.7.3 always shows, read through its CIBA, OAuth 2.0 device and PAR
#: configurations, which answer their defaults when the attribute is unset: a PUT whose
#: `attributes` leaves them out resets them to these values (checked on the real server), where
#: any other attribute left out (`realmReusableOtpCode`, a custom one) is gone.
DERIVED_ATTRIBUTES = {
    key: defaults.REALM_SETTINGS["attributes"][key]
    for key in (
        "cibaAuthRequestedUserHint",
        "cibaBackchannelTokenDeliveryMode",
        "cibaExpiresIn",
        "cibaInterval",
        "oauth2DeviceCodeLifespan",
        "oauth2DevicePollingInterval",
        "parRequestUriLifespan",
    )
}


def update_realm(req: Request) -> Response:
    realm = req.realm("manage-realm")
    body = req.json_object()
    fields.refuse_unknown(req.body, fields.REALM_FIELDS, "RealmRepresentation")
    new_name = body.get("realm")
    store = req.app.store
    if new_name and new_name != realm.name:
        if store.realm(new_name) is not None:
            raise HttpError(409, {"errorMessage": "Realm with same name exists"})
        master = store.realm(defaults.MASTER)
        old_client = master.client_by_client_id(f"{realm.name}-realm") if master else None
        store.realms = {(new_name if k == realm.name else k): v for k, v in store.realms.items()}
        if old_client is not None:
            old_client.rep["clientId"] = f"{new_name}-realm"
            old_client.rep["name"] = f"{new_name} Realm"
        realm.name = new_name
    for key, value in body.items():
        if key in defaults.STRUCTURAL or value is None:
            continue
        if key == "attributes" and isinstance(value, dict):
            # Replaced, not merged: Keycloak 26.7.3 drops the attributes a PUT leaves out, and
            # shows the CIBA, device-flow and PAR settings left out at their defaults again.
            realm.settings["attributes"] = {**DERIVED_ATTRIBUTES, **{k: as_text(v) for k, v in value.items()}}
        else:
            realm.settings[key] = copy.deepcopy(value)
    return NO_CONTENT


def delete_realm(req: Request) -> Response:
    realm = req.realm("manage-realm")
    store = req.app.store
    if realm.name == defaults.MASTER:
        raise error(400, "unknown_error")  # UNCONFIRMED: Keycloak refuses to delete master
    del store.realms[realm.name]
    master = store.realm(defaults.MASTER)
    client = master.client_by_client_id(f"{realm.name}-realm") if master else None
    if master is not None and client is not None:
        role_ids = {r.id for r in master.client_roles(client.id)}
        for role_id in role_ids:
            del master.roles[role_id]
        for role in master.roles.values():
            role.composites -= role_ids
        for user in master.users.values():
            user.role_ids -= role_ids
        del master.clients[client.id]
    return NO_CONTENT


def serverinfo(req: Request) -> Response:
    """Version and features; `systemInfo` as the current code gates it (SEMANTICS §8)."""
    principal = req.principal
    assert principal is not None
    home = principal.realm
    if not req.may(home) and not any(req.may(r) for r in req.app.store.realms.values()):
        raise error(403, FORBIDDEN)
    profile = req.app.profile
    body: dict[str, Any] = {}
    if req.may(home, "manage-realm"):
        if home.name == defaults.MASTER:
            body["systemInfo"] = {
                "version": VERSION,
                "serverTime": "",
                "uptime": "0 seconds",
                "uptimeMillis": 0,
                "javaVersion": "21",
                "javaVendor": "realmctl sandbox",
            }
        else:
            body["systemInfo"] = {"version": VERSION}
    body["profileInfo"] = profile.profile_info()
    body["features"] = profile.features()
    body["protocolMapperTypes"] = {}
    body["identityProviders"] = [{"id": p, "name": p} for p in sorted(KNOWN_IDP_PROVIDERS)]
    return Response(200, body)


KNOWN_IDP_PROVIDERS = {"oidc", "keycloak-oidc", "saml", "github", "google", "microsoft", "gitlab", "facebook"}


def partial_export(req: Request) -> Response:
    from realmctl.sandbox.admin.export import export_realm

    realm = req.realm("manage-realm")
    clients = bool(req.bool_arg("exportClients", False))
    groups = bool(req.bool_arg("exportGroupsAndRoles", False))
    return Response(200, export_realm(req.app.store, realm, clients=clients, groups_and_roles=groups))


def register(router: Router) -> None:
    router.add("GET", "/admin/realms", list_realms)
    router.add("POST", "/admin/realms", create_realm)
    router.add("GET", "/admin/realms/{realm}", get_realm)
    router.add("PUT", "/admin/realms/{realm}", update_realm)
    router.add("DELETE", "/admin/realms/{realm}", delete_realm)
    router.add("GET", "/admin/serverinfo", serverinfo)
    router.add("POST", "/admin/realms/{realm}/partial-export", partial_export)
