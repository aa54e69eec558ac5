"""Rules for the Keycloak 26.6+ variants of the chains: Identity Brokering API v2 and JWT Authorization Grant.

Each rule quotes the answer the real server gives when the link is missing (observed on 26.7.3,
docs/keycloak-26.7-facts.md §2 and §4). Which variant an entry uses is decided as `plan` decides it
(`realmctl.chains`), from the server's capabilities, so `check` never judges a v2 chain by v1 rules
or the other way round: `compiled_view` hands the v1 rules (check/broker.py, check/exchange.py) a
spec in which stored-token entries are written out as their v1 objects and JWT-grant entries are
left out.
"""

import copy
import dataclasses
import json
from typing import Any

from realmctl import capabilities
from realmctl.capabilities import JWT_GRANT, Capabilities
from realmctl.chains import JWT, Chains, _users, audience_scope
from realmctl.check.facts import Facts
from realmctl.check.findings import Finding, Severity
from realmctl.keycloak.session import Api, seg
from realmctl.kinds.client_access import aliases
from realmctl.spec.model import Spec

NOT_ALLOWED_V2 = 'answers 403 "Client not allowed to retrieve token for the provider"'


def exchange_methods(spec: Spec, caps: Capabilities) -> dict[tuple[str, str], str | None]:
    """The variant of every tokenExchange entry, as `plan` chooses it."""
    chains = Chains(caps)
    return {
        (r, n): chains.exchange_method(r, e.get("method"), bool(e.get("users")))
        for r, rs in spec.realms.items()
        for n, e in (rs.get("tokenExchange") or {}).items()
    }


def stored_apis(spec: Spec, caps: Capabilities) -> dict[tuple[str, str], str | None]:
    chains = Chains(caps)
    return {
        (r, n): chains.broker_api(r, e.get("api"))
        for r, rs in spec.realms.items()
        for n, e in (rs.get("storedTokens") or {}).items()
    }


def pinned_jwt(spec: Spec, realm: str, name: str) -> bool:
    return bool(spec.realms[realm]["tokenExchange"][name].get("method") == JWT)


def compiled_view(spec: Spec, api: Api) -> Spec:
    """The spec as the v1 rules should see it on this server: `storedTokens` entries compiled
    (v1: the role, scope and grants they stand for) and JWT-grant exchange entries removed."""
    caps = capabilities.read(api)
    if not any(rs.get("storedTokens") or rs.get("tokenExchange") for rs in spec.realms.values()):
        return spec
    realms = copy.deepcopy(spec.realms)
    chains = Chains(caps)
    for realm, declared in realms.items():
        chains.stored_tokens(realm, declared)
    for (realm, name), method in exchange_methods(spec, caps).items():
        if method == JWT or pinned_jwt(spec, realm, name):
            del realms[realm]["tokenExchange"][name]
    return dataclasses.replace(spec, realms=realms)


def check(spec: Spec, api: Api, facts: dict[str, Facts]) -> tuple[list[Finding], list[str]]:
    caps = capabilities.read(api)
    out: list[Finding] = []
    checked: list[str] = []
    for (realm, name), version in stored_apis(spec, caps).items():
        if version == "v2" and facts[realm].state.realm_rep() is not None:
            entry = spec.realms[realm]["storedTokens"][name]
            out += _stored_v2(spec, realm, name, entry, facts[realm])
            checked.append(f"stored tokens {name} (identity-brokering-api v2) in realm {realm}")
    if caps.broker_api == "v2":
        out += _v1_chain_on_v2(spec, facts)
    for (realm, name), method in exchange_methods(spec, caps).items():
        # A pinned grant on a server that has it off is judged here too (jwt.feature-off).
        if (method != JWT and not pinned_jwt(spec, realm, name)) or facts[realm].state.realm_rep() is None:
            continue
        entry = spec.realms[realm]["tokenExchange"][name]
        out += _jwt(spec, caps, realm, name, entry, facts)
        checked.append(f"JWT Authorization Grant {name} into realm {realm}")
    return out, checked


def _stored_v2(spec: Spec, realm: str, name: str, entry: dict[str, Any], f: Facts) -> list[Finding]:
    out: list[Finding] = []
    alias = entry["identityProvider"]
    where = spec.where("realms", realm, "storedTokens", name)

    def finding(rule: str, subject: str, message: str, fix: str, severity: Severity = "error") -> None:
        out.append(Finding(severity, rule, realm, subject, message, fix, where, "broker"))

    idp = f.idp(alias)
    if idp is None:
        finding(
            "v2.idp-missing",
            f"identity provider {alias}",
            f"identity provider {alias} does not exist, so no token is ever stored for it",
            "run `realmctl apply`",
        )
    elif not idp.get("storeToken"):
        in_session = (idp.get("config") or {}).get("storeTokenInSession") != "false"
        finding(
            "v2.no-stored-token",
            f"identity provider {alias}",
            f"identity provider {alias} has storeToken off "
            + (
                "(storeTokenInSession on), so only a session that came through it gets a token (from the "
                "session); for any other (a password login, a token from another login) "
                if in_session
                else "and storeTokenInSession false, so "
            )
            + f'POST /realms/{realm}/broker/{alias}/token answers 400 "No token stored." (token_expired)',
            f"identityProviders:\n  {alias}:\n    storeToken: true",
            "warning" if in_session else "error",
        )
    for client_id in entry["clients"]:
        client = f.state.client(client_id)
        if client is None:
            finding("v2.client-missing", f"client {client_id}", f"client {client_id} does not exist", "run apply")
            continue
        attributes = client.get("attributes") or {}
        if client.get("publicClient"):
            finding(
                "v2.public-client",
                f"client {client_id}",
                f"client {client_id} is public; the Identity Brokering API v2 authenticates the client, so "
                'it answers 403 "public clients not allowed"',
                f"clients:\n  {client_id}:\n    publicClient: false",
            )
        elif attributes.get("external.token.enabled") != "true":
            finding(
                "v2.client-not-enabled",
                f"client {client_id}",
                f"client {client_id} lacks the attribute external.token.enabled=true, so the endpoint {NOT_ALLOWED_V2}",
                "run `realmctl apply` (the storedTokens entry sets it)",
            )
        elif alias not in aliases(attributes, "stored-tokens"):
            finding(
                "v2.idp-not-allowed",
                f"client {client_id}",
                f"identity provider {alias} is not in the external.token.idp attribute of client {client_id} "
                f"(it lists {aliases(attributes, 'stored-tokens') or 'none'}), so the endpoint {NOT_ALLOWED_V2}",
                "run `realmctl apply` (the storedTokens entry adds it)",
            )
    return out


def _v1_chain_on_v2(spec: Spec, facts: dict[str, Facts]) -> list[Finding]:
    """A spec written for the v1 endpoint (no storedTokens entry) on a server with v1 off."""
    out = []
    for realm, rs in spec.realms.items():
        if rs.get("storedTokens"):
            continue
        for alias, idp in (rs.get("identityProviders") or {}).items():
            if idp.get("storedTokensReadable") or idp.get("grantReadTokenToLinkedUsers"):
                out.append(
                    Finding(
                        "error",
                        "v2.v1-chain",
                        realm,
                        f"identity provider {alias}",
                        "this spec wires stored-token reading for the Identity Brokering API v1 "
                        "(broker/read-token), and this server has v1 off (identity-brokering-api:v2 is on): "
                        f'GET /realms/{realm}/broker/{alias}/token answers 400 "Identity Brokering API feature '
                        'not enabled", and new realms have no broker client',
                        f"storedTokens:\n  {alias}-readers:\n    identityProvider: {alias}\n    clients: [<client>]",
                        spec.where("realms", realm, "identityProviders", alias),
                        "broker",
                    )
                )
    return out


def _jwt(
    spec: Spec, caps: Capabilities, realm: str, name: str, entry: dict[str, Any], facts: dict[str, Facts]
) -> list[Finding]:
    out: list[Finding] = []
    f = facts[realm]
    alias = entry["identityProvider"]
    source_realm, source_client = entry["source"]["realm"], entry["source"]["client"]
    where = spec.where("realms", realm, "tokenExchange", name)

    def finding(rule: str, subject: str, message: str, fix: str, severity: Severity = "error") -> None:
        out.append(Finding(severity, rule, realm, subject, message, fix, where, "grant"))

    if not caps.on(JWT_GRANT):
        finding(
            "jwt.feature-off",
            "the server",
            f"the server has {JWT_GRANT} off, so the token endpoint refuses "
            "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer",
            "start Keycloak with --features=jwt-authorization-grant",
        )
        return out
    no_idp = '"No Identity Provider for provided issuer"'
    idp = f.idp(alias)
    source_issuer = facts[source_realm].discovery(source_realm).get("issuer") if source_realm in facts else None
    if idp is None:
        finding("jwt.idp-missing", f"identity provider {alias}", f"no identity provider {alias}: {no_idp}", "apply")
    else:
        config = idp.get("config") or {}
        if config.get("jwtAuthorizationGrantEnabled") != "true" or idp.get("enabled") is False:
            finding(
                "jwt.idp-grant-off",
                f"identity provider {alias}",
                f"identity provider {alias} is not enabled for the JWT Authorization Grant "
                f"(jwtAuthorizationGrantEnabled {config.get('jwtAuthorizationGrantEnabled', 'unset')}, enabled "
                f"{idp.get('enabled', True)}), so the grant answers 400 {no_idp}",
                "run `realmctl apply` (the tokenExchange entry enables it)",
            )
        elif source_issuer and config.get("issuer") != source_issuer:
            finding(
                "jwt.issuer-mismatch",
                f"identity provider {alias}",
                f"identity provider {alias} has issuer {config.get('issuer')!r}, and realm {source_realm}'s "
                f"tokens carry iss {source_issuer!r}; the IdP is found by issuer, so the grant answers 400 {no_idp}",
                f"tokenExchange:\n  {name}:\n    publicUrl: {source_issuer.rsplit('/realms/', 1)[0]}",
            )
    for client_id in entry["clients"]:
        client = f.state.client(client_id)
        if client is None:
            continue
        attributes = client.get("attributes") or {}
        if client.get("publicClient"):
            finding(
                "jwt.public-client",
                f"client {client_id}",
                f'client {client_id} is public: the grant answers 400 "Public client not allowed to use '
                'authorization grant"',
                f"clients:\n  {client_id}:\n    publicClient: false",
            )
        elif attributes.get("oauth2.jwt.authorization.grant.enabled") != "true":
            finding(
                "jwt.client-not-enabled",
                f"client {client_id}",
                f"client {client_id} lacks oauth2.jwt.authorization.grant.enabled=true: the grant answers 400 "
                '"JWT Authorization Grant is not supported for the requested client"',
                "run `realmctl apply` (the tokenExchange entry sets it)",
            )
        elif alias not in aliases(attributes, "jwt-grant"):
            finding(
                "jwt.idp-not-allowed",
                f"client {client_id}",
                f"identity provider {alias} is not in oauth2.jwt.authorization.grant.idp of client {client_id}: "
                'the grant answers 400 "Identity Provider is not allowed for the client"',
                "run `realmctl apply` (the tokenExchange entry adds it)",
            )
        replaced = replaced_audiences(attributes, alias)
        own = f.discovery(realm).get("issuer")
        if replaced and own and not {own, f"{own}/protocol/openid-connect/token"} & set(replaced):
            finding(
                "jwt.audience-replaced",
                f"client {client_id}",
                f"client {client_id}'s oauth2.jwt.authorization.grant.audience accepts only {replaced} from "
                f"identity provider {alias}, in place of realm {realm}'s issuer {own}, which realmctl's assertions "
                'carry: the grant answers 400 "Invalid token audience"',
                f"remove the attribute oauth2.jwt.authorization.grant.audience of client {client_id} (or add {own} "
                "to its list for this identity provider)",
            )
    for user, source_name in _users(entry.get("users")).items():
        source = _source_user(facts.get(source_realm), source_realm, source_name)
        links = _links(f, user)
        link = next((x for x in links if x.get("identityProvider") == alias), None)
        if link is None or (source is not None and link.get("userId") != source["id"]):
            state = "is not linked to" if link is None else "is linked to another user of"
            finding(
                "jwt.user-not-linked",
                f"user {user}",
                f"user {user} {state} identity provider {alias} (the link's userId must be {source_realm}'s id of "
                f'{source_name}); the grant never creates users and answers 400 "User not found"',
                "run `realmctl apply` (the tokenExchange entry links the users it lists)",
            )
    if source_realm in facts and facts[source_realm].state.realm_rep() is not None:
        out += _audience(spec, realm, name, source_realm, source_client, facts[source_realm], where)
    return out


def replaced_audiences(attributes: dict[str, Any], alias: str) -> list[str]:
    """The audiences a client accepts from `alias` in place of the realm's own (Keycloak 26.6+ client
    attribute `oauth2.jwt.authorization.grant.audience`: a JSON list of {"key": alias, "value":
    audience}, as the admin console writes it; observed honoured on 26.7.3)."""
    try:
        pairs = json.loads(attributes.get("oauth2.jwt.authorization.grant.audience") or "[]")
    except ValueError:
        return []
    if not isinstance(pairs, list):
        return []
    return [str(p.get("value")) for p in pairs if isinstance(p, dict) and p.get("key") == alias]


def _audience(
    spec: Spec, realm: str, name: str, source_realm: str, source_client: str, f: Facts, where: Any
) -> list[Finding]:
    """Realm B must issue the assertion with exactly one audience: realm A's issuer."""
    client = f.state.client(source_client)
    if client is None:
        return []
    scope = audience_scope(realm)
    listed = (client.get("defaultClientScopes") or []) + (client.get("optionalClientScopes") or [])
    out = []
    if scope not in listed:
        out.append(
            Finding(
                "error",
                "jwt.audience-missing",
                realm,
                f"client {source_client} of realm {source_realm}",
                f"client {source_client} of realm {source_realm} has no client scope {scope}, so its tokens never "
                f'carry aud = realm {realm}\'s issuer and the grant answers 400 "Invalid token audience"',
                "run `realmctl apply` (the tokenExchange entry attaches it)",
                where,
                "grant",
            )
        )
    elif client.get("fullScopeAllowed", True):
        out.append(
            Finding(
                "warning",
                "jwt.multiple-audiences",
                realm,
                f"client {source_client} of realm {source_realm}",
                f"client {source_client} of realm {source_realm} has fullScopeAllowed on, so a user holding account "
                f"roles gets aud = [realm {realm}'s issuer, account] and the grant answers 400 \"Multiple "
                'audiences not allowed"',
                f"realms:\n  {source_realm}:\n    clients:\n      {source_client}:\n        fullScopeAllowed: false",
                spec.where("realms", source_realm, "clients", source_client) or where,
                "grant",
            )
        )
    return out


def _source_user(f: Facts | None, realm: str, name: str) -> dict[str, Any] | None:
    if f is None:
        return None
    if "@" not in name:
        return f.user(name)
    found = f._once(("by-email", name), f"admin/realms/{seg(realm)}/users", email=name, exact="true") or []
    return found[0] if len(found) == 1 else None


def _links(f: Facts, username: str) -> list[dict[str, Any]]:
    user = f.user(username)
    if user is None:
        return []
    return f._once(("links", username), f"{f.base}/users/{user['id']}/federated-identity") or []
