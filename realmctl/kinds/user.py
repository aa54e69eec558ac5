"""Users declared in the spec: ensured to exist; an initial password only when realmctl creates one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from realmctl.calls import Call, Find
from realmctl.kinds.base import Build, Context, Kind, is_owned
from realmctl.kinds.convert import lower, pick
from realmctl.kinds.inverse import RealmExport, clean_map
from realmctl.live import OWNED_MARKER, USER_PAGE, Reader
from realmctl.plan import Change, FieldChange, Live, Resource
from realmctl.planned import PlannedView

if TYPE_CHECKING:
    pass

FIELDS = {f: f for f in ("email", "firstName", "lastName", "enabled", "emailVerified")}


def _attributes(spec: dict[str, Any]) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in (spec.get("attributes") or {}).items()}


class UserReads(Reader):
    """Users by username: one listing when the realm is small compared with the names asked, else
    one exact search per name; and the users carrying realmctl's marker."""

    def users(self, usernames: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Users by (lower-cased) username, for the names asked: one listing when the realm is
        small compared with the names asked, else one exact search per name."""
        wanted = sorted({u.lower() for u in usernames})
        if not wanted or self.realm_rep() is None:
            return {}
        with self._users_lock:
            return self._users(wanted)

    def _users(self, wanted: list[str]) -> dict[str, dict[str, Any]]:
        with self._lock:
            known: dict[str, dict[str, Any]] = self._cache.setdefault("users", {})
            missing = [u for u in wanted if u not in known and ("user-miss", u) not in self._cache]
        if missing:
            # Listing costs one request per page; searching, one per name. Take the cheaper, but never
            # list a realm so large that holding it would be the problem. A first page that comes
            # back short is the whole realm: no count needed (one request where count + page were two).
            listing = self._list_users(len(missing)) if len(missing) > 1 else None
            if listing is not None:
                for user in listing:
                    known[lower(user["username"])] = user
                for name in missing:  # only the names not found: a marker per user was ~2 MB at 5x L
                    if name not in known:
                        self._cache.setdefault(("user-miss", name), True)
            else:

                def search(name: str) -> None:
                    found = self.api.get(f"{self.base}/users", username=name, exact="true")
                    with self._lock:
                        if found:
                            known[name] = found[0]
                        else:
                            self._cache[("user-miss", name)] = True

                self.fanout(search, missing)
        return {u: known[u] for u in wanted if u in known}

    def _list_users(self, missing: int) -> list[dict[str, Any]] | None:
        """Every user of the realm (cached as "all-users"), or None where searching the `missing`
        names one by one is cheaper: the realm fills more pages than there are names to find, or
        holds more than 50,000 users (holding it would be the problem)."""
        path = f"{self.base}/users"
        first: list[dict[str, Any]] = self._once(
            "users-page-0", lambda: self.api.get(path, first=0, max=USER_PAGE) or []
        )
        if len(first) < USER_PAGE:
            return self._once("all-users", lambda: first)
        total = self._once("users-count", lambda: int(self.api.get(f"{path}/count") or 0))
        if total // USER_PAGE + 1 >= missing or total > 50_000:
            return None

        def rest() -> list[dict[str, Any]]:
            users, offset = list(first), USER_PAGE
            while True:
                batch = self.api.get(path, first=offset, max=USER_PAGE) or []
                users.extend(batch)
                if len(batch) < USER_PAGE:
                    return users
                offset += USER_PAGE

        return self._once("all-users", rest)

    def owned_users(self) -> list[dict[str, Any]]:
        """Users carrying realmctl's marker (one attribute search), so that owned users who left
        the spec can be found without listing the realm."""
        if self.realm_rep() is None:
            return []
        with self._lock:
            listed = self._cache.get("all-users")
        if listed is not None:  # the whole realm was listed already: filter it, do not ask again
            return [u for u in listed if "true" in ((u.get("attributes") or {}).get(OWNED_MARKER) or [])]
        path = f"{self.base}/users"
        return self._once("owned-users", lambda: self.api.get_all(path, page=USER_PAGE, q=f"{OWNED_MARKER}:true"))

    def user_id(self, username: str) -> str | None:
        name = username.lower()
        found = self.users([name]).get(name)
        return found["id"] if found else None

    def all_users(self) -> list[dict[str, Any]]:
        """Every user of the realm, in full: the one listing only `export --kinds users` needs."""
        if self.realm_rep() is None:
            return []
        path = f"{self.base}/users"
        return self._once("export-users", lambda: self.api.get_all(path, briefRepresentation="false"))


def exported_users(ex: RealmExport) -> list[dict[str, Any]]:
    """The users this export declares; service-account users belong to their client.

    Without the users kind, the users realmctl itself created are still exported: they are in
    its record of what it owns, so a spec without them would plan their deletion."""
    if "users" not in ex.kinds:
        owned = {key[0].lower() for key in ex.state.recorded("user") if key}
        if not owned:
            return []
        found = ex.state.users(owned)
        return sorted(found.values(), key=lambda u: u["username"])
    people = [u for u in ex.state.all_users() if not u.get("serviceAccountClientId")]
    return sorted(people, key=lambda u: u["username"])


class UserKind(Kind):
    name = "user"
    title = "user"
    reads = UserReads
    # The realm's user profile policy is set before users are written, or their attributes are dropped.
    depends_on = ("realm", "user-profile")
    export_as = "users"
    export_default = False
    export_section = "users"
    # Keycloak 24+ discards unknown user attributes by default (user profile, unmanagedAttributePolicy
    # DISABLED), so the `realmctl.managed` marker may not survive on a real server: the realm's
    # record says which users realmctl created, by username and id (a namesake made by hand after
    # a deletion has another id, and is not realmctl's).
    recorded = True

    def export(self, ex: RealmExport) -> None:
        """The users with their fields, attributes and top-level group memberships."""
        users = exported_users(ex)
        if not users:
            return
        # Memberships belong to the user: read from every top-level group, exported or not.
        members: dict[str, list[str]] = defaultdict(list)
        for group in ex.state.groups():
            for member in ex.state.group_members(group["name"]):
                members[member["username"].lower()].append(group["name"])
        out: dict[str, Any] = {}
        for user in users:
            entry: dict[str, Any] = {}
            for name in FIELDS:
                if user.get(name) not in (None, ""):
                    entry[name] = user[name]
            attributes: dict[str, Any] = {}
            for name, value in clean_map(user.get("attributes")).items():
                values = list(dict.fromkeys(v for v in (value if isinstance(value, list) else [value]) if v))
                if values:
                    attributes[name] = values[0] if len(values) == 1 else values
            if attributes:
                entry["attributes"] = dict(sorted(attributes.items()))
            if members.get(user["username"].lower()):
                entry["groups"] = sorted(members[user["username"].lower()])
            out[user["username"]] = entry
        ex.spec["users"] = out

    def desired(self, ctx: Context) -> list[Resource]:
        out = []
        seen: dict[str, str] = {}
        for username, spec in (ctx.realm_spec.get("users") or {}).items():
            if username.lower() in seen:
                ctx.errors.append(
                    f"users {seen[username.lower()]!r} and {username!r} in realm {ctx.realm!r} are the same user: "
                    "Keycloak usernames are case-insensitive"
                )
                continue
            seen[username.lower()] = username
            fields = pick(spec, FIELDS)
            if "email" in fields:  # Keycloak stores e-mail addresses in lower case
                fields["email"] = lower(fields["email"])
            if spec.get("attributes"):
                fields["attributes"] = _attributes(spec)
            resource = ctx.resource(self.name, (lower(username),), fields, "users", username)
            if "initialPassword" in spec:
                resource.secrets = {**resource.secrets, "initialPassword": spec["initialPassword"]}
            out.append(resource)
        return out

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        recorded = {key[0] for key in ctx.state.recorded(self.name)}
        found = ctx.state.users([r.key[0] for r in wanted] + sorted(recorded))
        for user in ctx.state.owned_users():
            found.setdefault(user["username"].lower(), user)
        for name in recorded - found.keys():
            ctx.state.owns(self.name, (name,), None)  # gone: the record's entry is dropped
        out = []
        for name, user in found.items():
            owned = name in recorded and ctx.state.owns(self.name, (name,), (user["id"],))
            owned = owned or is_owned(user.get("attributes"))
            out.append(Live((name,), user, id=user["id"], owned=owned, raw=user))
        return out

    def compare(self, resource: Resource, live: Live) -> list[FieldChange]:
        # The initial password is set once, at creation; later changes belong to the user.
        return [c for c in super().compare(resource, live) if not c.sensitive]

    def record_ids(self, change: Change, b: Build) -> tuple[Any, ...] | None:
        return (b.user_ref(change.realm, change.key[0]),)

    def calls(self, change: Change, b: Build) -> list[Call]:
        base, username = b.base(change.realm), change.key[0]
        if change.action == "delete":
            assert change.live
            return [Call("DELETE", (base, "users", change.live.id))]
        assert change.resource
        fields = change.resource.fields
        if change.action == "create":  # builds new dicts; the resource's fields are left as they are
            body: dict[str, Any] = {"username": username, "enabled": True, **fields}
            declared = fields.get("attributes")
            # A user without declared attributes sends the marker alone: one dict for all of them
            # (12,500 at 5x L). Bodies are never changed once built; the executor sends a copy.
            body["attributes"] = {**declared, OWNED_MARKER: ["true"]} if declared else b.once(("owned-only",), _marker)
            if "initialPassword" in change.resource.secrets:
                password = change.resource.secrets["initialPassword"]
                body["credentials"] = [{"type": "password", "value": password, "temporary": False}]
            users = b.once(("users-path", change.realm), lambda: (base, "users"))
            find = Find(users, {"username": username, "exact": "true"}, field="username", value=username)
            made = b.user_ref(change.realm, username).of
            return [Call("POST", users, body, sets=made, find=find)]
        assert change.live
        fields = dict(fields)
        if "attributes" in fields:
            fields["attributes"] = {**(change.live.raw.get("attributes") or {}), **fields["attributes"]}
        return [Call("PUT", (base, "users", change.live.id), {**change.live.raw, **fields})]

    def simulate(self, view: PlannedView, change: Change) -> None:
        if change.action == "create":
            view.new_users.add(change.key[0].lower())
            view.touched = True


def _marker() -> dict[str, Any]:
    """The attributes a new user without declared ones is created with: realmctl's marker."""
    return {OWNED_MARKER: ["true"]}
