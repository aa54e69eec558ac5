"""Top-level groups declared in the spec (targets of role grants and memberships)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.calls import Call, Find
from realmctl.kinds.base import Build, Context, Kind, is_owned
from realmctl.kinds.inverse import RealmExport
from realmctl.live import OWNED_MARKER, Reader
from realmctl.plan import Change, Live, Resource

if TYPE_CHECKING:
    pass


class GroupReads(Reader):
    """The realm's top-level groups (one listing, with their roles) and ids by name."""

    def groups(self) -> list[dict[str, Any]]:
        return self._list("groups", "groups", briefRepresentation="false")

    def group(self, name: str) -> dict[str, Any] | None:
        return next((g for g in self.groups() if g.get("name") == name), None)

    def group_id(self, name: str) -> str | None:
        found = self.group(name)
        return found["id"] if found else None


def exported_groups(ex: RealmExport) -> list[dict[str, Any]]:
    """The top-level groups this export declares (sorted by name)."""
    if "groups" not in ex.kinds:
        return []
    return sorted(ex.state.groups(), key=lambda g: g["name"])


def undeclared_groups(ctx: Context, names: set[str]) -> set[str]:
    """Of the group names the spec refers to (memberships, grants), those it does not declare
    under `groups`: they must already exist on the server. Reads the group listing (for `prepare`)
    only when there are such names."""
    undeclared = names - set(ctx.realm_spec.get("groups") or [])
    if undeclared:
        ctx.state.groups()
    return undeclared


def missing_groups(ctx: Context, names: set[str]) -> set[str]:
    """Group names the spec refers to that are neither declared nor on the server (a plan error:
    the membership or grant would fail halfway through apply)."""
    return {name for name in names - set(ctx.realm_spec.get("groups") or []) if ctx.state.group(name) is None}


class GroupKind(Kind):
    name = "group"
    title = "group"
    reads = GroupReads
    depends_on = ("realm",)
    export_as = "groups"
    export_section = "groups"

    def export(self, ex: RealmExport) -> None:
        """The top-level group names (subgroups are noted, not exported)."""
        groups = exported_groups(ex)
        if groups:
            ex.spec["groups"] = [g["name"] for g in groups]
        nested = [g["name"] for g in groups if g.get("subGroupCount") or g.get("subGroups")]
        if nested:
            ex.note(f"subgroups of {', '.join(nested)} are not exported (the spec declares top-level groups)")

    def desired(self, ctx: Context) -> list[Resource]:
        return [
            ctx.resource(self.name, (g,), {}, "groups", i) for i, g in enumerate(ctx.realm_spec.get("groups") or [])
        ]

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        names = {r.key[0] for r in wanted}
        return [
            Live((g["name"],), {}, id=g["id"], owned=is_owned(g.get("attributes")), raw=g)
            for g in ctx.state.groups()
            if g["name"] in names or is_owned(g.get("attributes"))
        ]

    def calls(self, change: Change, b: Build) -> list[Call]:
        base, name = b.base(change.realm), change.key[0]
        if change.action == "delete":
            assert change.live
            return [Call("DELETE", (base, "groups", change.live.id))]
        assert change.action == "create", "groups have no managed fields"
        find = Find((base, "groups"), {"search": name, "exact": "true", "briefRepresentation": "true"}, value=name)
        body = {"name": name, "attributes": {OWNED_MARKER: ["true"]}}
        return [Call("POST", (base, "groups"), body, sets=("group", change.realm, name), find=find)]
