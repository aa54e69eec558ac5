"""Role scope mappings of client scopes and clients (`roleScope` in the spec).

For a client with fullScopeAllowed=false these decide which of a user's roles reach its tokens:
without one for broker/read-token the broker token endpoint answers 403 (SEMANTICS §5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.calls import Call
from realmctl.kinds.base import Build, Context, LinkKind, read_role
from realmctl.kinds.client import ClientReads
from realmctl.kinds.client_scope import ClientScopeReads
from realmctl.kinds.role import missing_realm_role_errors, undeclared_realm_roles
from realmctl.live import Ids, mapped_id, mapped_names
from realmctl.plan import Change, Key, Resource
from realmctl.planned import PlannedView

if TYPE_CHECKING:
    pass

OWNERS = {"scope": ("clientScopes", "client-scopes"), "client": ("clients", "clients")}


def role_refs(refs: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(container, role) pairs of a roleScope / grant entry."""
    refs = refs or {}
    pairs = [("realm", r) for r in refs.get("realm") or []]
    for client, roles in (refs.get("clients") or {}).items():
        pairs.extend((client, r) for r in roles)
    return pairs


class ScopeMappingReads(ClientScopeReads, ClientReads):
    """The role scope mappings of a client scope or a client (one read per owner)."""

    def scope_mappings(self, owner: str, name: str) -> dict[str, Any]:
        """Role scope mappings of a client scope (owner "scope") or a client (owner "client")."""
        oid = self.scope_id(name) if owner == "scope" else self.client_uuid(name)
        if oid is None:
            return {}
        what = "client-scopes" if owner == "scope" else "clients"
        return self._once(
            ("scope-mappings", owner, name),
            lambda: self.api.get(f"{self.base}/{what}/{oid}/scope-mappings") or {},
        )


class ScopeMappingKind(LinkKind):
    name = "scope-mapping"
    title = "role scope mapping"
    reads = ScopeMappingReads
    depends_on = ("client", "client-scope", "role")

    def describe(self, key: Key) -> str:
        owner = "client scope" if key[0] == "scope" else "client"
        role = key[3] if key[2] == "realm" else f"{key[2]}/{key[3]}"
        return f"role {role} in the scope of {owner} {key[1]}"

    def prepare(self, ctx: Context) -> None:
        """The realm's roles, when a role scope names a realm role the spec does not declare."""
        names = {
            role
            for section, _ in OWNERS.values()
            for spec in (ctx.realm_spec.get(section) or {}).values()
            for container, role in role_refs((spec or {}).get("roleScope"))
            if container == "realm"
        }
        undeclared_realm_roles(ctx, names)

    def desired(self, ctx: Context) -> list[Resource]:
        out = []
        for owner, (section, _) in OWNERS.items():
            for name, spec in (ctx.realm_spec.get(section) or {}).items():
                for container, role in role_refs(spec.get("roleScope")):
                    out.append(ctx.resource(self.name, (owner, name, container, role), {}, section, name, "roleScope"))
        missing_realm_role_errors(ctx, out, "a role scope")
        return out

    def present(self, ctx: Context, key: Key) -> dict[str, Any] | None:
        owner, name, container, role = key
        return {} if role in mapped_names(ctx.state.scope_mappings(owner, name), container) else None

    def live_ids(self, ctx: Context, key: Key) -> Ids | None:
        owner, name, container, role = key
        oid = ctx.state.scope_id(name) if owner == "scope" else ctx.state.client_uuid(name)
        rid = mapped_id(ctx.state.scope_mappings(owner, name), container, role)
        return (oid, rid) if oid and rid else None

    def read_for_calls(self, ctx: Context, creates: list[Key], deletes: list[Key]) -> None:
        for key in creates:  # a delete takes the role's id from the scope mappings `present` read
            read_role(ctx, key[2], key[3])

    def _path(self, change: Change, b: Build) -> tuple[Any, ...]:
        owner, name, container, _ = change.key
        oid = b.scope(change.realm, name) if owner == "scope" else b.client(change.realm, name)
        tail = ("realm",) if container == "realm" else ("clients", b.client(change.realm, container))
        return (b.base(change.realm), OWNERS[owner][1], oid, "scope-mappings", *tail)

    def record_ids(self, change: Change, b: Build) -> tuple[Any, ...] | None:
        owner, name, container, role = change.key
        oid = b.scope(change.realm, name) if owner == "scope" else b.client(change.realm, name)
        return (oid, b.role(change.realm, container, role))

    def calls(self, change: Change, b: Build) -> list[Call]:
        """Keycloak needs the role's id and name; mapping a role twice is harmless (retried)."""
        owner, name, container, role = change.key
        rid: Any = None
        if change.action == "delete":
            state = b.state(change.realm)
            rid = mapped_id(state.scope_mappings(owner, name), container, role)
        body = [{"id": rid or b.role(change.realm, container, role), "name": role}]
        if change.action == "delete":
            return [Call("DELETE", self._path(change, b), body)]
        return [Call("POST", self._path(change, b), body, idempotent=True)]

    def simulate(self, view: PlannedView, change: Change) -> None:
        owner, name, container, role = change.key
        view.map_role(owner, name, container, role, add=change.action != "delete")
