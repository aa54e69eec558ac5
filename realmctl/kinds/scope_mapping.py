"""Role scope mappings of client scopes and clients (`roleScope` in the spec).

For a client with fullScopeAllowed=false these decide which of a user's roles reach its tokens:
without one for broker/read-token the broker token endpoint answers 403 (SEMANTICS §5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.kinds.base import Context, LinkKind
from realmctl.kinds.client import ClientReads
from realmctl.kinds.client_scope import ClientScopeReads
from realmctl.live import Ids, mapped_id, mapped_names
from realmctl.plan import Change, Key, Resource
from realmctl.planned import PlannedView

if TYPE_CHECKING:
    from realmctl.kinds import RealmState

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
        if oid is None or (("client-scope" if owner == "scope" else "client"), name) in self.created_ids:
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

    def desired(self, ctx: Context) -> list[Resource]:
        out = []
        for owner, (section, _) in OWNERS.items():
            for name, spec in (ctx.realm_spec.get(section) or {}).items():
                for container, role in role_refs(spec.get("roleScope")):
                    out.append(ctx.resource(self.name, (owner, name, container, role), {}, section, name, "roleScope"))
        return out

    def present(self, ctx: Context, key: Key) -> dict[str, Any] | None:
        owner, name, container, role = key
        return {} if role in mapped_names(ctx.state.scope_mappings(owner, name), container) else None

    def live_ids(self, ctx: Context, key: Key) -> Ids | None:
        owner, name, container, role = key
        oid = ctx.state.scope_id(name) if owner == "scope" else ctx.state.client_uuid(name)
        rid = mapped_id(ctx.state.scope_mappings(owner, name), container, role)
        return (oid, rid) if oid and rid else None

    def _call(self, state: RealmState, change: Change, method: str) -> Ids | None:
        owner, name, container, role = change.key
        oid = state.scope_id(name) if owner == "scope" else state.client_uuid(name)
        rid = state.map_role(f"{OWNERS[owner][1]}/{oid}/scope-mappings", container, role, add=method == "POST")
        return (oid, rid) if oid and rid else None

    def create(self, state: RealmState, change: Change) -> None:
        ids = self._call(state, change, "POST")
        if ids:
            self.created(state, change.key, ids)

    def delete(self, state: RealmState, change: Change) -> None:
        self._call(state, change, "DELETE")

    def simulate(self, view: PlannedView, change: Change) -> None:
        owner, name, container, role = change.key
        view.map_role(owner, name, container, role, add=change.action != "delete")
