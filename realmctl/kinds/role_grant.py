"""Role grants to users, service accounts and groups, and the broker/read-token backfill.

Live grants are read per granted role (its direct members, one paged listing) rather than per
user, so a thousand users granted one role cost one request, not a thousand.

`grantReadTokenToLinkedUsers` on an IdP adds a grant of broker/read-token to every user already
linked to it: Keycloak's `addReadTokenRoleOnCreate` reaches only users whose first broker login
happens after it was switched on (SEMANTICS §3.5).
"""

from typing import Any

from realmctl.calls import Call, Ref
from realmctl.kinds.base import Build, Context, LinkKind
from realmctl.kinds.scope_mapping import role_refs
from realmctl.live import Ids
from realmctl.plan import Change, Key, Resource
from realmctl.planned import PlannedView

SUBJECTS = {"users": "user", "serviceAccounts": "service-account", "groups": "group"}


def service_account_username(client_id: str) -> str:
    return f"service-account-{client_id}".lower()


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

    def _subject(self, change: Change, b: Build) -> tuple[Any, list[Call]]:
        """The granted user's or group's id, and the GET a service account's id needs when the
        snapshot does not hold it (Keycloak makes that user with the client)."""
        return b.once(("grant-subject", change.realm, *change.key), lambda: self._find_subject(change, b))

    def _find_subject(self, change: Change, b: Build) -> tuple[Any, list[Call]]:
        subject, who, container, role = change.key
        realm = change.realm
        if subject == "group":
            return b.group(realm, who), []
        username = who if subject == "user" else service_account_username(who)
        holder = b.state(realm).role_member_ids(container, role).get(username) if realm in b.states else None
        if holder is not None:
            return holder, []
        if subject == "user":
            return b.user(realm, who), []
        name = ("service-account", realm, who)
        path = (b.base(realm), "clients", b.client(realm, who), "service-account-user")
        return Ref(name, ("id",)), [Call("GET", path, sets=name)]

    def record_ids(self, change: Change, b: Build) -> tuple[Any, ...] | None:
        _, _, container, role = change.key
        return (self._subject(change, b)[0], b.role(change.realm, container, role))

    def calls(self, change: Change, b: Build) -> list[Call]:
        """Keycloak needs the role's id and name; granting a role twice is harmless (retried)."""
        subject, _, container, role = change.key
        sid, first = self._subject(change, b)
        tail = ("realm",) if container == "realm" else ("clients", b.client(change.realm, container))
        owner = "groups" if subject == "group" else "users"
        path = (b.base(change.realm), owner, sid, "role-mappings", *tail)
        body = [{"id": b.role(change.realm, container, role), "name": role}]
        if change.action == "delete":
            return [Call("DELETE", path, body)]
        return [*first, Call("POST", path, body, idempotent=True)]

    def simulate(self, view: PlannedView, change: Change) -> None:
        subject, who, container, role = change.key
        view.grant(subject, who, (container, role), add=change.action != "delete")
