"""Role grants to users, service accounts and groups, and the broker/read-token backfill.

Live grants are read per granted role (its direct members, one paged listing) rather than per
user, so a thousand users granted one role cost one request, not a thousand.

`grantReadTokenToLinkedUsers` on an IdP adds a grant of broker/read-token to every user already
linked to it: Keycloak's `addReadTokenRoleOnCreate` reaches only users whose first broker login
happens after it was switched on (SEMANTICS §3.5).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from realmctl.calls import Call, Ref
from realmctl.keycloak.session import seg
from realmctl.kinds.base import Build, Context, LinkKind, read_role
from realmctl.kinds.client import exported_clients
from realmctl.kinds.convert import lower
from realmctl.kinds.group import GroupReads, exported_groups, missing_groups, undeclared_groups
from realmctl.kinds.idp import IdpReads
from realmctl.kinds.inverse import RealmExport, mapping_refs
from realmctl.kinds.role import RoleReads, missing_realm_role_errors, undeclared_realm_roles
from realmctl.kinds.scope_mapping import OWNERS, role_refs
from realmctl.kinds.user import exported_users
from realmctl.live import USER_PAGE, Ids, mapped_id, mapped_names
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


class RoleGrantReads(RoleReads, GroupReads, IdpReads):
    """Reads of who holds a role: a role's direct members (one paged listing per role, not a read
    per user), a group's roles, and the users linked to an IdP (the read-token backfill)."""

    def role_members(self, container: str, name: str, keep: bool = True) -> list[dict[str, Any]]:
        """Users holding a role directly (one paged listing per role, not one read per user).

        `keep=False` (for `role_member_ids`, which is kept instead) reads a listing not read yet
        without keeping it: at 5x L the members of broker/read-token alone are 12,500 users."""
        role = self.role(container, name)
        if role is None:
            return []
        if container == "realm":
            path = f"{self.base}/roles/{seg(name)}/users"
        else:
            path = f"{self.base}/clients/{self.client_uuid(container)}/roles/{seg(name)}/users"
        key = ("members", container, name)
        if not keep and key not in self._cache:
            return self.api.get_all(path, page=USER_PAGE, briefRepresentation="true")
        return self._once(key, lambda: self.api.get_all(path, page=USER_PAGE, briefRepresentation="true"))

    def role_member_ids(self, container: str, name: str) -> dict[str, str]:
        """Lower-cased username -> user id of a role's direct members: grants test membership by
        name often, and an owned grant's recorded identity by id."""
        return self._once(
            ("member-ids", container, name),
            lambda: {m["username"].lower(): m["id"] for m in self.role_members(container, name, keep=False)},
        )

    def group_role_names(self, name: str, container: str) -> set[str]:
        """Role names of `container` ("realm" or a clientId) granted to group `name`.

        Keycloak 26.7.3 lists them in the group listing (`briefRepresentation=false`: `realmRoles`,
        `clientRoles` by clientId, present and empty when nothing is mapped), which is read anyway;
        only a listing without them (another server) costs the group's role-mappings read.
        """
        found = self.group(name)
        if found is not None and "realmRoles" in found and "clientRoles" in found:
            names = found["realmRoles"] if container == "realm" else (found["clientRoles"] or {}).get(container)
            return set(names or [])
        return mapped_names(self.group_role_mappings(name), container)

    def group_role_mappings(self, name: str) -> dict[str, Any]:
        gid = self.group_id(name)
        if gid is None:
            return {}
        path = f"{self.base}/groups/{gid}/role-mappings"
        return self._once(("group-roles", name), lambda: self.api.get(path) or {})

    def linked_users(self, alias: str) -> list[dict[str, Any]]:
        """Users with a federated identity link to IdP `alias`."""
        if self.idp(alias) is None:
            return []
        path = f"{self.base}/users"
        return self._once(
            ("linked", alias),
            lambda: self.api.get_all(path, page=USER_PAGE, idpAlias=alias, briefRepresentation="true"),
        )


class RoleGrantKind(LinkKind):
    name = "role-grant"
    title = "role grant"
    reads = RoleGrantReads
    depends_on = ("user", "group", "role", "client")
    export_as = "roleGrants"
    export_section = "roleGrants"

    def describe(self, key: Key) -> str:
        subject, who, container, role = key
        what = role if container == "realm" else f"{container}/{role}"
        return f"role {what} granted to {subject} {who}"

    def export(self, ex: RealmExport) -> None:
        """Direct grants to exported groups, service accounts and users, grouped by role set.

        `default-roles-<realm>` is left out: Keycloak grants it to every new user itself.
        """
        if "roleGrants" not in ex.kinds:
            return
        automatic = {("realm", f"default-roles-{ex.realm.lower()}")}
        held: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
        for group in exported_groups(ex):
            refs = mapping_refs(ex.state.group_role_mappings(group["name"]), skip=automatic)
            for role in refs.get("realm", []):
                held[("groups", group["name"])].add(("realm", role))
            for client_id, roles in refs.get("clients", {}).items():
                held[("groups", group["name"])].update((client_id, r) for r in roles)
        subjects = {u["username"].lower(): ("users", u["username"]) for u in exported_users(ex)}
        for client in exported_clients(ex):
            if client.get("serviceAccountsEnabled"):
                subjects[service_account_username(client["clientId"])] = ("serviceAccounts", client["clientId"])
        if subjects:
            containers = ["realm", *sorted(c["clientId"] for c in ex.state.clients())]
            for container in containers:
                roles = ex.state.realm_roles() if container == "realm" else ex.state.client_roles(container)
                for role in roles:
                    if (container, role["name"]) in automatic:
                        continue
                    for member in ex.state.role_members(container, role["name"]):
                        subject = subjects.get(member.get("username", "").lower())
                        if subject:
                            held[subject].add((container, role["name"]))
        by_roles: dict[frozenset[tuple[str, str]], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for (section, name), roles in sorted(held.items()):
            if roles:
                by_roles[frozenset(roles)][section].append(name)
        grants = []
        for roles, who in sorted(by_roles.items(), key=lambda item: sorted(item[0])):
            grant: dict[str, Any] = {s: sorted(who[s]) for s in ("users", "serviceAccounts", "groups") if who.get(s)}
            realm_roles = sorted(r for c, r in roles if c == "realm")
            client_roles: dict[str, list[str]] = defaultdict(list)
            for container, role in sorted(roles):
                if container != "realm":
                    client_roles[container].append(role)
            if realm_roles:
                grant["realmRoles"] = realm_roles
            if client_roles:
                grant["clientRoles"] = dict(client_roles)
            grants.append(grant)
        if grants:
            ex.spec["roleGrants"] = grants

    def _linked(self, ctx: Context) -> list[tuple[str, str]]:
        """(alias, lower-cased username) of the users linked to each IdP that grants them read-token."""
        return [
            (alias, user["username"].lower())
            for alias, idp in (ctx.realm_spec.get("identityProviders") or {}).items()
            if idp.get("grantReadTokenToLinkedUsers")
            for user in ctx.state.linked_users(alias)
        ]

    def prepare(self, ctx: Context) -> None:
        """The users linked to the granting IdPs, and one batched look-up of every undeclared user
        the grants name (instead of one request per name)."""
        named = {who.lower() for grant in ctx.realm_spec.get("roleGrants") or [] for who in grant.get("users") or []}
        named |= {who for _, who in self._linked(ctx)}
        declared = {u.lower() for u in ctx.realm_spec.get("users") or {}}
        ctx.state.users(named - declared)
        grants = ctx.realm_spec.get("roleGrants") or []
        undeclared_groups(ctx, {g for grant in grants for g in grant.get("groups") or []})
        undeclared_realm_roles(ctx, {r for grant in grants for r in grant.get("realmRoles") or []})

    def desired(self, ctx: Context) -> list[Resource]:
        out: dict[Key, Resource] = {}
        for i, grant in enumerate(ctx.realm_spec.get("roleGrants") or []):
            refs = {"realm": grant.get("realmRoles") or [], "clients": grant.get("clientRoles") or {}}
            for section, subject in SUBJECTS.items():
                for who in grant.get(section) or []:
                    name = who if subject == "group" else lower(who)
                    for container, role in role_refs(refs):
                        key: Key = (subject, name, container, role)
                        out.setdefault(key, ctx.resource(self.name, key, {}, "roleGrants", i))
        declared = {u.lower() for u in ctx.realm_spec.get("users") or {}}
        for alias, username in self._linked(ctx):
            linked: Key = ("user", username, "broker", "read-token")
            out.setdefault(linked, ctx.resource(self.name, linked, {}, "identityProviders", alias))
        missing_realm_role_errors(ctx, list(out.values()), "role grant")
        missing = missing_groups(ctx, {key[1] for key in out if key[0] == "group"})
        for key in out:
            subject, who = key[0], key[1]
            if subject == "group" and who in missing:
                where = f"{out[key].position}: " if out[key].position else ""
                ctx.errors.append(
                    f"{where}role grant names group {who!r} in realm {ctx.realm!r}, which is neither declared "
                    "under `groups` nor present on the server (declare it under `groups`)"
                )
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

    def _subject(self, change: Change, b: Build) -> tuple[Any, tuple[Call, ...]]:
        """The granted user's or group's id, and the GET a service account's id needs when the
        snapshot does not hold it (Keycloak makes that user with the client)."""
        return b.once(("grant-subject", change.realm, *change.key), lambda: self._find_subject(change, b))

    def _find_subject(self, change: Change, b: Build) -> tuple[Any, tuple[Call, ...]]:
        subject, who, container, role = change.key
        realm = change.realm
        if subject == "group":
            return b.group(realm, who), ()
        username = who if subject == "user" else service_account_username(who)
        holder = b.state(realm).role_member_ids(container, role).get(username) if realm in b.states else None
        if holder is not None:
            return holder, ()
        if subject == "user":
            return b.user(realm, who), ()
        name = ("service-account", realm, who)
        path = (b.base(realm), "clients", b.client(realm, who), "service-account-user")
        return Ref(name, ("id",)), (Call("GET", path, sets=name),)

    def record_ids(self, change: Change, b: Build) -> tuple[Any, ...] | None:
        _, _, container, role = change.key
        return (self._subject(change, b)[0], b.role(change.realm, container, role))

    def read_for_calls(self, ctx: Context, creates: list[Key], deletes: list[Key]) -> None:
        for key in creates + deletes:
            read_role(ctx, key[2], key[3])

    def calls(self, change: Change, b: Build) -> list[Call]:
        """Keycloak needs the role's id and name; granting a role twice is harmless (retried)."""
        subject, _, container, role = change.key
        sid, first = self._subject(change, b)
        tail = ("realm",) if container == "realm" else ("clients", b.client(change.realm, container))
        owner = "groups" if subject == "group" else "users"
        path = (b.base(change.realm), owner, sid, "role-mappings", *tail)
        # One body per role, shared by all its grants (25,000 grants of ~500 roles at 5x L): calls
        # are never changed after the plan, and the executor sends a resolved copy.
        body = b.once(
            ("grant-body", change.realm, container, role),
            lambda: [{"id": b.role(change.realm, container, role), "name": role}],
        )
        if change.action == "delete":
            return [Call("DELETE", path, body)]
        return [*first, Call("POST", path, body, idempotent=True)]

    def simulate(self, view: PlannedView, change: Change) -> None:
        subject, who, container, role = change.key
        view.grant(subject, who, (container, role), add=change.action != "delete")
