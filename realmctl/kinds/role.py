"""Roles declared in the spec: realm roles (container "realm") and client roles of declared clients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.calls import Call, Find, Ref
from realmctl.keycloak.session import seg
from realmctl.kinds.base import Build, Context, Kind, is_owned
from realmctl.kinds.client import ClientReads
from realmctl.kinds.inverse import RealmExport, roles_section
from realmctl.live import OWNED_MARKER
from realmctl.plan import Change, Live, Resource
from realmctl.spec.builtins import BUILTIN_CLIENT_ROLES, builtin_realm_roles

if TYPE_CHECKING:
    pass


def declared_roles(spec: Any) -> dict[str, dict[str, Any]]:
    """A `roles` entry as name -> {description?}, whether written as a list or a map."""
    if isinstance(spec, list):
        return {name: {} for name in spec}
    return {name: dict(value or {}) for name, value in (spec or {}).items()}


def undeclared_realm_roles(ctx: Context, names: set[str]) -> set[str]:
    """Of the realm roles the spec refers to (role scopes, grants), those it neither declares under
    `roles` nor gets built in: they must already exist on the server. Reads the realm's roles (for
    `prepare`) only when there are such names."""
    undeclared = names - set(declared_roles(ctx.realm_spec.get("roles"))) - builtin_realm_roles(ctx.realm)
    if undeclared:
        ctx.state.realm_roles()
    return undeclared


def missing_realm_role_errors(ctx: Context, resources: list[Resource], what: str) -> None:
    """A plan error per resource whose realm role (key: ..., "realm", role) is neither declared,
    built in, nor on the server: its call would fail halfway through apply."""
    names = {r.key[-1] for r in resources if r.key[-2] == "realm"}
    missing = {n for n in undeclared_realm_roles(ctx, names) if ctx.state.role("realm", n) is None}
    for resource in resources:
        if resource.key[-2] == "realm" and resource.key[-1] in missing:
            where = f"{resource.position}: " if resource.position else ""
            ctx.errors.append(
                f"{where}{what} names realm role {resource.key[-1]!r} in realm {ctx.realm!r}, which is neither "
                "declared under `roles` nor present on the server (declare it under `roles`)"
            )


class RoleReads(ClientReads):
    """Realm roles and a client's roles (one listing each), and the role (un)mapping call that scope
    mappings and role grants share (Keycloak needs the role's id and name)."""

    def realm_roles(self) -> list[dict[str, Any]]:
        return self._list("roles", "roles", briefRepresentation="false")

    def client_roles(self, client_id: str) -> list[dict[str, Any]]:
        uuid = self.client_uuid(client_id)
        if uuid is None:
            return []
        return self._once(
            ("client-roles", client_id),
            lambda: self.api.get(f"{self.base}/clients/{uuid}/roles", briefRepresentation="false") or [],
        )

    def role(self, container: str, name: str) -> dict[str, Any] | None:
        """A realm role (container "realm") or a client role (container = clientId)."""
        if container != "realm" and ("client-roles", container) not in self._cache:
            noted: dict[str, Any] | None = self._cache.get(("role-ref", container, name))
            if noted is not None:  # seen mapped in a read made anyway: no listing of the client's roles
                return noted
        roles = self.realm_roles() if container == "realm" else self.client_roles(container)
        return next((r for r in roles if r.get("name") == name), None)

    def note_role(self, container: str, name: str, ref: dict[str, Any]) -> None:
        """The id of a client role seen in another read (a role scope's mappings), for `role`."""
        with self._lock:
            self._cache[("role-ref", container, name)] = ref


class RoleKind(Kind):
    name = "role"
    title = "role"
    reads = RoleReads
    depends_on = ("client",)
    export_as = "roles"
    export_section = "roles"
    # Recorded (with the role's id) so that the roles of clients that no longer declare any need no
    # read to find; ownership itself is the marker attribute on the role, which Keycloak keeps.
    recorded = True

    def describe(self, key: tuple[str, ...]) -> str:
        return f"realm role {key[1]}" if key[0] == "realm" else f"client role {key[0]}/{key[1]}"

    def export(self, ex: RealmExport) -> None:
        """The realm roles, with their descriptions (composites are noted, not exported)."""
        if "roles" not in ex.kinds:
            return
        builtin = builtin_realm_roles(ex.realm)
        roles = [r for r in ex.state.realm_roles() if ex.builtins or r["name"] not in builtin]
        composite = sorted(r["name"] for r in roles if r.get("composite"))
        if composite:
            ex.note(f"realm role(s) {', '.join(composite)} are composite; their composites are not exported")
        if roles:
            ex.spec["roles"] = roles_section(roles)

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

    def _base(self, b: Build, realm: str, container: str) -> tuple[Any, ...]:
        if container == "realm":
            return (b.base(realm), "roles")
        return (b.base(realm), "clients", b.client(realm, container), "roles")

    def record_ids(self, change: Change, b: Build) -> tuple[Any, ...] | None:
        return (Ref(("role", change.realm, *change.key), ("id",)),)

    def calls(self, change: Change, b: Build) -> list[Call]:
        container, name = change.key
        base = self._base(b, change.realm, container)
        if change.action == "delete":
            return [Call("DELETE", (*base, seg(name)))]
        assert change.resource
        if change.action == "create":
            body = {"name": name, **change.resource.fields, "attributes": {OWNED_MARKER: ["true"]}}
            find = Find((*base, seg(name)), field=None)
            # The Location names the role, not its id, which role mappings need: read it back.
            read = Call("GET", (*base, seg(name)), sets=("role", change.realm, container, name))
            return [Call("POST", base, body, find=find), read]
        assert change.live
        return [Call("PUT", (*base, seg(name)), {**change.live.raw, **change.resource.fields})]

    def builtin(self, realm: str, key: tuple[str, ...]) -> bool:
        if key[0] == "realm":
            return key[1] in builtin_realm_roles(realm)
        return key[1] in BUILTIN_CLIENT_ROLES.get(key[0], frozenset())
