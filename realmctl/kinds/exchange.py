"""The fine-grained permission objects behind a cross-realm token-exchange entry (FGAP v1).

Three kinds, in order: permissions switched on for a target (an IdP, an audience client, the
realm's users), a client policy naming the clients allowed to exchange, and that policy attached
to the target's permission. Attaching is read-modify-write: policies someone else attached stay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.calls import Call, Find, Ref
from realmctl.keycloak.session import seg
from realmctl.kinds.base import Build, Context, Kind, LinkKind
from realmctl.kinds.client import ClientReads
from realmctl.kinds.idp import IdpReads
from realmctl.live import Ids
from realmctl.plan import Change, Key, Live, Resource

if TYPE_CHECKING:
    from realmctl.kinds import RealmState

OWNED_DESCRIPTION = "Managed by realmctl: "
TARGETS = {"idp": "identity provider", "client": "client", "users": "users of the realm"}


def _entries(ctx: Context) -> dict[str, Any]:
    return ctx.realm_spec.get("_exchange") or {"policies": {}, "attachments": []}


def _position(ctx: Context, entry: str) -> Any:
    return ctx.where("tokenExchange", entry)


def _permission_put(path: tuple[Any, ...], permission: Any, body: dict[str, Any], realm: str) -> Call:
    """The PUT of a permission's policies. Two entries sharing a permission (an audience, the
    users' impersonate permission) each send the same final body; sent at once, real 26.7.3
    answered one of them 409 "Duplicate resource error". So they go one at a time per realm (with
    the enables on the same resource server), and a 409 is retried once: the PUT is idempotent."""
    return Call(
        "PUT", (*path, "permission", "scope", permission), body, retry_conflict=True, lock=f"fgap-enable {realm}"
    )


class ExchangeReads(ClientReads, IdpReads):
    """Reads of the fine-grained permissions (v1) on the realm-management resource server: the targets'
    permission references, realmctl's client policies, the policies attached to a permission."""

    def management_client(self) -> str:
        """The client whose resource server holds FGAP v1 objects (master: `master-realm`)."""
        return "master-realm" if self.realm == "master" else "realm-management"

    def authz(self) -> str:
        return f"{self.base}/clients/{self.client_uuid(self.management_client())}/authz/resource-server"

    def fgap_path(self, target: str, name: str) -> str:
        if target == "idp":
            return f"{self.base}/identity-provider/instances/{seg(name)}/management/permissions"
        if target == "client":
            return f"{self.base}/clients/{self.client_uuid(name)}/management/permissions"
        return f"{self.base}/users-management-permissions"

    def fgap_ref(self, target: str, name: str) -> dict[str, Any]:
        """The ManagementPermissionReference of an IdP, a client or the realm's users."""
        with self._lock:
            if ("fgap", target, name) in self._cache:  # enabled during this apply
                cached: dict[str, Any] = self._cache[("fgap", target, name)]
                return cached
        exists = {"idp": lambda: self.idp(name), "client": lambda: self.client(name)}.get(target, lambda: True)()
        if not exists or self.realm_rep() is None:
            return {"enabled": False}
        return self._once(("fgap", target, name), lambda: self.api.get(self.fgap_path(target, name)) or {})

    def policies(self) -> list[dict[str, Any]]:
        """realmctl's client policies on the realm-management resource server (one listing)."""
        management = self.client(self.management_client())
        if management is None or not management.get("authorizationServicesEnabled"):
            # No resource server yet (Keycloak 26.7.3 lists the field only once fine-grained
            # permissions made one): no policy can exist, so there is nothing to list.
            return []
        return self._once(
            "policies",
            lambda: (
                self.api.get_or_none(f"{self.authz()}/policy", name="realmctl-", type="client", first=0, max=1000) or []
            ),
        )

    def associated(self, permission_id: str) -> list[dict[str, Any]]:
        path = f"{self.authz()}/policy/{permission_id}/associatedPolicies"
        return self._once(("associated", permission_id), lambda: self.api.get(path) or [])


class FgapKind(Kind):
    """Fine-grained permissions enabled on a target. Never switched off by realmctl: other
    permissions may hang on them; an IdP realmctl deletes takes its permissions with it."""

    name = "fgap"
    title = "fine-grained permissions"
    reads = ExchangeReads
    depends_on = ("identity-provider", "client")

    def describe(self, key: Key) -> str:
        target = TARGETS[key[0]] + ("" if key[0] == "users" else f" {key[1]}")
        return f"fine-grained permissions on {target}"

    def desired(self, ctx: Context) -> list[Resource]:
        out: dict[Key, Resource] = {}
        for a in _entries(ctx)["attachments"]:
            key = (a["target"], a["name"])
            resource = Resource(ctx.realm, self.name, key, {"enabled": True}, position=_position(ctx, a["_entry"]))
            resource.data = {**resource.data, "intent": a["_intent"]}
            out.setdefault(key, resource)
        return list(out.values())

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        out = []
        for r in wanted:
            ref = ctx.state.fgap_ref(*r.key)
            if ref.get("enabled"):
                out.append(Live(r.key, {"enabled": True}, raw=ref))
        return out

    def calls(self, change: Change, b: Build) -> list[Call]:
        assert change.action != "delete", "realmctl never switches fine-grained permissions off"
        target, name = change.key
        base = b.base(change.realm)
        if target == "idp":
            path: tuple[Any, ...] = (base, "identity-provider", "instances", seg(name), "management", "permissions")
        elif target == "client":
            path = (base, "clients", b.client(change.realm, name), "management", "permissions")
        else:
            path = (base, "users-management-permissions")
        # Enabling creates objects on the realm's one resource server (realm-management): two
        # enables at once race, and real Keycloak answers the loser 409 "Duplicate resource error".
        # One at a time per realm; and since enabling is idempotent, a 409 is retried once.
        # The answer (the permission ids) is what attaching a policy to a new permission needs.
        return [
            Call(
                "PUT",
                path,
                {"enabled": True},
                sets=("fgap", change.realm, target, name),
                retry_conflict=True,
                lock=f"fgap-enable {change.realm}",
            )
        ]


def authz(change: Change, b: Build) -> tuple[Any, ...]:
    """The path of the realm's resource server (realm-management's, master-realm in master)."""
    management = "master-realm" if change.realm == "master" else "realm-management"
    return (b.base(change.realm), "clients", b.client(change.realm, management), "authz", "resource-server")


class ExchangePolicyKind(Kind):
    """The client policy naming who may exchange, on the realm-management resource server."""

    name = "exchange-policy"
    title = "client policy"
    depends_on = ("fgap", "client")
    reads = ExchangeReads

    def describe(self, key: Key) -> str:
        return f"client policy {key[0]}"

    def desired(self, ctx: Context) -> list[Resource]:
        out = []
        declared = set(ctx.realm_spec.get("clients") or {})
        for name, p in _entries(ctx)["policies"].items():
            resource = Resource(
                ctx.realm, self.name, (name,), {"clients": p["clients"]}, position=_position(ctx, p["_entry"])
            )
            resource.data = {**resource.data, "intent": p["_intent"]}
            out.append(resource)
            for client in p["clients"]:
                if client not in declared and ctx.state.client(client) is None:
                    # Keycloak answers a client policy naming an unknown client with HTTP 500, after
                    # the rest of the chain was written: refused here instead.
                    where = f"{resource.position}: " if resource.position else ""
                    ctx.errors.append(
                        f"{where}tokenExchange entry {p['_entry']!r} in realm {ctx.realm!r} lets client "
                        f"{client!r} exchange, which is neither declared under `clients` nor present on the "
                        "server (declare it under `clients`)"
                    )
        return out

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        names = {r.key[0] for r in wanted}
        by_uuid = {c["id"]: c["clientId"] for c in ctx.state.clients()}
        out = []
        for policy in ctx.state.policies():
            owned = (policy.get("description") or "").startswith(OWNED_DESCRIPTION)
            if policy["name"] in names or owned:
                import json

                uuids = json.loads((policy.get("config") or {}).get("clients") or "[]")
                clients = sorted(by_uuid.get(u, u) for u in uuids)
                out.append(Live((policy["name"],), {"clients": clients}, id=policy["id"], owned=owned, raw=policy))
        return out

    def _body(self, change: Change) -> dict[str, Any]:
        assert change.resource
        return {
            "name": change.key[0],
            "description": OWNED_DESCRIPTION + "clients allowed to exchange tokens",
            "type": "client",
            "logic": "POSITIVE",
            "decisionStrategy": "UNANIMOUS",
            "clients": change.resource.fields["clients"],
        }

    def calls(self, change: Change, b: Build) -> list[Call]:
        path = authz(change, b)
        if change.action == "delete":
            assert change.live
            return [Call("DELETE", (*path, "policy", change.live.id))]
        if change.action == "update":
            assert change.live
            body = {"id": change.live.id, **self._body(change)}
            return [Call("PUT", (*path, "policy", "client", change.live.id), body)]
        find = Find((*path, "policy", "search"), {"name": change.key[0]}, field=None)
        sets = ("exchange-policy", change.realm, change.key[0])
        return [Call("POST", (*path, "policy", "client"), self._body(change), sets=sets, find=find)]


def policy_id(b: Build, realm: str, name: str) -> Any:
    found = next((p for p in b.state(realm).policies() if p.get("name") == name), None)
    return found["id"] if found else Ref(("exchange-policy", realm, name))


def permission_detail(state: RealmState, permission: str) -> dict[str, Any]:
    """A scope permission's representation with its resources and scopes, read once (gather reads
    it for the permissions a plan will rewrite: the write is built from it)."""

    def fetch() -> dict[str, Any]:
        authz = state.authz()
        rep = state.api.get(f"{authz}/permission/scope/{permission}") or {}
        resources = [r["_id"] for r in state.api.get(f"{authz}/permission/{permission}/resources") or []]
        scopes = [s["id"] for s in state.api.get(f"{authz}/permission/{permission}/scopes") or []]
        return {"rep": rep, "resources": resources, "scopes": scopes}

    return state._once(("permission", permission), fetch)


class ExchangeAttachKind(LinkKind):
    """A policy attached to a target's permission (`token-exchange` or `impersonate`)."""

    name = "exchange-permission"
    title = "permission"
    depends_on = ("exchange-policy", "fgap")
    reads = ExchangeReads

    def describe(self, key: Key) -> str:
        target, name, scope, policy = key
        what = TARGETS[target] + ("" if target == "users" else f" {name}")
        return f"policy {policy} on the {scope} permission of {what}"

    def desired(self, ctx: Context) -> list[Resource]:
        out = []
        for a in _entries(ctx)["attachments"]:
            key = (a["target"], a["name"], a["scope"], a["policy"])
            resource = Resource(ctx.realm, self.name, key, {}, position=_position(ctx, a["_entry"]))
            resource.data = {**resource.data, "intent": a["_intent"]}
            out.append(resource)
        return out

    def present(self, ctx: Context, key: Key) -> dict[str, Any] | None:
        target, name, scope, policy = key
        ref = ctx.state.fgap_ref(target, name)
        permission = (ref.get("scopePermissions") or {}).get(scope) if ref.get("enabled") else None
        if permission is None:
            return None
        return {} if any(p.get("name") == policy for p in ctx.state.associated(permission)) else None

    def live_ids(self, ctx: Context, key: Key) -> Ids | None:
        target, name, scope, policy = key
        permission = (ctx.state.fgap_ref(target, name).get("scopePermissions") or {}).get(scope)
        if permission is None:
            return None
        pid = next((p.get("id") for p in ctx.state.associated(permission) if p.get("name") == policy), None)
        return (permission, pid) if pid else None

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        """As links are read, plus the permissions the plan may rewrite (an attachment missing, or
        a recorded one left out of the spec), whose write is built from them."""
        out = super().read(ctx, wanted)
        present = {live.key for live in out}
        keys = {r.key for r in wanted} - present | (set(ctx.state.recorded(self.name)) - {r.key for r in wanted})
        for target, name, scope, _ in sorted(keys):
            ref = ctx.state.fgap_ref(target, name)
            permission = (ref.get("scopePermissions") or {}).get(scope) if ref.get("enabled") else None
            if permission is not None:
                permission_detail(ctx.state, permission)
        return out

    def record_ids(self, change: Change, b: Build) -> tuple[Any, ...] | None:
        return (self._permission(change, b), policy_id(b, change.realm, change.key[3]))

    def _permission(self, change: Change, b: Build) -> Any:
        """The permission's id: the snapshot's, or what enabling permissions in this run answers."""
        target, name, scope, _ = change.key
        ref = b.state(change.realm).fgap_ref(target, name)
        permission = (ref.get("scopePermissions") or {}).get(scope) if ref.get("enabled") else None
        return permission or Ref(("fgap", change.realm, target, name), ("scopePermissions", scope))

    def calls(self, change: Change, b: Build) -> list[Call]:
        """A write of the whole permission (Keycloak replaces its policies with the body's): the
        snapshot's permission with the policies the plan attaches and detaches on it. Changes of
        one permission in one step send the same body, so none undoes another; policies someone
        else attached stay. A permission enabled in this run is read first (its GETs are calls)."""
        target, name, scope, _ = change.key
        realm, state = change.realm, b.state(change.realm)
        path = authz(change, b)
        permission = self._permission(change, b)
        policies: list[Any] = []
        if not isinstance(permission, Ref):
            policies = [p["id"] for p in state.associated(permission)]
        for c in b.of_kind(realm, self.name):
            if c.key[:3] == change.key[:3]:
                ours = policy_id(b, realm, c.key[3])
                policies = [p for p in policies if p != ours]
                if c.action != "delete":
                    policies.append(ours)
        body: dict[str, Any]
        if isinstance(permission, Ref):
            name_ = ("permission", realm, target, name, scope)
            reads = [
                Call("GET", (*path, "permission", "scope", permission), sets=name_),
                Call("GET", (*path, "permission", permission, "resources"), sets=(*name_, "resources")),
                Call("GET", (*path, "permission", permission, "scopes"), sets=(*name_, "scopes")),
            ]
            body = {
                "id": permission,
                "name": Ref(name_, ("name",)),
                "type": "scope",
                "logic": Ref(name_, ("logic",)),
                "decisionStrategy": Ref(name_, ("decisionStrategy",)),
                "resources": Ref((*name_, "resources"), ("*", "_id")),
                "scopes": Ref((*name_, "scopes"), ("*", "id")),
                "policies": policies,
            }
            return [*reads, _permission_put(path, permission, body, realm)]
        detail = permission_detail(state, permission)
        current = detail["rep"]
        body = {
            "id": permission,
            "name": current["name"],
            "type": "scope",
            "logic": current.get("logic", "POSITIVE"),
            "decisionStrategy": current.get("decisionStrategy", "UNANIMOUS"),
            "resources": detail["resources"],
            "scopes": detail["scopes"],
            "policies": policies,
        }
        if current.get("description"):
            body["description"] = current["description"]
        return [_permission_put(path, permission, body, realm)]
