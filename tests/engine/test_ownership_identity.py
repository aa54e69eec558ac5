"""Ownership follows the object's identity, not its name (issue #18).

Every kind realmctl owns (through a marker on the object or through its record in the realm
attribute `realmctl.links`) is tried the same way: realmctl creates X; X is deleted by hand; a
hand-made X with the same name (and, for a link, the same ends by name) is created by hand; the
spec stops declaring X. The plan must not delete the hand-made X, apply must leave it on the
server, and realmctl's record must no longer list X.

Runs against the sandbox and, with REALMCTL_TEST_URL, against a real Keycloak.
"""

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from realmctl.live import LINKS_ATTRIBUTE
from tests.engine.test_apply import World
from tests.engine.test_exchange import Pair


@pytest.fixture
def world(keycloak: Any, tmp_path: Path) -> Iterator[World]:
    w = World(keycloak, tmp_path)
    yield w
    w.admin.call("DELETE", f"admin/realms/{w.realm}")  # the real servers are shared: leave no realm behind


def recorded(admin: Any, realm: str) -> set[tuple[str, ...]]:
    """The keys (kind, *name) in realmctl's record, whatever the format of each entry."""
    raw = ((admin.get(f"admin/realms/{realm}").get("attributes") or {}).get(LINKS_ATTRIBUTE)) or "[]"
    out = set()
    for entry in json.loads(raw):
        parsed = json.loads(entry)
        out.add(tuple(parsed["key"] if isinstance(parsed, dict) else parsed))
    return out


def deletions(plan: str) -> list[str]:
    return [line for line in plan.splitlines() if line.startswith("  - ")]


# -- raw admin steps ("by hand") ----------------------------------------------------------------
def base(w: World, path: str) -> str:
    return f"admin/realms/{w.realm}/{path}"


def delete(w: World, path: str) -> None:
    response = w.admin.call("DELETE", base(w, path))
    assert response.status_code in (200, 204), (path, response.status_code, response.text)


def user(w: World, name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = w.get("users", username=name, exact="true")
    return found[0]


def client(w: World, client_id: str) -> dict[str, Any]:
    found = w.admin.client(w.realm, client_id)
    assert found is not None
    return found


def scope(w: World, name: str) -> dict[str, Any]:
    return next(s for s in w.get("client-scopes") if s["name"] == name)


def group(w: World, name: str) -> dict[str, Any]:
    return next(g for g in w.get("groups", briefRepresentation="false") if g["name"] == name)


def remake_user(w: World, name: str) -> dict[str, Any]:
    delete(w, f"users/{user(w, name)['id']}")
    w.admin.post(base(w, "users"), {"username": name, "enabled": True})
    return user(w, name)


def remake_group(w: World, name: str) -> dict[str, Any]:
    delete(w, f"groups/{group(w, name)['id']}")
    w.admin.post(base(w, "groups"), {"name": name})
    return group(w, name)


def remake_realm_role(w: World, name: str) -> dict[str, Any]:
    delete(w, f"roles/{name}")
    w.admin.post(base(w, "roles"), {"name": name})
    role: dict[str, Any] = w.get(f"roles/{name}")
    return role


def remake_scope(w: World, name: str) -> dict[str, Any]:
    delete(w, f"client-scopes/{scope(w, name)['id']}")
    w.admin.post(base(w, "client-scopes"), {"name": name, "protocol": "openid-connect"})
    return scope(w, name)


def read_token(w: World) -> tuple[dict[str, Any], dict[str, Any]]:
    broker = client(w, "broker")
    return broker, w.get(f"clients/{broker['id']}/roles/read-token")


def has_role(mappings: dict[str, Any], container: str, name: str) -> bool:
    if container == "realm":
        roles = mappings.get("realmMappings") or []
    else:
        roles = ((mappings.get("clientMappings") or {}).get(container) or {}).get("mappings") or []
    return any(r["name"] == name for r in roles)


@dataclass
class Case:
    """One kind: what is re-made by hand, how the spec stops declaring it, and what to check."""

    name: str
    by_hand: Callable[[World], None]
    edit: Callable[[dict[str, Any]], None]
    still_there: Callable[[World], bool]
    record: tuple[str, ...] | None  # the record entry that must be gone (None: a marker kind)


# -- user, and the links that end at a user --------------------------------------------------------
def drop_bob(r: dict[str, Any]) -> None:
    r["users"].pop("bob")
    r["roleGrants"][0]["users"] = ["alice"]


def grant_read_token_to_new_bob(w: World) -> None:
    bob = remake_user(w, "bob")
    broker, role = read_token(w)
    w.admin.post(base(w, f"users/{bob['id']}/role-mappings/clients/{broker['id']}"), [role])


def bob_has_read_token(w: World) -> bool:
    return has_role(w.get(f"users/{user(w, 'bob')['id']}/role-mappings"), "broker", "read-token")


def alice_in_new_staff_by_hand(w: World) -> None:
    alice = remake_user(w, "alice")
    w.admin.put(base(w, f"users/{alice['id']}/groups/{group(w, 'staff')['id']}"), None)


def alice_in_staff(w: World) -> bool:
    return any(g["name"] == "staff" for g in w.get(f"users/{user(w, 'alice')['id']}/groups"))


# -- groups and realm roles ------------------------------------------------------------------------
def reader_to_new_staff(w: World) -> None:
    staff = remake_group(w, "staff")
    w.admin.post(base(w, f"groups/{staff['id']}/role-mappings/realm"), [w.get("roles/reader")])
    w.admin.put(base(w, f"users/{user(w, 'alice')['id']}/groups/{staff['id']}"), None)


def staff_has_reader(w: World) -> bool:
    return has_role(w.get(f"groups/{group(w, 'staff')['id']}/role-mappings"), "realm", "reader")


def new_reader_granted_to_staff(w: World) -> None:
    role = remake_realm_role(w, "reader")
    w.admin.post(base(w, f"groups/{group(w, 'staff')['id']}/role-mappings/realm"), [role])
    app = client(w, "my-app")
    w.admin.post(base(w, f"clients/{app['id']}/scope-mappings/realm"), [role])


def drop_staff_grant(r: dict[str, Any]) -> None:
    r["roleGrants"].pop(1)


def new_reader_in_my_app_scope(w: World) -> None:
    role = remake_realm_role(w, "reader")
    app = client(w, "my-app")
    w.admin.post(base(w, f"clients/{app['id']}/scope-mappings/realm"), [role])


def my_app_scope_has_reader(w: World) -> bool:
    return has_role(w.get(f"clients/{client(w, 'my-app')['id']}/scope-mappings"), "realm", "reader")


def drop_reader(r: dict[str, Any]) -> None:
    r.pop("roles")
    r["roleGrants"].pop(1)
    r["clients"]["my-app"].pop("roleScope")


def reader_exists(w: World) -> bool:
    return bool(w.admin.call("GET", base(w, "roles/reader")).status_code == 200)


def drop_staff(r: dict[str, Any]) -> None:
    r.pop("groups")
    r["roleGrants"].pop(1)
    r["users"]["alice"].pop("groups")


def staff_exists(w: World) -> bool:
    return any(g["name"] == "staff" for g in w.get("groups"))


# -- client scopes and what hangs on them ----------------------------------------------------------
def new_scope_attached_to_my_app(w: World) -> None:
    new = remake_scope(w, "broker_read_token")
    app = client(w, "my-app")
    if any(s["id"] == new["id"] for s in w.get(f"clients/{app['id']}/optional-client-scopes")):
        delete(w, f"clients/{app['id']}/optional-client-scopes/{new['id']}")
    w.admin.put(base(w, f"clients/{app['id']}/default-client-scopes/{new['id']}"), None)


def my_app_has_scope(w: World) -> bool:
    app = client(w, "my-app")
    return any(s["name"] == "broker_read_token" for s in w.get(f"clients/{app['id']}/default-client-scopes"))


def new_scope_in_realm_optional(w: World) -> None:
    new = remake_scope(w, "broker_read_token")
    w.admin.put(base(w, f"default-optional-client-scopes/{new['id']}"), None)


def realm_optional_has_scope(w: World) -> bool:
    return any(s["name"] == "broker_read_token" for s in w.get("default-optional-client-scopes"))


def new_scope_mapped_to_read_token(w: World) -> None:
    new = remake_scope(w, "broker_read_token")
    broker, role = read_token(w)
    w.admin.post(base(w, f"client-scopes/{new['id']}/scope-mappings/clients/{broker['id']}"), [role])


def scope_maps_read_token(w: World) -> bool:
    mappings = w.get(f"client-scopes/{scope(w, 'broker_read_token')['id']}/scope-mappings")
    return has_role(mappings, "broker", "read-token")


def new_scope_with_mapper(w: World) -> None:
    new = remake_scope(w, "broker_read_token")
    mapper: dict[str, Any] = {"name": "broker roles", "protocol": "openid-connect"}
    mapper["protocolMapper"] = "oidc-audience-mapper"
    mapper["config"] = {"included.client.audience": "broker", "access.token.claim": "true"}
    w.admin.post(base(w, f"client-scopes/{new['id']}/protocol-mappers/models"), mapper)


def scope_has_mapper(w: World) -> bool:
    return any(m["name"] == "broker roles" for m in scope(w, "broker_read_token").get("protocolMappers") or [])


def drop_scope(r: dict[str, Any]) -> None:
    r.pop("clientScopes")
    r.pop("optionalClientScopes")
    r["clients"]["my-app"].pop("defaultClientScopes")


def drop_mapper(r: dict[str, Any]) -> None:
    r["clientScopes"]["broker_read_token"].pop("mappers")


def scope_exists(w: World) -> bool:
    return any(s["name"] == "broker_read_token" for s in w.get("client-scopes"))


# -- clients, client roles, identity providers and their mappers --------------------------------
def remake_my_app(w: World) -> None:
    delete(w, f"clients/{client(w, 'my-app')['id']}")
    w.admin.post(base(w, "clients"), {"clientId": "my-app", "publicClient": True})


def drop_my_app(r: dict[str, Any]) -> None:
    r.pop("clients")


def my_app_exists(w: World) -> bool:
    return w.admin.client(w.realm, "my-app") is not None


def remake_viewer(w: World) -> None:
    app = client(w, "my-app")
    delete(w, f"clients/{app['id']}/roles/viewer")
    w.admin.post(base(w, f"clients/{app['id']}/roles"), {"name": "viewer"})


def drop_viewer(r: dict[str, Any]) -> None:
    r["clients"]["my-app"].pop("roles")


def viewer_exists(w: World) -> bool:
    return any(r["name"] == "viewer" for r in w.get(f"clients/{client(w, 'my-app')['id']}/roles"))


IDP = {
    "alias": "azure",
    "providerId": "oidc",
    "config": {
        "clientId": "hand",
        "clientSecret": "hand-secret",
        "authorizationUrl": "https://idp.example.com/auth",
        "tokenUrl": "https://idp.example.com/token",
    },
}


def remake_azure(w: World) -> None:
    delete(w, "identity-provider/instances/azure")
    w.admin.post(base(w, "identity-provider/instances"), IDP)


def drop_azure(r: dict[str, Any]) -> None:
    r.pop("identityProviders")


def azure_exists(w: World) -> bool:
    return w.admin.call("GET", base(w, "identity-provider/instances/azure")).status_code == 200


def remake_tenant(w: World) -> None:
    path = "identity-provider/instances/azure/mappers"
    old = next(m for m in w.get(path) if m["name"] == "tenant")
    delete(w, f"{path}/{old['id']}")
    mapper = {
        "name": "tenant",
        "identityProviderAlias": "azure",
        "identityProviderMapper": "hardcoded-attribute-idp-mapper",
        "config": {"attribute": "tenant", "attribute.value": "hand", "syncMode": "INHERIT"},
    }
    w.admin.post(base(w, path), mapper)


def drop_tenant(r: dict[str, Any]) -> None:
    r["identityProviders"]["azure"].pop("mappers")


def tenant_exists(w: World) -> bool:
    return any(m["name"] == "tenant" for m in w.get("identity-provider/instances/azure/mappers"))


# -- service accounts ----------------------------------------------------------------------------
def add_worker(r: dict[str, Any]) -> None:
    r["clients"]["worker"] = {"publicClient": False, "serviceAccounts": True}
    r["roleGrants"].append({"serviceAccounts": ["worker"], "realmRoles": ["reader"]})


def remake_worker_with_reader(w: World) -> None:
    delete(w, f"clients/{client(w, 'worker')['id']}")
    w.admin.post(base(w, "clients"), {"clientId": "worker", "publicClient": False, "serviceAccountsEnabled": True})
    account = w.get(f"clients/{client(w, 'worker')['id']}/service-account-user")
    w.admin.post(base(w, f"users/{account['id']}/role-mappings/realm"), [w.get("roles/reader")])


def drop_worker(r: dict[str, Any]) -> None:
    r["clients"].pop("worker")
    r["roleGrants"].pop()


def worker_has_reader(w: World) -> bool:
    account = w.get(f"clients/{client(w, 'worker')['id']}/service-account-user")
    return has_role(w.get(f"users/{account['id']}/role-mappings"), "realm", "reader")


CASES = [
    Case("user", lambda w: remake_user(w, "bob") and None, drop_bob, lambda w: bool(user(w, "bob")), ("user", "bob")),
    Case(
        "role grant, user re-made",
        grant_read_token_to_new_bob,
        lambda r: r["roleGrants"][0].update(users=["alice"]),
        bob_has_read_token,
        ("role-grant", "user", "bob", "broker", "read-token"),
    ),
    Case(
        "role grant, group re-made",
        reader_to_new_staff,
        drop_staff_grant,
        staff_has_reader,
        ("role-grant", "group", "staff", "realm", "reader"),
    ),
    Case(
        "role grant, role re-made",
        new_reader_granted_to_staff,
        drop_staff_grant,
        staff_has_reader,
        ("role-grant", "group", "staff", "realm", "reader"),
    ),
    Case(
        "membership, user re-made",
        alice_in_new_staff_by_hand,
        lambda r: r["users"]["alice"].pop("groups"),
        alice_in_staff,
        ("membership", "alice", "staff"),
    ),
    Case(
        "scope mapping of a client, role re-made",
        new_reader_in_my_app_scope,
        lambda r: r["clients"]["my-app"].pop("roleScope"),
        my_app_scope_has_reader,
        ("scope-mapping", "client", "my-app", "realm", "reader"),
    ),
    Case(
        "scope mapping of a client scope, scope re-made",
        new_scope_mapped_to_read_token,
        drop_scope,
        scope_maps_read_token,
        ("scope-mapping", "scope", "broker_read_token", "broker", "read-token"),
    ),
    Case(
        "client scope attachment, scope re-made",
        new_scope_attached_to_my_app,
        lambda r: r["clients"]["my-app"].pop("defaultClientScopes"),
        my_app_has_scope,
        ("client-scope-link", "my-app", "broker_read_token"),
    ),
    Case(
        "realm default scope, scope re-made",
        new_scope_in_realm_optional,
        lambda r: r.pop("optionalClientScopes"),
        realm_optional_has_scope,
        ("realm-default-scope", "broker_read_token"),
    ),
    Case(
        "realm role",
        lambda w: remake_realm_role(w, "reader") and None,
        drop_reader,
        reader_exists,
        ("role", "realm", "reader"),
    ),
    Case("client role", remake_viewer, drop_viewer, viewer_exists, ("role", "my-app", "viewer")),
    Case("group", lambda w: remake_group(w, "staff") and None, drop_staff, staff_exists, None),
    Case("client scope", lambda w: remake_scope(w, "broker_read_token") and None, drop_scope, scope_exists, None),
    Case("protocol mapper", new_scope_with_mapper, drop_mapper, scope_has_mapper, None),
    Case("client", remake_my_app, drop_my_app, my_app_exists, None),
    Case("identity provider", remake_azure, drop_azure, azure_exists, None),
    Case("identity provider mapper", remake_tenant, drop_tenant, tenant_exists, ("idp-mapper", "azure", "tenant")),
    Case(
        "role grant, service account's client re-made",
        remake_worker_with_reader,
        drop_worker,
        worker_has_reader,
        ("role-grant", "service-account", "worker", "realm", "reader"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_hand_made_namesake_of_a_deleted_owned_object_is_never_deleted(world: World, case: Case) -> None:
    if case.name.startswith("role grant, service account"):
        add_worker(world.r)
    world.apply()
    if case.record is not None:
        assert case.record in recorded(world.admin, world.realm), "the test's premise: realmctl recorded it"
    case.by_hand(world)
    case.edit(world.r)
    plan = world.cmd("plan")
    assert plan.code == 0, plan.all
    gone = deletions(plan.out)
    assert gone == [], f"{case.name}: the plan deletes what was made by hand:\n{plan.out}"
    # Any change makes apply write realmctl's record; the stale entry is dropped then.
    world.r["displayName"] = "Apps, renamed"
    world.apply()
    assert case.still_there(world), f"{case.name}: the hand-made object is gone"
    assert world.plan().code == 0
    if case.record is not None:
        assert case.record not in recorded(world.admin, world.realm), "the stale record was kept"


def test_a_record_written_by_names_only_is_trusted_once_and_upgraded_to_ids(world: World) -> None:
    """Records of earlier versions hold names only: they keep working and get ids on the next apply."""
    world.apply()
    rep = world.admin.get(f"admin/realms/{world.realm}")
    entries = [json.loads(e) for e in json.loads(rep["attributes"][LINKS_ATTRIBUTE])]
    legacy = sorted(json.dumps(e["key"] if isinstance(e, dict) else e, separators=(",", ":")) for e in entries)
    attributes = {**rep["attributes"], LINKS_ATTRIBUTE: json.dumps(legacy)}
    world.admin.put(f"admin/realms/{world.realm}", {"realm": world.realm, "attributes": attributes})
    # bob (created by realmctl) leaves the spec: the name-only record still says he is realmctl's.
    drop_bob(world.r)
    plan = world.plan()
    assert "  - user bob" in plan.out, plan.out
    world.apply()
    attributes = world.admin.get(f"admin/realms/{world.realm}")["attributes"]
    upgraded = [json.loads(e) for e in json.loads(attributes[LINKS_ATTRIBUTE])]
    assert upgraded and all(isinstance(e, dict) and e["ids"] for e in upgraded), upgraded
    assert ["user", "bob"] not in [e["key"] for e in upgraded]


def test_an_exchange_permission_attached_by_hand_to_a_re_made_policy_is_kept(
    legacy_keycloak: Any, tmp_path: Path
) -> None:
    pair = Pair(legacy_keycloak, tmp_path)
    try:
        exchange_case(pair)
    finally:
        for realm in (pair.a, pair.b):
            pair.admin.call("DELETE", f"admin/realms/{realm}")


def exchange_case(pair: Pair) -> None:
    pair.apply()
    name = "realmctl-exchange-from-b"
    assert name in pair.idp_policies()
    authz = pair.authz()
    old = pair.get(f"{authz}/policy/search", name=name)
    assert pair.admin.call("DELETE", f"admin/realms/{pair.a}/{authz}/policy/{old['id']}").status_code == 204
    app = pair.admin.client(pair.a, "realm-a-client")
    assert app is not None
    body = {"name": name, "type": "client", "logic": "POSITIVE", "clients": [app["id"]]}
    pair.admin.post(f"admin/realms/{pair.a}/{authz}/policy/client", body)
    new = pair.get(f"{authz}/policy/search", name=name)
    ref = pair.get("identity-provider/instances/realm-b/management/permissions")
    permission = ref["scopePermissions"]["token-exchange"]
    current = pair.get(f"{authz}/permission/scope/{permission}")
    resources = [r["_id"] for r in pair.get(f"{authz}/permission/{permission}/resources")]
    scopes = [s["id"] for s in pair.get(f"{authz}/permission/{permission}/scopes")]
    update = {**current, "resources": resources, "scopes": scopes, "policies": [new["id"]]}
    pair.admin.put(f"admin/realms/{pair.a}/{authz}/permission/scope/{permission}", update)
    assert pair.idp_policies() == [name]
    assert ("exchange-permission", "idp", "realm-b", "token-exchange", name) in recorded(pair.admin, pair.a)
    pair.spec["realms"][pair.a].pop("tokenExchange")
    plan = pair.cmd("plan")
    assert plan.code == 0, plan.all
    assert not [line for line in deletions(plan.out) if "permission" in line or "policy" in line], plan.out
    pair.apply()
    assert pair.get(f"{authz}/policy/search", name=name)["id"] == new["id"]
    assert ("exchange-permission", "idp", "realm-b", "token-exchange", name) not in recorded(pair.admin, pair.a)
