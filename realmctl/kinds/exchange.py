"""The fine-grained permission objects behind a cross-realm token-exchange entry (FGAP v1).

Three kinds, in order: permissions switched on for a target (an IdP, an audience client, the
realm's users), a client policy naming the clients allowed to exchange, and that policy attached
to the target's permission. Attaching is read-modify-write: policies someone else attached stay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from realmctl.keycloak.session import ApiError, seg
from realmctl.kinds.base import Context, Kind, LinkKind
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
        if not exists or self.realm_rep() is None or (target == "client" and ("client", name) in self.created_ids):
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
            resource.data["intent"] = a["_intent"]
            out.setdefault(key, resource)
        return list(out.values())

    def read(self, ctx: Context, wanted: list[Resource]) -> list[Live]:
        out = []
        for r in wanted:
            ref = ctx.state.fgap_ref(*r.key)
            if ref.get("enabled"):
                out.append(Live(r.key, {"enabled": True}, raw=ref))
        return out

    def create(self, state: RealmState, change: Change) -> None:
        # Enabling permissions creates objects on the realm's one resource server (realm-management):
        # two enables at once race, and real Keycloak answers the loser 409 "Duplicate resource error".
        # One at a time per realm; and since enabling is idempotent, a 409 from another run is retried once.
        with state.lock("fgap-enable"):
            try:
                ref = state.api.put(state.fgap_path(*change.key), {"enabled": True})
            except ApiError as exc:
                if exc.status != 409:
                    raise
                ref = state.api.put(state.fgap_path(*change.key), {"enabled": True})
        state.forget(("fgap", *change.key))
        if isinstance(ref, dict):
            state.remember(("fgap", *change.key), ref)

    def update(self, state: RealmState, change: Change) -> None:
        self.create(state, change)

    def delete(self, state: RealmState, change: Change) -> None:
        raise AssertionError("realmctl never switches fine-grained permissions off")


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
        for name, p in _entries(ctx)["policies"].items():
            resource = Resource(
                ctx.realm, self.name, (name,), {"clients": p["clients"]}, position=_position(ctx, p["_entry"])
            )
            resource.data["intent"] = p["_intent"]
            out.append(resource)
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

    def create(self, state: RealmState, change: Change) -> None:
        authz = state.authz()

        def find() -> str | None:
            found = state.api.get_or_none(f"{authz}/policy/search", name=change.key[0])
            return found.get("id") if isinstance(found, dict) else None

        policy = state.api.create(f"{authz}/policy/client", self._body(change), find)
        state.created_ids[("policy", change.key[0])] = policy

    def update(self, state: RealmState, change: Change) -> None:
        assert change.live
        state.api.put(f"{state.authz()}/policy/client/{change.live.id}", {"id": change.live.id, **self._body(change)})

    def delete(self, state: RealmState, change: Change) -> None:
        assert change.live
        state.api.delete(f"{state.authz()}/policy/{change.live.id}")


def policy_id(state: RealmState, name: str) -> str | None:
    found = next((p for p in state.policies() if p.get("name") == name), None)
    return found["id"] if found else state.created_ids.get(("policy", name))


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
            resource.data["intent"] = a["_intent"]
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

    def _rewrite(self, state: RealmState, change: Change, attach: bool) -> Ids | None:
        target, name, scope, policy = change.key
        ref = state.fgap_ref(target, name)
        permission = (ref.get("scopePermissions") or {}).get(scope)
        if permission is None:
            raise LookupError(f"no {scope} permission on {target} {name}: fine-grained permissions are off")
        ours = policy_id(state, policy)
        authz = state.authz()
        # Several attachments may target one permission in the same wave (two entries sharing an
        # audience, or both impersonating): serialise the read-modify-write per permission.
        with state.lock(("permission", permission)):
            current = state.api.get(f"{authz}/permission/scope/{permission}")
            policies = {p["id"] for p in state.api.get(f"{authz}/policy/{permission}/associatedPolicies") or []}
            resources = [r["_id"] for r in state.api.get(f"{authz}/permission/{permission}/resources") or []]
            scopes = [s["id"] for s in state.api.get(f"{authz}/permission/{permission}/scopes") or []]
            if attach:
                policies.add(ours or policy)
            else:
                policies.discard(ours or "")
            body = {
                "id": permission,
                "name": current["name"],
                "type": "scope",
                "logic": current.get("logic", "POSITIVE"),
                "decisionStrategy": current.get("decisionStrategy", "UNANIMOUS"),
                "resources": resources,
                "scopes": scopes,
                "policies": sorted(policies),
            }
            if current.get("description"):
                body["description"] = current["description"]
            state.api.put(f"{authz}/permission/scope/{permission}", body)
            state.forget(("associated", permission))
        return (permission, ours) if ours else None

    def create(self, state: RealmState, change: Change) -> None:
        ids = self._rewrite(state, change, attach=True)
        if ids:
            self.created(state, change.key, ids)

    def delete(self, state: RealmState, change: Change) -> None:
        self._rewrite(state, change, attach=False)
