"""Rules for the stored-token chain: GET /realms/{realm}/broker/{alias}/token (SEMANTICS §3.5, §4, §5).

Per realm whose spec declares an IdP that stores tokens, every declared client (not bearer-only)
and every user the spec grants broker/read-token to (or declares) is checked against the live
realm, link by link, in the order the endpoint itself checks them.
"""

from typing import Any

import yaml

from realmctl.check.facts import BROKER_CLAIMS, CLIENT_ROLE_MAPPER, LIGHTWEIGHT, Facts
from realmctl.check.findings import Finding
from realmctl.spec.model import Spec

SCOPE_SNIPPET = """clientScopes:
  broker_read_token:
    mappers:
      broker roles: {type: user-client-role, client: broker}
clients:
  %(client)s:
    defaultClientScopes: [broker_read_token]"""


def _broker_mappers(scopes: list[dict[str, Any]], client: dict[str, Any]) -> list[dict[str, Any]]:
    mappers = list(client.get("protocolMappers") or [])
    for scope in scopes:
        mappers.extend({**m, "_scope": scope["name"]} for m in scope.get("protocolMappers") or [])
    out = []
    for m in mappers:
        config = m.get("config") or {}
        if m.get("protocolMapper") == CLIENT_ROLE_MAPPER and config.get("usermodel.clientRoleMapping.clientId") in (
            None,
            "",
            "broker",
        ):
            out.append(m)
    return out


def mapper_problem(mapper: dict[str, Any], lightweight: bool) -> str | None:
    """Why this User Client Role mapper would not put read-token in resource_access.broker.roles."""
    config = mapper.get("config") or {}
    if config.get("claim.name") not in BROKER_CLAIMS:
        return "custom-claim-name"
    if config.get("access.token.claim", "true") != "true":
        return "access-claim-off"
    if lightweight and config.get("lightweight.claim") != "true":
        return "lightweight-token"
    if config.get("usermodel.clientRoleMapping.rolePrefix"):
        return "role-prefix"
    return None


MAPPER_TEXT = {
    "custom-claim-name": (
        "mapper {m} writes the role under claim {claim!r}; the broker token endpoint reads only "
        "resource_access.broker.roles, so it answers 403",
        "      claimName: resource_access.${{client_id}}.roles   # or leave claimName out",
    ),
    "access-claim-off": (
        "mapper {m} has 'Add to access token' off; the broker token endpoint reads the access token, so it answers 403",
        "      accessToken: true",
    ),
    "lightweight-token": (
        "client {client} uses lightweight access tokens and mapper {m} has no lightweight.claim, so "
        "resource_access is left out and the endpoint answers 403",
        "      lightweight: true",
    ),
    "role-prefix": (
        "mapper {m} prefixes role names, so the token says {prefix}read-token, not read-token, and the "
        "endpoint answers 403",
        "      # remove rolePrefix",
    ),
}


#: The spec field that mends each mapper problem (None: the field is removed).
MAPPER_FIELD: dict[str, tuple[str, Any]] = {
    "custom-claim-name": ("claimName", None),
    "access-claim-off": ("accessToken", True),
    "lightweight-token": ("lightweight", True),
    "role-prefix": ("rolePrefix", None),
}


def snippet(body: dict[str, Any]) -> str:
    """A spec fragment (relative to the realm) as YAML, the form `validate` and `apply` take."""
    return yaml.safe_dump(body, sort_keys=False, default_flow_style=None, width=1000).rstrip()


def mapper_fix(rs: dict[str, Any], client_id: str, mapper: dict[str, Any], problem: str, live: list[str]) -> str:
    """The spec lines that mend `mapper`.

    A mapper the spec declares is repeated whole with the one field changed, so that the fragment
    passes `validate` as it is. A mapper the spec does not own (the built-in `roles` scope's, shared
    by every client of the realm, whose config also carries keys realmctl does not write) is left
    alone: the fix gives the client a scope of its own that emits the role, added to the client's
    default scopes as the spec lists them, else as they are live (`live`), so none is dropped.
    """
    field, value = MAPPER_FIELD[problem]
    scope = mapper.get("_scope")
    declared = (((rs.get("clientScopes") or {}).get(scope) or {}).get("mappers") or {}).get(mapper["name"])
    if scope and declared is not None:
        fixed = {k: v for k, v in declared.items() if k != field}
        if value is not None:
            fixed[field] = value
        return snippet({"clientScopes": {scope: {"mappers": {mapper["name"]: fixed}}}})
    own: dict[str, Any] = {"type": "user-client-role", "client": "broker"}
    if problem == "lightweight-token":
        own["lightweight"] = True
    declared_client = (rs.get("clients") or {}).get(client_id) or {}
    defaults = list(declared_client.get("defaultClientScopes", live) or [])
    name = (
        "broker_read_token"
        if "broker_read_token" not in (rs.get("clientScopes") or {})
        else f"{client_id}_broker_roles"
    )
    return snippet(
        {
            "clientScopes": {name: {"mappers": {"broker roles": own}}},
            "clients": {client_id: {"defaultClientScopes": [*defaults, name]}},
        }
    )


def token_idps(realm_spec: dict[str, Any]) -> dict[str, Any]:
    """The IdPs whose stored tokens the spec means to be read: any of the three switches set."""
    switches = ("storeToken", "storedTokensReadable", "grantReadTokenToLinkedUsers")
    return {a: s for a, s in (realm_spec.get("identityProviders") or {}).items() if any(k in s for k in switches)}


def chain_clients(realm_spec: dict[str, Any], facts: Facts) -> list[tuple[str, dict[str, Any]]]:
    """The declared clients that exist and can hold user tokens (not bearer-only)."""
    out = []
    for client_id in realm_spec.get("clients") or {}:
        client = facts.state.client(client_id)
        if client is not None and not client.get("bearerOnly"):
            out.append((client_id, client))
    return out


def chain_users(realm_spec: dict[str, Any]) -> list[str]:
    """Declared users and users the spec grants broker/read-token, lower-cased."""
    users = {u.lower() for u in realm_spec.get("users") or {}}
    for grant in realm_spec.get("roleGrants") or []:
        if "read-token" in ((grant.get("clientRoles") or {}).get("broker") or []):
            users |= {u.lower() for u in grant.get("users") or []}
    return sorted(users)


def check_realm(spec: Spec, realm: str, facts: Facts) -> tuple[list[Finding], list[str]]:
    rs = spec.realms[realm]
    idps = token_idps(rs)
    if not idps:
        return [], []
    out: list[Finding] = []
    checked: list[str] = []

    def where(*path: Any) -> Any:
        return spec.where("realms", realm, *path)

    # IdP links.
    readable = []
    for alias in idps:
        live = facts.idp(alias)
        if live is None:
            out.append(
                Finding(
                    "error",
                    "broker.idp-missing",
                    realm,
                    f"identity provider {alias}",
                    f"identity provider {alias} does not exist on the server; the endpoint answers 502",
                    "run `realmctl apply`",
                    where("identityProviders", alias),
                    "broker",
                )
            )
            continue
        if not live.get("storeToken"):
            out.append(
                Finding(
                    "error",
                    "broker.store-token-off",
                    realm,
                    f"identity provider {alias}",
                    f"identity provider {alias} does not store tokens, so GET /realms/{realm}/broker/{alias}/token "
                    f'answers 400 "Identity Provider [{alias}] does not support this operation."',
                    f"identityProviders:\n  {alias}:\n    storeToken: true",
                    where("identityProviders", alias),
                    "broker",
                )
            )
        if live.get("storeToken") and live.get("addReadTokenRoleOnCreate"):
            readable.append(alias)
    all_readable = [i["alias"] for i in facts.state.idps() if i.get("storeToken") and i.get("addReadTokenRoleOnCreate")]
    if len(all_readable) > 1:
        out.append(
            Finding(
                "warning",
                "broker.several-readable-idps",
                realm,
                ", ".join(sorted(all_readable)),
                "several identity providers store readable tokens; broker/read-token is not tied to one provider, "
                "so a client allowed to read one user's token can read the tokens of all these providers "
                "(keycloak/keycloak#53059)",
                "identityProviders:\n  <the others>:\n    storedTokensReadable: false",
                where("identityProviders"),
            )
        )

    # Client links: role scope, mapper, default scope.
    for client_id, client in chain_clients(rs, facts):
        checked.append(f"client {client_id} reads stored tokens")
        defaults = facts.client_scopes(client_id, "default")
        optional = facts.client_scopes(client_id, "optional")
        if not client.get("fullScopeAllowed", True):
            allowed = facts.scope_allows("client", client_id, "broker", "read-token") or any(
                facts.scope_allows("scope", s["name"], "broker", "read-token") for s in defaults
            )
            if not allowed:
                out.append(
                    Finding(
                        "error",
                        "broker.role-not-in-scope",
                        realm,
                        f"client {client_id}",
                        f"client {client_id} has fullScopeAllowed=false and neither it nor one of its default "
                        "scopes has broker/read-token in its role scope, so the role never reaches its tokens and "
                        f'the endpoint answers 403 "Client [{client_id}] not authorized to retrieve tokens ..."',
                        f"clients:\n  {client_id}:\n    roleScope:\n      clients:\n        broker: [read-token]",
                        where("clients", client_id),
                        "claims",
                    )
                )
        lightweight = (client.get("attributes") or {}).get(LIGHTWEIGHT) == "true"
        good = [m for m in _broker_mappers(defaults, client) if mapper_problem(m, lightweight) is None]
        if good:
            continue
        bad = _broker_mappers(defaults, client)
        if bad:
            declared_scopes = set(rs.get("clientScopes") or {})
            bad.sort(key=lambda m: m.get("_scope") not in declared_scopes)  # the user's own mapper first
            m = bad[0]
            problem = mapper_problem(m, lightweight)
            assert problem is not None
            text, _ = MAPPER_TEXT[problem]
            config = m.get("config") or {}
            message = text.format(
                m=repr(m["name"]) + (f" (scope {m['_scope']})" if m.get("_scope") else ""),
                claim=config.get("claim.name"),
                client=client_id,
                prefix=config.get("usermodel.clientRoleMapping.rolePrefix", ""),
            )
            scope = m.get("_scope", "<scope>")
            out.append(
                Finding(
                    "error",
                    f"broker.{problem}",
                    realm,
                    f"client {client_id}",
                    message,
                    mapper_fix(rs, client_id, m, problem, client.get("defaultClientScopes") or []),
                    where("clientScopes", scope, "mappers", m["name"]) or where("clients", client_id),
                    "claims",
                )
            )
        elif _broker_mappers(optional, {}):
            names = sorted({m["_scope"] for m in _broker_mappers(optional, {})})
            out.append(
                Finding(
                    "error",
                    "broker.scope-optional",
                    realm,
                    f"client {client_id}",
                    f"the scope carrying the broker role mapper ({', '.join(names)}) is only an optional scope of "
                    f"client {client_id}; it reaches the token only when requested with scope=, so by default the "
                    "endpoint answers 403",
                    f"clients:\n  {client_id}:\n    defaultClientScopes: [{names[0]}]\n    optionalClientScopes: []",
                    where("clients", client_id),
                    "claims",
                )
            )
        else:
            out.append(
                Finding(
                    "error",
                    "broker.no-mapper",
                    realm,
                    f"client {client_id}",
                    f"no mapper of client {client_id} or of its default scopes puts broker roles into "
                    "resource_access.broker.roles of the access token (no `roles` scope, no User Client Role "
                    "mapper for broker), so the endpoint answers 403",
                    SCOPE_SNIPPET % {"client": client_id},
                    where("clients", client_id),
                    "claims",
                )
            )

    # User links: the role, and the IdP link.
    for username in chain_users(rs):
        if facts.user(username) is None:
            continue
        for alias in idps:
            checked.append(f"user {username} via {alias}")
        if "read-token" not in facts.effective_client_roles(username, "broker"):
            linked = [a for a in readable if a in facts.links(username)]
            if linked:
                message = (
                    f"user {username} is linked to {linked[0]} but does not hold broker/read-token: "
                    "stored-tokens-readable grants it only at a user's first broker login after it was "
                    "switched on, so this user will never receive it"
                )
                fix = f"identityProviders:\n  {linked[0]}:\n    grantReadTokenToLinkedUsers: true"
                rule = "broker.read-token-only-for-new-users"
            else:
                message = (
                    f"user {username} does not hold broker/read-token (directly, through a group or a "
                    "composite role), so their tokens never carry it and the endpoint answers 403"
                )
                fix = f"roleGrants:\n  - users: [{username}]\n    clientRoles:\n      broker: [read-token]"
                rule = "broker.user-lacks-role"
            out.append(
                Finding(
                    "error",
                    rule,
                    realm,
                    f"user {username}",
                    message,
                    fix,
                    where("users", username) or where("roleGrants"),
                    "claims",
                )
            )
        for alias in idps:
            if facts.idp(alias) is not None and alias not in facts.links(username):
                out.append(
                    Finding(
                        "warning",
                        "broker.user-not-linked",
                        realm,
                        f"user {username}",
                        f"user {username} has no link to identity provider {alias} yet, so the endpoint answers 400 "
                        f'"User [...] is not associated with identity provider [{alias}]." until they log in '
                        "through it (tokens are stored at that login)",
                        f"user {username} logs in once through {alias} (or links it in the account console)",
                        where("users", username),
                        "broker",
                    )
                )
    out.extend(service_accounts(spec, realm, facts, idps))
    out.extend(linked_users_without_role(spec, realm, facts, readable))
    return out, checked


def service_accounts(spec: Spec, realm: str, facts: Facts, idps: dict[str, Any]) -> list[Finding]:
    """Service accounts granted broker/read-token: a client_credentials token is the service
    account's own, and the endpoint reads the stored token of the token's subject, never of a user
    the caller names. The service account has no link, so the answer is always 400."""
    out = []
    rs = spec.realms[realm]
    for client_id, client in chain_clients(rs, facts):
        if not client.get("serviceAccountsEnabled"):
            continue
        user = facts.state.service_account_user(client_id)
        if user is None:
            continue
        path = f"{facts.base}/users/{user['id']}/role-mappings/clients/{facts.state.client_uuid('broker')}/composite"
        roles = {r["name"] for r in facts._once(("eff-sa", client_id), path) or []}
        if "read-token" not in roles:
            continue
        links = {
            link["identityProvider"]
            for link in facts._once(("links-sa", client_id), f"{facts.base}/users/{user['id']}/federated-identity")
            or []
        }
        for alias in idps:
            if alias in links or facts.idp(alias) is None:
                continue
            out.append(
                Finding(
                    "error",
                    "broker.service-account-reads-own-links",
                    realm,
                    f"client {client_id}",
                    f"the service account of client {client_id} holds broker/read-token, but a client_credentials "
                    f"token is the service account's own: GET /realms/{realm}/broker/{alias}/token returns the "
                    "stored token of the token's subject only, and the service account is not linked, so it "
                    f'answers 400 "User [...] is not associated with identity provider [{alias}]." The endpoint '
                    "cannot read another user's stored token",
                    f"call the endpoint with the user's own access token (authorization code or password grant "
                    f"of {client_id}); remove broker/read-token from `roleGrants: serviceAccounts: [{client_id}]`",
                    where_of(spec, realm, "roleGrants") or where_of(spec, realm, "clients", client_id),
                    "broker",
                )
            )
    return out


def where_of(spec: Spec, realm: str, *path: Any) -> Any:
    return spec.where("realms", realm, *path)


def linked_users_without_role(spec: Spec, realm: str, facts: Facts, readable: list[str]) -> list[Finding]:
    """Users the IdP brought (not declared in the spec) who linked before stored tokens became
    readable: Keycloak grants broker/read-token only at a first broker login, and `apply`
    backfills the others only with grantReadTokenToLinkedUsers. Counted from two listings (the
    users linked to the IdP, the role's direct members), not one request per user; only the few
    without a direct grant are looked at one by one, for a grant through a group or composite."""
    rs = spec.realms[realm]
    declared = set(chain_users(rs))
    out = []
    for alias in readable:
        if ((rs.get("identityProviders") or {}).get(alias) or {}).get("grantReadTokenToLinkedUsers"):
            continue
        holders = set(facts.state.role_member_ids("broker", "read-token"))
        lacking = sorted(
            u["username"]
            for u in facts.state.linked_users(alias)
            if u["username"].lower() not in holders and u["username"].lower() not in declared
        )
        lacking = [u for u in lacking[:50] if "read-token" not in facts.effective_client_roles(u, "broker")]
        if not lacking:
            continue
        shown = ", ".join(lacking[:5]) + (", ..." if len(lacking) > 5 else "")
        out.append(
            Finding(
                "warning",
                "broker.linked-users-without-read-token",
                realm,
                f"{len(lacking)} user(s) linked to {alias}",
                f"{len(lacking)} user(s) linked to identity provider {alias} ({shown}) do not hold broker/read-token: "
                "they linked before stored tokens became readable, and Keycloak grants the role only at a first "
                f'broker login, so the endpoint answers them 403 "Client [...] not authorized to retrieve tokens '
                f'from identity provider [{alias}]."',
                f"identityProviders:\n  {alias}:\n    grantReadTokenToLinkedUsers: true",
                where_of(spec, realm, "identityProviders", alias),
                "claims",
            )
        )
    return out
