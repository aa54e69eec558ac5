"""Users declared in the spec: ensured to exist; an initial password only when realmctl creates one."""

from typing import Any

from realmctl.calls import Call, Find, Ref
from realmctl.kinds.base import Build, Context, Kind, is_owned
from realmctl.kinds.convert import pick
from realmctl.live import OWNED_MARKER
from realmctl.plan import Change, FieldChange, Live, Resource
from realmctl.planned import PlannedView

FIELDS = {f: f for f in ("email", "firstName", "lastName", "enabled", "emailVerified")}


def _attributes(spec: dict[str, Any]) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in (spec.get("attributes") or {}).items()}


class UserKind(Kind):
    name = "user"
    title = "user"
    depends_on = ("realm",)
    # Keycloak 24+ discards unknown user attributes by default (user profile, unmanagedAttributePolicy
    # DISABLED), so the `realmctl.managed` marker may not survive on a real server: the realm's
    # record says which users realmctl created, by username and id (a namesake made by hand after
    # a deletion has another id, and is not realmctl's).
    recorded = True

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
                fields["email"] = fields["email"].lower()
            if spec.get("attributes"):
                fields["attributes"] = _attributes(spec)
            resource = ctx.resource(self.name, (username.lower(),), fields, "users", username)
            if "initialPassword" in spec:
                resource.secrets["initialPassword"] = spec["initialPassword"]
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
        return (Ref(("user", change.realm, change.key[0])),)

    def calls(self, change: Change, b: Build) -> list[Call]:
        base, username = b.base(change.realm), change.key[0]
        if change.action == "delete":
            assert change.live
            return [Call("DELETE", (base, "users", change.live.id))]
        assert change.resource
        fields = dict(change.resource.fields)
        if change.action == "create":
            body: dict[str, Any] = {"username": username, "enabled": True, **fields}
            body["attributes"] = {**fields.get("attributes", {}), OWNED_MARKER: ["true"]}
            if "initialPassword" in change.resource.secrets:
                password = change.resource.secrets["initialPassword"]
                body["credentials"] = [{"type": "password", "value": password, "temporary": False}]
            find = Find((base, "users"), {"username": username, "exact": "true"}, field="username", value=username)
            return [Call("POST", (base, "users"), body, sets=("user", change.realm, username), find=find)]
        assert change.live
        if "attributes" in fields:
            fields["attributes"] = {**(change.live.raw.get("attributes") or {}), **fields["attributes"]}
        return [Call("PUT", (base, "users", change.live.id), {**change.live.raw, **fields})]

    def simulate(self, view: PlannedView, change: Change) -> None:
        if change.action == "create":
            view.new_users.add(change.key[0].lower())
            view.touched = True
