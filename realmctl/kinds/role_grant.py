"""Role grants to users, service accounts and groups, and the broker/read-token backfill.

Live grants are read per granted role (its direct members, one paged listing) rather than per
user, so a thousand users granted one role cost one request, not a thousand.

`grantReadTokenToLinkedUsers` on an IdP adds a grant of broker/read-token to every user already
linked to it: Keycloak's `addReadTokenRoleOnCreate` reaches only users whose first broker login
happens after it was switched on (SEMANTICS §3.5).
"""

from typing import Any

from realmctl.kinds.base import Context, LinkKind
from realmctl.kinds.scope_mapping import OWNERS, role_refs
from realmctl.live import Ids, RealmState, mapped_id
from realmctl.plan import Change, Key, Live, Resource
from realmctl.planned import PlannedView

SUBJECTS = {"users": "user", "serviceAccounts": "service-account", "groups": "group"}


def service_account_username(client_id: str) -> str:
    return f"service-account-{client_id}".lower()


def _note_mapped_roles(ctx: Context, roles: set[tuple[str, str]]) -> None:
    """Tells the realm's reader the ids of granted client roles that a declared role scope maps.

    The scope-mapping kind reads those role scopes anyway (one read per declared owner, shared), and
    each mapped role there carries its id: so the granted role is known to exist, and its id (which
    an owned grant's record is matched against) is known, without listing the client's roles. In
    the stored-token chain this spares the broker's role listing in every realm (`read-token` is in
    the role scope of `broker_read_token`). A role no declared scope maps is looked up as before.
    """
    owners: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for owner, (section, _) in OWNERS.items():
        for name, spec in sorted((ctx.realm_spec.get(section) or {}).items()):
            for pair in role_refs((spec or {}).get("roleScope")):
                owners.setdefault(pair, []).append((owner, name))
    for container, role in sorted(roles):
        for owner, name in owners.get((container, role), []):
            rid = mapped_id(ctx.state.scope_mappings(owner, name), container, role)
            if rid:
                ctx.state.note_role(container, role, {"id": rid, "name": role})
                break


class RoleGrantKind(LinkKind):
    name = "role-grant"
    title = "role grant"
    depends_on = ("user", "group", "role", "client")

    def describe(self, key: Key) -> str:
        subject, who, container, role = key
        what = role if container == "realm" else f"{container}/{role}"
        return f"role {what} granted to {subject} {who}"

    def desired(self, ctx: Context) -> list[Resource]:
        out: dict[Key, Resource] = {}
        for i, grant in enumerate(ctx.realm_spec.get("roleGrants") or []):
            refs = {"realm": grant.get("realmRoles") or [], "clients": grant.get("clientRoles") or {}}
            for section, subject in SUBJECTS.items():
                for who in grant.get(section) or []:
                    name = who if subject == "group" else who.lower()
                    for container, role in role_refs(refs):
                        key: Key = (subject, name, container, role)
                        out.setdefault(key, ctx.resource(self.name, key, {}, "roleGrants", i))
        declared = {u.lower() for u in ctx.realm_spec.get("users") or {}}
        for alias, idp in (ctx.realm_spec.get("identityProviders") or {}).items():
            if not idp.get("grantReadTokenToLinkedUsers"):
                continue
            for user in ctx.state.linked_users(alias):
                linked: Key = ("user", user["username"].lower(), "broker", "read-token")
                out.setdefault(linked, ctx.resource(self.name, linked, {}, "identityProviders", alias))
        # One batched look-up for every undeclared user, instead of one request per name below.
        ctx.state.users(k[1] for k in out if k[0] == "user" and k[1] not in declared)
        for key in out:
            subject, who = key[0], key[1]
            if subject == "user" and who not in declared and ctx.state.user_id(who) is None:
                where = f"{out[key].position}: " if out[key].position else ""
                ctx.errors.append(
                    f"{where}role grant names user {who!r} in realm {ctx.realm!r}, "
                    "who is neither declared under `users` nor present on the server (federated users "
                    "appear after their first login; grantReadTokenToLinkedUsers covers them then)"
                )
        return [
            r
            for k, r in out.items()
            if not (k[0] == "user" and k[1] not in declared and ctx.state.user_id(k[1]) is None)
        ]

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        keys = {r.key for r in wanted} | set(ctx.state.recorded(self.name))
        _note_mapped_roles(ctx, {(k[2], k[3]) for k in keys if k[2] != "realm"})
        return super().read(ctx, wanted)

    def present(self, ctx: Context, key: Key) -> dict[str, Any] | None:
        subject, who, container, role = key
        if subject == "group":
            return {} if role in ctx.state.group_role_names(who, container) else None
        username = who if subject == "user" else service_account_username(who)
        return {} if username in ctx.state.role_member_ids(container, role) else None

    def live_ids(self, ctx: Context, key: Key) -> Ids | None:
        subject, who, container, role = key
        if subject == "group":
            gid = ctx.state.group_id(who)
            # A mapped role's id is the role's own: the role listing answers it, not a per-group read.
            mapped = role in ctx.state.group_role_names(who, container)
            rid = (ctx.state.role(container, role) or {}).get("id") if mapped else None
            return (gid, rid) if gid and rid else None
        username = who if subject == "user" else service_account_username(who)
        uid = ctx.state.role_member_ids(container, role).get(username)
        rid = (ctx.state.role(container, role) or {}).get("id")
        return (uid, rid) if uid and rid else None

    def _call(self, state: RealmState, change: Change, method: str) -> Ids | None:
        subject, who, container, role = change.key
        if subject == "group":
            sid = state.group_id(who)
        elif subject == "user":
            sid = state.user_id(who)
        else:
            account = state.service_account_user(who)
            if account is None:
                uuid = state.client_uuid(who)
                account = state.api.get(f"{state.base}/clients/{uuid}/service-account-user")
            sid = account["id"]
        owner = f"{'groups' if subject == 'group' else 'users'}/{sid}"
        rid = state.map_role(f"{owner}/role-mappings", container, role, add=method == "POST")
        return (sid, rid) if sid and rid else None

    def create(self, state: RealmState, change: Change) -> None:
        ids = self._call(state, change, "POST")
        if ids:
            self.created(state, change.key, ids)

    def delete(self, state: RealmState, change: Change) -> None:
        self._call(state, change, "DELETE")

    def simulate(self, view: PlannedView, change: Change) -> None:
        subject, who, container, role = change.key
        view.grant(subject, who, (container, role), add=change.action != "delete")
