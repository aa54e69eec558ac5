"""Roles declared in the spec: realm roles (container "realm") and client roles of declared clients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.keycloak.session import seg
from realmctl.kinds.base import Context, Kind, is_owned
from realmctl.live import OWNED_MARKER
from realmctl.plan import Change, Live, Resource
from realmctl.spec.builtins import BUILTIN_CLIENT_ROLES, builtin_realm_roles

if TYPE_CHECKING:
    from realmctl.kinds import RealmState


def declared_roles(spec: Any) -> dict[str, dict[str, Any]]:
    """A `roles` entry as name -> {description?}, whether written as a list or a map."""
    if isinstance(spec, list):
        return {name: {} for name in spec}
    return {name: dict(value or {}) for name, value in (spec or {}).items()}


class RoleKind(Kind):
    name = "role"
    title = "role"
    depends_on = ("client",)
    # Recorded (with the role's id) so that the roles of clients that no longer declare any need no
    # read to find; ownership itself is the marker attribute on the role, which Keycloak keeps.
    recorded = True

    def describe(self, key: tuple[str, ...]) -> str:
        return f"realm role {key[1]}" if key[0] == "realm" else f"client role {key[0]}/{key[1]}"

    def desired(self, ctx: Context) -> list[Resource]:
        out = []
        for name, spec in declared_roles(ctx.realm_spec.get("roles")).items():
            out.append(ctx.resource(self.name, ("realm", name), spec, "roles", name))
        for client_id, client in (ctx.realm_spec.get("clients") or {}).items():
            for name, spec in declared_roles(client.get("roles")).items():
                out.append(ctx.resource(self.name, (client_id, name), spec, "clients", client_id, "roles", name))
        return out

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        keys = {r.key for r in wanted}
        recorded = ctx.state.recorded(self.name)
        containers = {"realm"} | {k[0] for k in keys} | {k[0] for k in recorded}
        out = []
        for container in sorted(containers):
            if container != "realm" and ctx.state.client_uuid(container) is None:
                continue
            roles = ctx.state.realm_roles() if container == "realm" else ctx.state.client_roles(container)
            for role in roles:
                key = (container, role["name"])
                if key in keys or is_owned(role.get("attributes")):
                    fields = {"description": role.get("description")}
                    out.append(Live(key, fields, id=role.get("id"), owned=is_owned(role.get("attributes")), raw=role))
        mine = {live.key: live.id for live in out if live.owned and live.id}
        for entry in recorded:  # entries of roles that are gone, or re-made by hand, are dropped
            ctx.state.locate(self.name, entry, (mine[entry],) if entry in mine else None)
        return out

    def _base(self, state: RealmState, container: str) -> str:
        if container == "realm":
            return f"{state.base}/roles"
        return f"{state.base}/clients/{state.client_uuid(container)}/roles"

    def create(self, state: RealmState, change: Change) -> None:
        assert change.resource
        container, name = change.key
        body = {"name": name, **change.resource.fields, "attributes": {OWNED_MARKER: ["true"]}}
        base = self._base(state, container)
        state.api.create(base, body, lambda: (state.api.get_or_none(f"{base}/{seg(name)}") or {}).get("id"))
        created = state.api.get(f"{base}/{seg(name)}")  # the Location names the role, not its id
        state.created_ids[("role", container, name)] = created["id"]
        self.created(state, change.key, (created["id"],))

    def update(self, state: RealmState, change: Change) -> None:
        assert change.resource and change.live
        body = {**change.live.raw, **change.resource.fields}
        state.api.put(f"{self._base(state, change.key[0])}/{seg(change.key[1])}", body)

    def delete(self, state: RealmState, change: Change) -> None:
        state.api.delete(f"{self._base(state, change.key[0])}/{seg(change.key[1])}")

    def builtin(self, realm: str, key: tuple[str, ...]) -> bool:
        if key[0] == "realm":
            return key[1] in builtin_realm_roles(realm)
        return key[1] in BUILTIN_CLIENT_ROLES.get(key[0], frozenset())
