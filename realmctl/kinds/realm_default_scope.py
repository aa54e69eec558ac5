"""The realm's default and optional client scope lists (what new clients receive)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.calls import Call
from realmctl.kinds.base import Build, Context, LinkKind
from realmctl.kinds.client_scope import exportable_scope
from realmctl.kinds.inverse import RealmExport
from realmctl.live import Ids, Reader
from realmctl.plan import Change, Key, Resource

if TYPE_CHECKING:
    pass

PATHS = {"default": "default-default-client-scopes", "optional": "default-optional-client-scopes"}


class RealmDefaultScopeReads(Reader):
    """The realm's default and optional client scope lists (one listing each)."""

    def realm_default_scopes(self) -> list[dict[str, Any]]:
        return self._list("default-default", "default-default-client-scopes")

    def realm_optional_scopes(self) -> list[dict[str, Any]]:
        return self._list("default-optional", "default-optional-client-scopes")


#: A new realm's own default/optional scope lists (SEMANTICS §1.5): entries matching these are
#: Keycloak's, not the user's, and are exported only with --include-builtins.
BUILTIN_REALM_SCOPE_LISTS = {
    "default": frozenset(
        {
            "role_list",
            "saml_organization",
            "AuthnContextClassRef",  # new in 26.7
            "profile",
            "email",
            "roles",
            "web-origins",
            "acr",
            "basic",
        }
    ),
    "optional": frozenset({"offline_access", "address", "phone", "microprofile-jwt", "organization"}),
}


class RealmDefaultScopeKind(LinkKind):
    name = "realm-default-scope"
    title = "realm default client scope"
    reads = RealmDefaultScopeReads
    depends_on = ("client-scope",)
    export_as = "clientScopes"
    export_section = "defaultClientScopes"

    def describe(self, key: Key) -> str:
        return f"realm client scope {key[0]} (default/optional)"

    def export(self, ex: RealmExport) -> None:
        """The realm's default and optional scope lists (Keycloak's own entries only with --include-builtins)."""
        if "clientScopes" not in ex.kinds:
            return
        lists = {"default": ex.state.realm_default_scopes(), "optional": ex.state.realm_optional_scopes()}
        for kind, scopes in lists.items():
            names = sorted(
                s["name"]
                for s in scopes
                if exportable_scope(ex, s["name"]) and (ex.builtins or s["name"] not in BUILTIN_REALM_SCOPE_LISTS[kind])
            )
            if names:
                ex.spec[f"{kind}ClientScopes"] = names

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
