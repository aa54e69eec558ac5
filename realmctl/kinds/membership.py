"""Group memberships of declared users (`users.<name>.groups`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.calls import Call
from realmctl.kinds.base import Build, Context, LinkKind
from realmctl.kinds.group import GroupReads, missing_groups, undeclared_groups
from realmctl.live import USER_PAGE, Ids
from realmctl.plan import Change, Key, Resource

if TYPE_CHECKING:
    pass


class MembershipReads(GroupReads):
    """A group's direct members (one paged listing per group)."""

    def group_member_ids(self, name: str) -> dict[str, str]:
        """Lower-cased username -> user id of a group's direct members."""
        return self._once(
            ("group-member-ids", name), lambda: {m["username"].lower(): m["id"] for m in self.group_members(name)}
        )

    def group_members(self, name: str) -> list[dict[str, Any]]:
        gid = self.group_id(name)
        if gid is None:
            return []
        path = f"{self.base}/groups/{gid}/members"
        return self._once(
            ("group-members", name), lambda: self.api.get_all(path, page=USER_PAGE, briefRepresentation="true")
        )


class MembershipKind(LinkKind):
    name = "membership"
    title = "group membership"
    reads = MembershipReads
    depends_on = ("user", "group")

    def describe(self, key: Key) -> str:
        return f"user {key[0]} in group {key[1]}"

    def prepare(self, ctx: Context) -> None:
        """The group listing, when a user joins a group the spec does not declare."""
        undeclared_groups(
            ctx, {g for spec in (ctx.realm_spec.get("users") or {}).values() for g in spec.get("groups") or []}
        )

    def desired(self, ctx: Context) -> list[Resource]:
        out = []
        for username, spec in (ctx.realm_spec.get("users") or {}).items():
            for i, group in enumerate(spec.get("groups") or []):
                out.append(ctx.resource(self.name, (username.lower(), group), {}, "users", username, "groups", i))
        missing = missing_groups(ctx, {r.key[1] for r in out})
        for resource in out:
            if resource.key[1] in missing:
                where = f"{resource.position}: " if resource.position else ""
                ctx.errors.append(
                    f"{where}user {resource.key[0]!r} in realm {ctx.realm!r} joins group {resource.key[1]!r}, which is "
                    "neither declared under `groups` nor present on the server (declare it under `groups`)"
                )
        return out

    def present(self, ctx: Context, key: Key) -> dict[str, Any] | None:
        return {} if key[0] in ctx.state.group_member_ids(key[1]) else None

    def live_ids(self, ctx: Context, key: Key) -> Ids | None:
        user = ctx.state.group_member_ids(key[1]).get(key[0])
        group = ctx.state.group_id(key[1])
        return (user, group) if user and group else None

    def record_ids(self, change: Change, b: Build) -> tuple[Any, ...] | None:
        return (b.user(change.realm, change.key[0]), b.group(change.realm, change.key[1]))

    def calls(self, change: Change, b: Build) -> list[Call]:
        user, group = self.record_ids(change, b) or ()
        path = (b.base(change.realm), "users", user, "groups", group)
        return [Call("DELETE" if change.action == "delete" else "PUT", path)]
