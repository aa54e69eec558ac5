"""The realm's default and optional client scope lists (what new clients receive)."""

from typing import Any

from realmctl.calls import Call
from realmctl.kinds.base import Build, Context, LinkKind
from realmctl.live import Ids
from realmctl.plan import Change, Key, Resource

PATHS = {"default": "default-default-client-scopes", "optional": "default-optional-client-scopes"}


class RealmDefaultScopeKind(LinkKind):
    name = "realm-default-scope"
    title = "realm default client scope"
    depends_on = ("client-scope",)

    def describe(self, key: Key) -> str:
        return f"realm client scope {key[0]} (default/optional)"

    def desired(self, ctx: Context) -> list[Resource]:
        out = []
        for kind, field in (("default", "defaultClientScopes"), ("optional", "optionalClientScopes")):
            for i, scope in enumerate(ctx.realm_spec.get(field) or []):
                out.append(ctx.resource(self.name, (scope,), {"type": kind}, field, i))
        return out

    def present(self, ctx: Context, key: Key) -> dict[str, Any] | None:
        if any(s.get("name") == key[0] for s in ctx.state.realm_default_scopes()):
            return {"type": "default"}
        if any(s.get("name") == key[0] for s in ctx.state.realm_optional_scopes()):
            return {"type": "optional"}
        return None

    def live_ids(self, ctx: Context, key: Key) -> Ids | None:
        listed = [*ctx.state.realm_default_scopes(), *ctx.state.realm_optional_scopes()]
        found = next((s.get("id") for s in listed if s.get("name") == key[0]), None)
        return (found,) if found else None

    def record_ids(self, change: Change, b: Build) -> tuple[Any, ...] | None:
        return (b.scope(change.realm, change.key[0]),)

    def calls(self, change: Change, b: Build) -> list[Call]:
        base, scope = b.base(change.realm), b.scope(change.realm, change.key[0])
        # The same DELETE removes the realm mapping of either kind (SEMANTICS §2.2).
        remove = Call("DELETE", (base, PATHS["default"], scope))
        if change.action == "delete":
            return [remove]
        assert change.resource
        # 409: already in that list (a retried PUT, or a concurrent run).
        add = Call("PUT", (base, PATHS[change.resource.fields["type"]], scope), ok=(409,))
        # Keycloak answers 409 when a scope already in one list is PUT into the other: move it.
        return [add] if change.action == "create" else [remove, add]
