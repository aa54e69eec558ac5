"""Groups: enough CRUD for role grants to groups and user membership."""

from __future__ import annotations

from realmctl.sandbox import ops, reps
from realmctl.sandbox.errors import error, error_message, exists
from realmctl.sandbox.http import NO_CONTENT, Request, Response, Router, created
from realmctl.sandbox.store import Group, Realm

DEFAULT_MAX = 100
#: `GET /groups/{id}/children` answers 10 subgroups unless `max` says otherwise (26.7.3).
CHILDREN_DEFAULT_MAX = 10


def find_group(req: Request, *roles: str) -> tuple[Realm, Group]:
    realm = req.realm(*roles)
    group = realm.groups.get(req.params["id"])
    if group is None:
        raise error(404, "Could not find group by id")
    return realm, group


def _rep(realm: Realm, group: Group, brief: bool, *, sub_count: bool = True) -> dict[str, object]:
    rep = reps.group_rep(realm, group, ops.group_path(realm, group), sub_count=sub_count)
    if brief:
        for key in ("attributes", "realmRoles", "clientRoles", "access"):
            rep.pop(key, None)
    return rep


def list_groups(req: Request) -> Response:
    realm = req.realm("query-groups", "view-users")
    groups = [g for g in realm.groups.values() if g.parent_id is None]
    search = (req.arg("search") or "").strip()  # trimmed: 26.7.3 finds no group ` a` by `search= a`
    exact = bool(req.bool_arg("exact", False))
    brief = bool(req.bool_arg("briefRepresentation", True))
    query = req.arg("q")
    if query is not None:  # `k:v` pairs over group attributes
        pairs = [part.split(":", 1) for part in query.split() if ":" in part]
        groups = [g for g in groups if all(v in (g.attributes.get(k) or []) for k, v in pairs)]
    if search:
        # 26.7.3 searches at any depth: a top-level group whose subtree matches is listed with the
        # matching branches as `subGroups`
        def hit(g: Group) -> bool:
            return g.name == search if exact else search.lower() in g.name.lower()

        def branch(g: Group) -> dict[str, object] | None:
            subs = [b for c in _children(realm, g) if (b := branch(c)) is not None]
            if not hit(g) and not subs:
                return None
            rep = _rep(realm, g, brief)
            rep["subGroups"] = subs
            return rep

        found = [b for g in sorted(groups, key=lambda g: g.name) if (b := branch(g)) is not None]
        return Response(200, req.page(found, DEFAULT_MAX))
    groups.sort(key=lambda g: g.name)
    return Response(200, [_rep(realm, g, brief) for g in req.page(groups, DEFAULT_MAX)])


def _children(realm: Realm, group: Group) -> list[Group]:
    return sorted((g for g in realm.groups.values() if g.parent_id == group.id), key=lambda g: g.name)


def count_groups(req: Request) -> Response:
    """`{"count": n}` over every group, subgroups included, unless `top=true`; `search` matches
    names case-insensitively at any depth (26.7.3). Keycloak routes it before `/groups/{id}`."""
    realm = req.realm("query-groups", "view-users")
    groups = list(realm.groups.values())
    if req.bool_arg("top", False):
        groups = [g for g in groups if g.parent_id is None]
    search = req.arg("search")
    if search:
        groups = [g for g in groups if search.lower() in g.name.lower()]
    return Response(200, {"count": len(groups)})


def create_group(req: Request) -> Response:
    realm = req.realm("manage-users")
    body = req.json_object()
    if not str(body.get("name") or "").strip():  # 26.7.3 answers the same to " "
        raise error_message(400, "Group name is missing")
    group = ops.create_group(realm, body["name"])
    group.attributes = dict(body.get("attributes") or {})
    return created(req.admin_url(realm, "groups", group.id))


def get_group(req: Request) -> Response:
    realm, group = find_group(req, "query-groups", "view-users")
    return Response(200, _rep(realm, group, brief=False))


def update_group(req: Request) -> Response:
    realm, group = find_group(req, "manage-users")
    body = req.json_object()
    name = body.get("name")
    if name and name != group.name:
        siblings = [g for g in realm.groups.values() if g.parent_id == group.parent_id and g.id != group.id]
        if any(g.name == name for g in siblings):
            raise exists(f"Sibling group named '{name}' already exists.")
        group.name = name
    if body.get("attributes") is not None:
        group.attributes = dict(body["attributes"])
    return NO_CONTENT


def delete_group(req: Request) -> Response:
    realm, group = find_group(req, "manage-users")
    ops.delete_group(realm, group)
    return NO_CONTENT


def children(req: Request) -> Response:
    realm, group = find_group(req, "query-groups", "view-users")
    subs = _children(realm, group)
    search = req.arg("search")
    if search:  # by name, case-insensitive unless `exact`
        exact = bool(req.bool_arg("exact", False))
        subs = [g for g in subs if (g.name == search if exact else search.lower() in g.name.lower())]
    brief = bool(req.bool_arg("briefRepresentation", False))  # 26.7.3: full by default, unlike /groups
    return Response(200, [_rep(realm, g, brief) for g in req.page(subs, CHILDREN_DEFAULT_MAX)])


def add_child(req: Request) -> Response:
    realm, group = find_group(req, "manage-users")
    body = req.json_object()
    child = ops.create_group(realm, str(body.get("name")), group.id)
    child.attributes = dict(body.get("attributes") or {})
    # 26.7.3 answers the new subgroup without `subGroupCount`.
    return Response(
        201, _rep(realm, child, brief=False, sub_count=False), {"Location": req.admin_url(realm, "groups", child.id)}
    )


def members(req: Request) -> Response:
    realm, group = find_group(req, "view-users")
    found = sorted((u for u in realm.users.values() if group.id in u.group_ids), key=lambda u: u.username)
    brief = bool(req.bool_arg("briefRepresentation", False))
    return Response(200, [reps.user_rep(realm, u, brief=brief) for u in req.page(found, DEFAULT_MAX)])


def by_path(req: Request) -> Response:
    realm = req.realm("query-groups", "view-users")
    path = "/" + req.path.split("/group-by-path/", 1)[1].strip("/")
    group = ops.find_group_by_path(realm, path)
    if group is None:
        raise error(404, "Group path does not exist")
    return Response(200, _rep(realm, group, brief=False))


def register(router: Router) -> None:
    base = "/admin/realms/{realm}/groups"
    router.add("GET", base, list_groups)
    router.add("POST", base, create_group)
    router.add("GET", base + "/count", count_groups)
    router.add("GET", base + "/{id}", get_group)
    router.add("PUT", base + "/{id}", update_group)
    router.add("DELETE", base + "/{id}", delete_group)
    router.add("GET", base + "/{id}/children", children)
    router.add("POST", base + "/{id}/children", add_child)
    router.add("GET", base + "/{id}/members", members)
    router.add("GET", "/admin/realms/{realm}/group-by-path/{path:path}", by_path)
