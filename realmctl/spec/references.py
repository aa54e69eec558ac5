"""Cross-reference checks: names that point at other objects must point at something.

They run on the merged spec (references cross files) and tolerate shapes the schema already
rejected, so that one run reports every problem. Anything that may legitimately exist on the
server only (an undeclared group, an adopted client) is a warning, not an error.
"""

import difflib
from collections.abc import Iterable
from typing import Any

from realmctl.spec.builtins import BUILTIN_SCOPES, builtin_client_roles, builtin_realm_roles
from realmctl.spec.model import Finding, Path, Position, Severity


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list[tuple[int, str]]:
    return [(i, v) for i, v in enumerate(value) if isinstance(v, str)] if isinstance(value, list) else []


def _names(value: Any) -> set[str]:
    """Names of a `roles`-like section, which may be a list of names or a mapping by name."""
    if isinstance(value, dict):
        return set(value)
    return {v for _, v in _strings(value)}


def _nearest(name: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


DOT_NAMES = (".", "..")
DOT_REASON = "in a URL it means this folder or the parent folder, so realmctl could not address the object"
DOT_HINT = "choose a name with another character in it"
#: Keys whose string value is the name of another object (and so may end up in a URL).
NAME_VALUED = frozenset({"identityProvider", "realm", "client"})
#: Maps of free-form values rather than names.
FREE_FORM = frozenset({"config", "attributes", "extra"})


class _Checker:
    """Collects reference findings for the whole spec, one realm at a time."""

    def __init__(self, realms: dict[str, Any], positions: dict[Path, Position]) -> None:
        self.realms = realms
        self.positions = positions
        self.findings: list[Finding] = []

    def add(self, severity: Severity, code: str, message: str, path: Path, hint: str | None) -> None:
        p = path
        while p and p not in self.positions:
            p = p[:-1]
        self.findings.append(Finding(severity, code, message, self.positions.get(p), hint))

    def run(self) -> list[Finding]:
        self.dot_names(self.realms, ("realms",))
        for name, realm in self.realms.items():
            if isinstance(realm, dict):
                self.realm(name, realm)
        return self.findings

    def dot_names(self, value: Any, path: Path) -> None:
        """Names `.` and `..` anywhere a name may become part of an admin URL.

        Keycloak stores such names, but no URL can address them: dot segments are resolved by URL
        handling on the way (a role `..` would address its realm: updating it would PUT onto the
        realm, deleting it would delete the realm). Free-form maps (`config`, `attributes`,
        `extra`) hold values, not names, and are skipped.
        """
        if isinstance(value, dict):
            for key, item in value.items():
                where = (*path, key)
                if key in DOT_NAMES:
                    self.add("error", "bad-name", f"name `{key}` cannot be used: {DOT_REASON}", where, DOT_HINT)
                if key in NAME_VALUED and item in DOT_NAMES:
                    self.add("error", "bad-name", f"name `{item}` cannot be used: {DOT_REASON}", where, DOT_HINT)
                if key not in FREE_FORM:
                    self.dot_names(item, where)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if item in DOT_NAMES:
                    self.add("error", "bad-name", f"name `{item}` cannot be used: {DOT_REASON}", (*path, i), DOT_HINT)
                elif isinstance(item, dict | list):
                    self.dot_names(item, (*path, i))

    def realm(self, r: str, realm: dict[str, Any]) -> None:
        base: Path = ("realms", r)
        clients = _map(realm.get("clients"))
        scopes = _map(realm.get("clientScopes"))
        self.scope_lists(r, realm, base, f"realm `{r}`", scopes)
        for c, client in clients.items():
            if isinstance(client, dict):
                where = (*base, "clients", c)
                self.scope_lists(r, client, where, f"client `{c}`", scopes)
                self.role_scope(r, realm, client.get("roleScope"), (*where, "roleScope"), f"client `{c}`")
        for s, scope in scopes.items():
            if isinstance(scope, dict):
                where = (*base, "clientScopes", s)
                self.role_scope(r, realm, scope.get("roleScope"), (*where, "roleScope"), f"client scope `{s}`")
                self.mappers(scope, where, s)
        for i, grant in enumerate(realm.get("roleGrants") or []):
            if isinstance(grant, dict):
                self.grant(r, realm, grant, (*base, "roleGrants", i), f"role grant #{i + 1}")
        groups = _names(realm.get("groups"))
        for u, user in _map(realm.get("users")).items():
            for j, g in _strings(_map(user).get("groups")):
                self.group(r, g, groups, (*base, "users", u, "groups", j), f"user `{u}`")
        for a, idp in _map(realm.get("identityProviders")).items():
            self.store_token(_map(idp), (*base, "identityProviders", a), a)
        for p, policy in _map(realm.get("tokenExchange")).items():
            if isinstance(policy, dict):
                self.exchange(r, realm, p, policy, (*base, "tokenExchange", p))

    def scope_lists(self, r: str, owner: dict[str, Any], path: Path, desc: str, scopes: dict[str, Any]) -> None:
        known = set(scopes) | BUILTIN_SCOPES
        lists = {k: _strings(owner.get(k)) for k in ("defaultClientScopes", "optionalClientScopes")}
        for key, items in lists.items():
            for i, s in items:
                if s not in known:
                    self.add(
                        "error",
                        "dangling-reference",
                        f"{desc} attaches client scope `{s}`, which realm `{r}` does not declare "
                        "and Keycloak does not build in",
                        (*path, key, i),
                        _nearest(s, known) or "declare it under `clientScopes`",
                    )
        defaults = {s for _, s in lists["defaultClientScopes"]}
        for i, s in lists["optionalClientScopes"]:
            if s in defaults:
                self.add(
                    "error",
                    "conflicting-scope",
                    f"client scope `{s}` is both default and optional in {desc}",
                    (*path, "optionalClientScopes", i),
                    "keep it in one of the two lists",
                )

    def realm_role(self, r: str, realm: dict[str, Any], role: str, path: Path, desc: str) -> None:
        known = _names(realm.get("roles")) | builtin_realm_roles(r)
        if role not in known:
            self.add(
                "warning",
                "unknown-role",
                f"{desc} names realm role `{role}`, which realm `{r}` does not declare",
                path,
                _nearest(role, known) or "it must exist on the server; or declare it under `roles`",
            )

    def client_role(self, r: str, realm: dict[str, Any], client: str, role: str, path: Path, desc: str) -> None:
        builtin = builtin_client_roles(r)
        declared = _map(_map(realm.get("clients")).get(client))
        if "roles" in declared:
            known = _names(declared["roles"]) | builtin.get(client, frozenset())
            if role not in known:
                self.add(
                    "error",
                    "unknown-role",
                    f"{desc} names role `{role}` of client `{client}`, whose `roles` do not include it",
                    path,
                    _nearest(role, known) or f"add `{role}` to the `roles` of client `{client}`",
                )
        elif client in builtin and role not in builtin[client]:
            roles = builtin[client]
            hint = _nearest(role, roles) or (f"its roles: {', '.join(sorted(roles))}" if roles else "it has no roles")
            self.add("error", "unknown-role", f"built-in client `{client}` has no role `{role}`", path, hint)

    def client_roles(self, r: str, realm: dict[str, Any], value: Any, path: Path, desc: str) -> None:
        for client, roles in _map(value).items():
            for j, role in _strings(roles):
                self.client_role(r, realm, client, role, (*path, client, j), desc)

    def role_scope(self, r: str, realm: dict[str, Any], value: Any, path: Path, desc: str) -> None:
        scope = _map(value)
        for j, role in _strings(scope.get("realm")):
            self.realm_role(r, realm, role, (*path, "realm", j), desc)
        self.client_roles(r, realm, scope.get("clients"), (*path, "clients"), desc)

    def grant(self, r: str, realm: dict[str, Any], grant: dict[str, Any], path: Path, desc: str) -> None:
        for j, role in _strings(grant.get("realmRoles")):
            self.realm_role(r, realm, role, (*path, "realmRoles", j), desc)
        self.client_roles(r, realm, grant.get("clientRoles"), (*path, "clientRoles"), desc)
        clients = _map(realm.get("clients"))
        for j, c in _strings(grant.get("serviceAccounts")):
            client = _map(clients.get(c))
            where = (*path, "serviceAccounts", j)
            if client.get("publicClient") is True:
                self.add(
                    "error",
                    "no-service-account",
                    f"{desc} grants roles to the service account of client `{c}`, which is public",
                    where,
                    "public clients have no service account; set `publicClient: false`",
                )
            elif client.get("serviceAccounts") is False:
                self.add(
                    "error",
                    "no-service-account",
                    f"{desc} grants roles to the service account of client `{c}`, which has `serviceAccounts: false`",
                    where,
                    f"set `serviceAccounts: true` on `{c}`",
                )
        groups = _names(realm.get("groups"))
        for j, g in _strings(grant.get("groups")):
            self.group(r, g, groups, (*path, "groups", j), desc)

    def group(self, r: str, group: str, groups: set[str], path: Path, desc: str) -> None:
        if group not in groups:
            self.add(
                "warning",
                "dangling-reference",
                f"{desc} names group `{group}`, which realm `{r}` does not declare in `groups`",
                path,
                _nearest(group, groups) or "it must exist on the server",
            )

    def mappers(self, scope: dict[str, Any], path: Path, s: str) -> None:
        for m, mapper in _map(scope.get("mappers")).items():
            mapper = _map(mapper)
            raw = mapper.get("protocolMapper") == "oidc-usermodel-client-role-mapper"
            if mapper.get("type") == "user-client-role" or raw:
                config = _map(mapper.get("config"))
                if not mapper.get("client") and not config.get("usermodel.clientRoleMapping.clientId"):
                    self.add(
                        "warning",
                        "mapper-without-client",
                        f"mapper `{m}` of client scope `{s}` has no `client`: it emits the roles of every client",
                        (*path, "mappers", m),
                        "add e.g. `client: broker`",
                    )

    def store_token(self, idp: dict[str, Any], path: Path, alias: str) -> None:
        if idp.get("storeToken") is True:
            return
        for key in ("storedTokensReadable", "grantReadTokenToLinkedUsers"):
            if idp.get(key) is True:
                self.add(
                    "warning",
                    "no-store-token",
                    f"identity provider `{alias}` sets `{key}` without `storeToken: true`: "
                    "there will be no stored token to read",
                    (*path, key),
                    "add `storeToken: true`",
                )

    def exchange(self, r: str, realm: dict[str, Any], p: str, policy: dict[str, Any], path: Path) -> None:
        desc = f"exchange policy `{p}`"
        source = _map(policy.get("source"))
        sr, sc = source.get("realm"), source.get("client")
        if isinstance(sr, str) and sr not in self.realms:
            self.add(
                "error",
                "dangling-reference",
                f"{desc} names realm `{sr}`, which the spec does not declare",
                (*path, "source", "realm"),
                _nearest(sr, self.realms) or f"declare realm `{sr}` under `realms`",
            )
        source_clients = _map(_map(self.realms.get(sr)).get("clients")) if isinstance(sr, str) else {}
        if isinstance(sr, str) and sr in self.realms and isinstance(sc, str) and sc not in source_clients:
            self.add(
                "warning",
                "dangling-reference",
                f"{desc} names client `{sc}` of realm `{sr}`, which the spec does not declare",
                (*path, "source", "client"),
                "it is adopted if it exists on the server",
            )
        clients = _map(realm.get("clients"))
        for key in ("clients", "audiences"):
            for j, c in _strings(policy.get(key)):
                where = (*path, key, j)
                if c not in clients:
                    self.add(
                        "warning",
                        "dangling-reference",
                        f"{desc} names client `{c}`, which realm `{r}` does not declare",
                        where,
                        "it must exist on the server",
                    )
                elif key == "clients" and _map(clients[c]).get("publicClient") is True:
                    self._public_requester(desc, c, policy.get("method"), where)
        alias = policy.get("identityProvider")
        if isinstance(alias, str) and alias in _map(realm.get("identityProviders")):
            self.add(
                "error",
                "idp-conflict",
                f"{desc} creates identity provider `{alias}`, which `identityProviders` also declares",
                (*path, "identityProvider"),
                "give the exchange its own alias, or remove one of them",
            )

    def _public_requester(self, desc: str, client: str, method: Any, where: Path) -> None:
        """A public requester: the JWT Authorization Grant refuses it ("Public client not allowed to
        use authorization grant"); legacy token exchange lets it exchange without authenticating
        (real 26.7.3 answers 200), which works but lets anyone holding a source-realm token in."""
        if method == "jwt-authorization-grant":
            self.add(
                "error",
                "public-exchange-client",
                f"{desc} lets client `{client}` accept tokens through the JWT Authorization Grant, but "
                f'`{client}` is public: Keycloak answers "Public client not allowed to use authorization grant"',
                where,
                "set `publicClient: false`",
            )
            return
        pinned = method == "legacy-exchange"
        self.add(
            "warning",
            "public-exchange-client",
            f"{desc} lets client `{client}` exchange tokens, and `{client}` is public: legacy token exchange "
            "lets it exchange without authenticating, so anyone holding a source-realm token gets one of this "
            "realm"
            + (
                ""
                if pinned
                else "; on a server without legacy token exchange the entry goes through the JWT Authorization "
                "Grant, which refuses public clients (plan says so)"
            ),
            where,
            "set `publicClient: false`",
        )


def check_references(realms: dict[str, Any], positions: dict[Path, Position]) -> list[Finding]:
    """Every dangling or contradictory reference in the merged spec."""
    return _Checker(realms, positions).run()
