"""Users: CRUD, search (SEMANTICS §11.1), password reset, federated identities, group membership."""

from __future__ import annotations

import copy
import re
from typing import Any

from realmctl.sandbox import fields, ops, reps, userprofile
from realmctl.sandbox.errors import HttpError, error, exists
from realmctl.sandbox.http import NO_CONTENT, Request, Response, Router, created
from realmctl.sandbox.store import FederatedIdentity, Realm, User

DEFAULT_MAX = 100
FIELDS = ("username", "email", "firstName", "lastName")


def find_user(req: Request, *roles: str) -> tuple[Realm, User]:
    realm = req.realm(*roles)
    user = realm.users.get(req.params["id"])
    if user is None:
        raise error(404, "User not found")
    return realm, user


def _matches_search(user: User, search: str) -> bool:
    """`search`: prefix by default, `*x*` infix, `"x"` exact, over username/first/last/email."""
    values = [str(user.rep.get(f) or "").lower() for f in FIELDS]
    term = search.lower()
    if len(term) >= 2 and term.startswith('"') and term.endswith('"'):
        return term[1:-1] in values
    if term.startswith("*") or term.endswith("*"):
        needle = term.strip("*")
        if term.startswith("*"):
            return any(needle in v for v in values)
        return any(v.startswith(needle) for v in values)
    return any(v.startswith(term) for v in values)


def _filter(req: Request, realm: Realm) -> list[User]:
    # UsersResource includes service-account users only in field searches (username=, email= …)
    search = req.arg("search")
    params = (*FIELDS, "enabled", "emailVerified", "idpAlias", "idpUserId", "exact", "q")
    by_field = search is None and any(req.arg(p) is not None for p in params)
    users = [u for u in realm.users.values() if by_field or not u.rep.get("serviceAccountClientId")]
    if search is not None and search not in ("", "*"):
        users = [u for u in users if _matches_search(u, search)]
    exact = bool(req.bool_arg("exact", False))
    for field in FIELDS:
        wanted = req.arg(field)
        if wanted is None:
            continue
        wanted = wanted.lower()
        if exact:
            users = [u for u in users if str(u.rep.get(field) or "").lower() == wanted]
        else:
            users = [u for u in users if wanted in str(u.rep.get(field) or "").lower()]
    for flag in ("enabled", "emailVerified"):
        value = req.bool_arg(flag)
        if value is not None:
            users = [u for u in users if bool(u.rep.get(flag)) == value]
    query = req.arg("q")
    if query is not None:  # `k1:v1 k2:v2`: every pair an attribute value (26.7.3)
        pairs = [part.split(":", 1) for part in query.split() if ":" in part]
        users = [u for u in users if all(v in ((u.rep.get("attributes") or {}).get(k) or []) for k, v in pairs)]
    alias, idp_user = req.arg("idpAlias"), req.arg("idpUserId")
    if alias is not None:
        users = [u for u in users if alias in u.federated]
        if idp_user is not None:
            users = [u for u in users if u.federated[alias].user_id == idp_user]
    return sorted(users, key=lambda u: u.username)


def list_users(req: Request) -> Response:
    realm = req.realm("query-users", "view-users")
    users = _filter(req, realm)
    brief = bool(req.bool_arg("briefRepresentation", False))
    return Response(200, [reps.user_rep(realm, u, brief=brief) for u in req.page(users, DEFAULT_MAX)])


def count_users(req: Request) -> Response:
    realm = req.realm("query-users", "view-users")
    return Response(200, len(_filter(req, realm)))


#: The default user profile's `username-prohibited-characters` validator (Java regex classes
#: spelt out: `\s`, `\v`, `\h`, `\p{Cntrl}`); Keycloak 26.7.3 answers 400 to `a b`, `a/b`, `a%2Fb`.
PROHIBITED = re.compile(
    "[<>&\"'$%!#?\u00a7,;:*~/\\\\|^=\\[\\]{}()`\x00-\x20\x7f\x85\xa0\u1680\u180e\u2000-\u200a"
    "\u2028\u2029\u202f\u205f\u3000]"
)


def _check_username(username: Any) -> None:
    """400 as the default user profile answers: length 3 to 255 (UTF-16 units, as Java counts), no
    prohibited character. (Its IDN-homograph check, which refuses e.g. Cyrillic mixed with Latin,
    is not modelled.)"""
    if not isinstance(username, str) or not username:
        return  # ops.create_user answers for a missing username
    errors = []
    length = len(username.encode("utf-16-le")) // 2
    if not 3 <= length <= 255:
        errors.append({"field": "username", "errorMessage": "error-invalid-length", "params": ["username", 3, 255]})
    if PROHIBITED.search(username):
        errors.append({"field": "username", "errorMessage": "error-username-invalid-character", "params": ["username"]})
    if len(errors) == 1:
        raise HttpError(400, errors[0])
    if errors:
        raise HttpError(400, {"errors": errors})


def create_user(req: Request) -> Response:
    realm = req.realm("manage-users")
    body = req.json_object()
    fields.refuse_unknown(req.body, fields.USER_FIELDS, "UserRepresentation")
    _check_username(body.get("username"))
    rep = {k: v for k, v in body.items() if k != "id"}
    problems: list[dict[str, Any]] = []
    rep["attributes"] = (
        userprofile.written(realm, None, body.get("attributes"), replace=True, problems=problems) or None
    )
    userprofile.refuse(problems)
    user = ops.create_user(realm, rep)
    for path in body.get("groups") or []:
        group = ops.find_group_by_path(realm, path)
        if group is None:
            del realm.users[user.id]
            raise HttpError(400, {"errorMessage": f"Group {path} not found"})  # UNCONFIRMED text
        user.group_ids.add(group.id)
    return created(req.admin_url(realm, "users", user.id))


def get_user(req: Request) -> Response:
    realm, user = find_user(req, "view-users")
    rep = reps.user_rep(realm, user)
    if req.bool_arg("userProfileMetadata", False):
        # placed after `emailVerified`/`attributes`, where 26.7.3 writes it (a client may read text)
        rep = _insert_after(
            rep,
            "attributes" if "attributes" in rep else "emailVerified",
            "userProfileMetadata",
            userprofile.metadata(realm, user),
        )
    return Response(200, rep)


def _insert_after(rep: dict[str, Any], anchor: str, key: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in rep.items():
        out[k] = v
        if k == anchor:
            out[key] = value
    out.setdefault(key, value)
    return out


def unmanaged_attributes(req: Request) -> Response:
    realm, user = find_user(req, "view-users")
    return Response(200, userprofile.unmanaged(realm, user.rep.get("attributes")))


def update_user(req: Request) -> Response:
    """The user updated through its user profile (26.7.3): the whole result is validated before
    anything is stored, so a refused update changes nothing."""
    realm, user = find_user(req, "manage-users")
    body = req.json_object()
    fields.refuse_unknown(req.body, fields.USER_FIELDS, "UserRepresentation")
    problems: list[dict[str, Any]] = []
    username = body.get("username")
    renamed = bool(username) and str(username).lower() != user.username
    if renamed and not realm.settings.get("editUsernameAllowed"):  # the profile's admin context
        problems.append({"field": "username", "errorMessage": "error-user-attribute-read-only", "params": ["username"]})
    replace = body.get("attributes") is not None
    given = body.get("attributes") or {}
    names: dict[str, Any] = {}
    for key in ("firstName", "lastName", "email"):
        # a body carrying `attributes` replaces every editable attribute: absent names are removed
        value = body.get(key)
        if value is None and replace and key != "email":
            value = next(iter(userprofile.values_of(given.get(key))), None)
        if value not in (None, ""):
            names[key] = str(value).lower() if key == "email" else value
        elif replace or value == "":
            names[key] = None
    attributes = userprofile.written(
        realm, user.rep.get("attributes"), given, replace=replace, problems=problems, update=True
    )
    userprofile.refuse(problems)
    if renamed:
        if realm.user_by_username(str(username)) is not None:
            raise exists("User exists with same username")
        user.rep["username"] = str(username).lower()
    for key, value in names.items():
        if value is None:
            user.rep.pop(key, None)
        else:
            user.rep[key] = value
    for key in ("enabled", "emailVerified", "requiredActions"):
        if body.get(key) is not None:
            user.rep[key] = copy.deepcopy(body[key])
    if attributes:
        user.rep["attributes"] = attributes
    else:
        user.rep.pop("attributes", None)
    if body.get("credentials"):
        for cred in body["credentials"]:
            if cred.get("type", "password") == "password" and cred.get("value") is not None:
                user.password = str(cred["value"])
    realm.index_user(user)  # a new username or e-mail
    return NO_CONTENT


def delete_user(req: Request) -> Response:
    realm, user = find_user(req, "manage-users")
    del realm.users[user.id]
    return NO_CONTENT


def reset_password(req: Request) -> Response:
    _, user = find_user(req, "manage-users")
    body = req.json_object()
    value = body.get("value")
    if not value:
        raise HttpError(400, {"errorMessage": "Password cannot be empty"})  # UNCONFIRMED text
    user.password = str(value)
    return NO_CONTENT


def list_links(req: Request) -> Response:
    """Links whose identity provider exists: a link stored for an unknown alias shows up once an
    IdP with that alias is created (26.7.3), but is still found by `?idpAlias=` meanwhile."""
    realm, user = find_user(req, "view-users")
    return Response(
        200,
        [
            {"identityProvider": f.identity_provider, "userId": f.user_id, "userName": f.user_name}
            for f in user.federated.values()
            if f.identity_provider in realm.idps
        ],
    )


def add_link(req: Request) -> Response:
    _, user = find_user(req, "manage-users")
    alias = req.params["provider"]  # Keycloak does not check that the alias names an IdP: stored as is
    if alias in user.federated:
        raise exists("User is already linked with provider")
    body = req.json_object()
    user.federated[alias] = FederatedIdentity(alias, str(body.get("userId") or ""), str(body.get("userName") or ""))
    return NO_CONTENT


def remove_link(req: Request) -> Response:
    _, user = find_user(req, "manage-users")
    if user.federated.pop(req.params["provider"], None) is None:
        raise error(404, "Link not found")
    return NO_CONTENT


def user_groups(req: Request) -> Response:
    realm, user = find_user(req, "view-users")
    groups = sorted((realm.groups[g] for g in user.group_ids if g in realm.groups), key=lambda g: g.name)
    body: list[dict[str, Any]] = []
    for group in req.page(groups):  # no default limit
        rep = reps.group_rep(realm, group, ops.group_path(realm, group), sub_count=False)
        body.append({k: rep[k] for k in ("id", "name", "path", "parentId", "subGroups") if k in rep})
    return Response(200, body)


def join_group(req: Request) -> Response:
    realm, user = find_user(req, "manage-users")
    if req.params["group"] not in realm.groups:
        raise error(404, "Could not find group by id")
    user.group_ids.add(req.params["group"])
    return NO_CONTENT


def leave_group(req: Request) -> Response:
    realm, user = find_user(req, "manage-users")
    if req.params["group"] not in realm.groups:
        raise error(404, "Could not find group by id")
    user.group_ids.discard(req.params["group"])
    return NO_CONTENT


def get_profile(req: Request) -> Response:
    realm = req.realm()
    return Response(200, userprofile.normalised(userprofile.config(realm)))


def put_profile(req: Request) -> Response:
    """The realm's user profile replaced (26.7.3 answers 200 with the profile as stored)."""
    realm = req.realm("manage-realm")
    body = req.json_object()
    userprofile.check(body, req.body)
    profile = userprofile.normalised(body)
    userprofile.save(realm, profile)
    return Response(200, profile)


def profile_metadata(req: Request) -> Response:
    realm = req.realm("query-users", "view-users")
    return Response(200, userprofile.metadata(realm))


def register(router: Router) -> None:
    base = "/admin/realms/{realm}/users"
    # before `{id}`, which would take `profile` for a user id
    router.add("GET", base + "/profile", get_profile)
    router.add("PUT", base + "/profile", put_profile)
    router.add("GET", base + "/profile/metadata", profile_metadata)
    router.add("GET", base, list_users)
    router.add("POST", base, create_user)
    router.add("GET", base + "/count", count_users)
    router.add("GET", base + "/{id}", get_user)
    router.add("PUT", base + "/{id}", update_user)
    router.add("DELETE", base + "/{id}", delete_user)
    router.add("PUT", base + "/{id}/reset-password", reset_password)
    router.add("GET", base + "/{id}/unmanagedAttributes", unmanaged_attributes)
    router.add("GET", base + "/{id}/federated-identity", list_links)
    router.add("POST", base + "/{id}/federated-identity/{provider}", add_link)
    router.add("DELETE", base + "/{id}/federated-identity/{provider}", remove_link)
    router.add("GET", base + "/{id}/groups", user_groups)
    router.add("PUT", base + "/{id}/groups/{group}", join_group)
    router.add("DELETE", base + "/{id}/groups/{group}", leave_group)
