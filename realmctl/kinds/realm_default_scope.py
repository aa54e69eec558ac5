"""The realm's default and optional client scope lists (what new clients receive)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.keycloak.session import ApiError
from realmctl.kinds.base import Context, LinkKind
from realmctl.live import Ids, Reader
from realmctl.plan import Change, Key, Resource

if TYPE_CHECKING:
    from realmctl.kinds import RealmState

PATHS = {"default": "default-default-client-scopes", "optional": "default-optional-client-scopes"}


class RealmDefaultScopeReads(Reader):
    """The realm's default and optional client scope lists (one listing each)."""

    def realm_default_scopes(self) -> list[dict[str, Any]]:
        return self._list("default-default", "default-default-client-scopes")

    def realm_optional_scopes(self) -> list[dict[str, Any]]:
        return self._list("default-optional", "default-optional-client-scopes")


class RealmDefaultScopeKind(LinkKind):
    name = "realm-default-scope"
    title = "realm default client scope"
    reads = RealmDefaultScopeReads
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

    def create(self, state: RealmState, change: Change) -> None:
        assert change.resource
        kind = change.resource.fields["type"]
        scope = state.scope_id(change.key[0])
        try:
            state.api.put(f"{state.base}/{PATHS[kind]}/{scope}", None)
        except ApiError as exc:
            if exc.status != 409:  # 409: already in that list (a retried PUT, or a concurrent run)
                raise
        if scope:
            self.created(state, change.key, (scope,))

    def update(self, state: RealmState, change: Change) -> None:
        # Keycloak answers 409 when a scope already in one list is PUT into the other: move it.
        self.delete(state, change)
        self.create(state, change)

    def delete(self, state: RealmState, change: Change) -> None:
        # The same DELETE removes the realm mapping of either kind (SEMANTICS §2.2).
        state.api.delete(f"{state.base}/{PATHS['default']}/{state.scope_id(change.key[0])}")
