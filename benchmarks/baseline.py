"""A NAIVE baseline planner: reads every declared object with its own request, and nothing more.

What it models: the read pattern of peer tools that refresh each declared resource on its own
(Terraform's Keycloak provider refreshes one resource per state entry; keycloak-config-cli and
Ansible modules look each object up by name before deciding). It is the request count those tools
pay for the same spec, so that `benchmarks/run.py` can put realmctl's count beside it in the same
run. It computes no diff and never writes; it only sends realistic reads and counts them.

Exactly what it sends, per realm of the spec (`{r}` = the realm, ids come from earlier answers):

* `GET /admin/realms/{r}`; a 404 ends the realm (nothing in a missing realm can exist, and peer
  tools with no state read nothing more either);
* per declared realm role: `GET roles/{name}`;
* per declared group: `GET groups?search={name}&exact=true`;
* per declared client scope: `GET client-scopes` (the list, to find it by name); per declared
  protocol mapper of a found scope: `GET client-scopes/{id}/protocol-mappers/models/{mapperId}`;
  per role-scope container: `GET client-scopes/{id}/scope-mappings/realm` or
  `.../scope-mappings/clients/{clientUuid}`;
* realm `defaultClientScopes` / `optionalClientScopes`: one `GET` of that list each, when declared;
* per declared client: `GET clients?clientId={id}`; for a found one, `GET .../default-client-scopes`
  and `GET .../optional-client-scopes` when declared, `GET .../roles/{name}` per declared role, and
  one scope-mapping read per role-scope container as for scopes;
* per declared identity provider: `GET identity-provider/instances/{alias}`; for a found one with
  declared mappers, `GET .../{alias}/mappers` (the list); with `grantReadTokenToLinkedUsers`, the
  linked users (`GET users?idpAlias=`, paged by 500 as realmctl does);
* per declared user: `GET users?username={name}&exact=true`; for a found one, `GET
  users/{id}/groups` when it declares groups;
* per role grant (subject × role): `GET {users|groups}/{id}/role-mappings/realm` or
  `.../role-mappings/clients/{clientUuid}`, for a subject that was found (undeclared users granted
  a role are looked up by name first); service accounts via `GET clients/{uuid}/service-account-user`.

A client referenced only as a role container (e.g. `broker`) is looked up once per realm by
`GET clients?clientId=`, which favours the baseline (a per-reference lookup would cost more).
Token exchange entries are not modelled (the benchmark specs have none).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from realmctl.keycloak.session import Api

__all__ = ["naive_plan"]


def _seg(value: str) -> str:
    return quote(value, safe="")


class _Realm:
    """The reads of one realm, with the ids earlier answers revealed (as a peer tool's state would)."""

    def __init__(self, api: Api, realm: str, spec: dict[str, Any]) -> None:
        self.api = api
        self.spec = spec
        self.base = f"admin/realms/{_seg(realm)}"
        self.clients: dict[str, str | None] = {}  # clientId -> uuid (None: not found)
        self.users: dict[str, str | None] = {}
        self.groups: dict[str, str | None] = {}

    def client_uuid(self, client_id: str) -> str | None:
        if client_id not in self.clients:
            found = self.api.get(f"{self.base}/clients", clientId=client_id) or []
            self.clients[client_id] = found[0]["id"] if found else None
        return self.clients[client_id]

    def user_id(self, username: str) -> str | None:
        name = username.lower()
        if name not in self.users:
            found = self.api.get(f"{self.base}/users", username=name, exact="true") or []
            self.users[name] = found[0]["id"] if found else None
        return self.users[name]

    def group_id(self, name: str) -> str | None:
        if name not in self.groups:
            found = self.api.get(f"{self.base}/groups", search=name, exact="true") or []
            self.groups[name] = next((g["id"] for g in found if g.get("name") == name), None)
        return self.groups[name]

    def scope_mappings(self, owner_path: str, role_scope: dict[str, Any] | None) -> None:
        """One read per container of a roleScope (realm, or each client named)."""
        role_scope = role_scope or {}
        if role_scope.get("realm"):
            self.api.get(f"{owner_path}/scope-mappings/realm")
        for container in role_scope.get("clients") or {}:
            uuid = self.client_uuid(container)
            if uuid is not None:
                self.api.get(f"{owner_path}/scope-mappings/clients/{uuid}")

    def read(self) -> None:
        if self.api.get_or_none(self.base) is None:
            return
        spec = self.spec
        roles = spec.get("roles") or []
        for name in roles if isinstance(roles, list) else list(roles):
            self.api.get_or_none(f"{self.base}/roles/{_seg(name)}")
        for name in spec.get("groups") or []:
            self.group_id(name)
        self.read_scopes()
        for field, path in (("defaultClientScopes", "default-default"), ("optionalClientScopes", "default-optional")):
            if spec.get(field):
                self.api.get(f"{self.base}/{path}-client-scopes")
        self.read_clients()
        self.read_idps()
        self.read_users()
        self.read_grants()

    def read_scopes(self) -> None:
        for name, scope in (self.spec.get("clientScopes") or {}).items():
            listing = self.api.get(f"{self.base}/client-scopes") or []
            found = next((s for s in listing if s.get("name") == name), None)
            if found is None:
                continue
            mapper_ids = {m.get("name"): m.get("id") for m in found.get("protocolMappers") or []}
            for mapper in scope.get("mappers") or {}:
                if mapper_ids.get(mapper):
                    path = f"{self.base}/client-scopes/{found['id']}/protocol-mappers/models/{mapper_ids[mapper]}"
                    self.api.get(path)
            self.scope_mappings(f"{self.base}/client-scopes/{found['id']}", scope.get("roleScope"))

    def read_clients(self) -> None:
        for client_id, client in (self.spec.get("clients") or {}).items():
            uuid = self.client_uuid(client_id)
            if uuid is None:
                continue
            path = f"{self.base}/clients/{uuid}"
            for field, sub in (("defaultClientScopes", "default"), ("optionalClientScopes", "optional")):
                if client.get(field):
                    self.api.get(f"{path}/{sub}-client-scopes")
            roles = client.get("roles") or []
            for role in roles if isinstance(roles, list) else list(roles):
                self.api.get_or_none(f"{path}/roles/{_seg(role)}")
            self.scope_mappings(path, client.get("roleScope"))

    def read_idps(self) -> None:
        for alias, idp in (self.spec.get("identityProviders") or {}).items():
            path = f"{self.base}/identity-provider/instances/{_seg(alias)}"
            if self.api.get_or_none(path) is None:
                continue
            if idp.get("mappers"):
                self.api.get(f"{path}/mappers")
            if idp.get("grantReadTokenToLinkedUsers"):
                self.api.get_all(f"{self.base}/users", idpAlias=alias, briefRepresentation="true")

    def read_users(self) -> None:
        for username, user in (self.spec.get("users") or {}).items():
            uid = self.user_id(username)
            if uid is not None and user.get("groups"):
                self.api.get(f"{self.base}/users/{uid}/groups")

    def read_grants(self) -> None:
        for grant in self.spec.get("roleGrants") or []:
            # One read per (subject, role), as a resource per grant refreshes itself: a subject granted
            # two realm roles reads its realm mappings twice.
            per_subject = ["realm"] * len(grant.get("realmRoles") or [])
            per_subject += [c for c, roles in (grant.get("clientRoles") or {}).items() for _ in roles]
            subjects: list[str | None] = []
            for username in grant.get("users") or []:
                uid = self.user_id(username)
                subjects.append(f"users/{uid}" if uid else None)
            for group in grant.get("groups") or []:
                gid = self.group_id(group)
                subjects.append(f"groups/{gid}" if gid else None)
            for client_id in grant.get("serviceAccounts") or []:
                uuid = self.client_uuid(client_id)
                account = self.api.get_or_none(f"{self.base}/clients/{uuid}/service-account-user") if uuid else None
                subjects.append(f"users/{account['id']}" if account else None)
            for subject in subjects:
                if subject is None:
                    continue
                for container in per_subject:
                    if container == "realm":
                        self.api.get(f"{self.base}/{subject}/role-mappings/realm")
                        continue
                    uuid = self.client_uuid(container)
                    if uuid is not None:
                        self.api.get(f"{self.base}/{subject}/role-mappings/clients/{uuid}")


def naive_plan(realms: dict[str, dict[str, Any]], api: Api) -> None:
    """Sends the naive reads for every realm of a loaded spec (`Spec.realms`); returns nothing."""
    for realm, spec in realms.items():
        _Realm(api, realm, spec).read()
