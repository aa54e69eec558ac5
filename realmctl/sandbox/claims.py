"""Access-token and userinfo claims, computed the way Keycloak's `TokenManager.getAccess` does.

Whether `resource_access.broker.roles` reaches a token (SEMANTICS §5) depends on three independent
things, each modelled here rather than shortcut: the user's effective roles, the requesting
client's role scope (full scope or scope mappings of the client and its client scopes), and the
protocol mappers of the client and its scopes with their token-claim switches.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from realmctl.sandbox.store import Client, ClientScope, Realm, User, new_id

LIGHTWEIGHT = "client.use.lightweight.access.token.enabled"
OPENID = "openid"


class InvalidScope(Exception):
    """A requested scope is neither `openid` nor a scope attached to the client."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(" ".join(names))
        self.names = names


@dataclass
class TokenContext:
    """Everything a token is computed from: realm, client, user, the scopes in effect, notes.

    `scopes` are the client scopes in effect (default scopes plus requested optional ones), in
    the order Keycloak lists them; `openid` says whether `openid` was requested.
    """

    realm: Realm
    client: Client
    user: User
    scopes: list[ClientScope]
    openid: bool = False
    notes: dict[str, str] = field(default_factory=dict)
    sid: str | None = None

    @property
    def lightweight(self) -> bool:
        return (self.client.rep.get("attributes") or {}).get(LIGHTWEIGHT) == "true"


def scopes_in_effect(realm: Realm, client: Client, requested: str | None) -> tuple[list[ClientScope], bool]:
    """The client's default scopes plus the optional scopes named in `scope=`, and `openid`.

    Unknown names raise `InvalidScope` (Keycloak answers 400 invalid_scope for them).
    """
    names = [n for n in (requested or "").split() if n]
    attached = {
        realm.client_scopes[sid].name: (realm.client_scopes[sid], default)
        for sid, default in client.scopes.items()
        if sid in realm.client_scopes
    }
    unknown = [n for n in names if n != OPENID and n not in attached]
    if unknown:
        raise InvalidScope(unknown)
    scopes = [scope for scope, default in attached.values() if default or scope.name in names]
    return scopes, OPENID in names


def scope_claim(ctx: TokenContext) -> str:
    """`openid` (when asked for) and the scopes whose `include.in.token.scope` is not false."""
    names = [OPENID] if ctx.openid else []
    names += [s.name for s in ctx.scopes if s.attributes.get("include.in.token.scope", "true") == "true"]
    return " ".join(names)


# --- roles ----------------------------------------------------------------------------------------
def role_scope(realm: Realm, client: Client, scopes: Iterable[ClientScope]) -> set[str] | None:
    """Role ids the client may put into tokens; None when `fullScopeAllowed` (no restriction).

    Without full scope: the client's own roles, its own scope mappings and those of every scope
    in effect, composite-expanded (TokenManager.getAccess).
    """
    if client.rep.get("fullScopeAllowed", True):
        return None
    allowed = {r.id for r in realm.client_roles(client.id)} | set(client.scope_role_ids)
    for scope in scopes:
        allowed |= scope.scope_role_ids
    return realm.expand(allowed)


def resolved_role_ids(ctx: TokenContext) -> set[str]:
    """The user's effective roles (direct, groups, composites) within the client's role scope."""
    roles = ctx.realm.user_effective_role_ids(ctx.user)
    allowed = role_scope(ctx.realm, ctx.client, ctx.scopes)
    return roles if allowed is None else roles & allowed


# --- mapper plumbing ------------------------------------------------------------------------------
def mappers_in_effect(ctx: TokenContext) -> list[dict[str, Any]]:
    """The OIDC mappers of the client and of its scopes in effect; audience resolve goes last.

    Keycloak sorts mappers by priority; the only ordering that changes an outcome here is that
    the audience mappers see the final role resolution, so they run after the others.
    """
    mappers = list(ctx.client.mappers)
    for scope in ctx.scopes:
        mappers.extend(scope.mappers)
    mappers = [m for m in mappers if (m.get("protocol") or "openid-connect") == "openid-connect"]
    late = ("oidc-audience-resolve-mapper", "oidc-audience-mapper")
    return [m for m in mappers if m.get("protocolMapper") not in late] + [
        m for m in mappers if m.get("protocolMapper") in late
    ]


def _flag(config: dict[str, Any], key: str, default: str = "true") -> bool:
    return str(config.get(key, default)) == "true"


def in_access_token(mapper: dict[str, Any], lightweight: bool) -> bool:
    """`access.token.claim` (missing ⇒ true); lightweight tokens need `lightweight.claim=true`."""
    config = mapper.get("config") or {}
    if lightweight:
        return _flag(config, "lightweight.claim", "false")
    return _flag(config, "access.token.claim")


def in_id_token(mapper: dict[str, Any]) -> bool:
    """`id.token.claim`; absent means no (OIDCAttributeMapperHelper.includeInIDToken)."""
    return _flag(mapper.get("config") or {}, "id.token.claim", "false")


def in_userinfo(mapper: dict[str, Any]) -> bool:
    """`userinfo.token.claim`, falling back to `id.token.claim` when absent (SEMANTICS §5)."""
    config = mapper.get("config") or {}
    if "userinfo.token.claim" in config:
        return _flag(config, "userinfo.token.claim")
    return _flag(config, "id.token.claim", "false")


def split_claim_path(name: str) -> list[str]:
    """`a.b\\.c` → ["a", "b.c"]: dots nest unless escaped (OIDCAttributeMapperHelper)."""
    return [part.replace("\\.", ".") for part in re.split(r"(?<!\\)\.", name)]


def convert(value: Any, json_type: str | None) -> Any:
    """Apply `jsonType.label` the way the attribute mappers do; unconvertible values stay as-is."""
    try:
        if json_type == "long" or json_type == "int":
            return int(value)
        if json_type == "boolean":
            return value if isinstance(value, bool) else str(value).lower() == "true"
        if json_type == "JSON" and isinstance(value, str):
            return json.loads(value)
    except (TypeError, ValueError):
        return value
    if json_type == "String" and isinstance(value, bool):
        return str(value).lower()
    return value


def put_claim(claims: dict[str, Any], name: str, value: Any) -> None:
    """Set a (nested) claim; lists merge with an existing list, as the role mappers merge."""
    path = split_claim_path(name)
    node = claims
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    last = path[-1]
    existing = node.get(last)
    if isinstance(existing, list) and isinstance(value, list):
        node[last] = existing + [v for v in value if v not in existing]
    else:
        node[last] = value


def add_audience(claims: dict[str, Any], audience: str) -> None:
    aud = claims.get("aud")
    values = [] if aud is None else [aud] if isinstance(aud, str) else list(aud)
    if audience not in values:
        values.append(audience)
    claims["aud"] = values[0] if len(values) == 1 else values


# --- the mappers ----------------------------------------------------------------------------------
USER_PROPERTIES = {"username", "email", "firstName", "lastName", "emailVerified", "enabled"}


def user_attribute(user: User, name: str) -> list[Any]:
    """Values of a user attribute; profile fields come from the representation."""
    if name in USER_PROPERTIES:
        value = user.rep.get(name)
        return [] if value is None else [value]
    values = (user.rep.get("attributes") or {}).get(name)
    if values is None:
        return []
    return list(values) if isinstance(values, list) else [values]


def _role_names(ctx: TokenContext, role_ids: Iterable[str], prefix: str) -> list[str]:
    return sorted(prefix + ctx.realm.roles[r].name for r in role_ids)


def apply_mapper(ctx: TokenContext, mapper: dict[str, Any], claims: dict[str, Any], roles: set[str]) -> None:
    """Write one mapper's claim(s) into `claims`; unknown mapper types contribute nothing."""
    kind = mapper.get("protocolMapper")
    config: dict[str, Any] = mapper.get("config") or {}
    claim = config.get("claim.name")
    json_type = config.get("jsonType.label")
    realm, user, client = ctx.realm, ctx.user, ctx.client
    if kind == "oidc-usermodel-realm-role-mapper":
        prefix = config.get("usermodel.realmRoleMapping.rolePrefix") or ""
        names = _role_names(ctx, (r for r in roles if realm.roles[r].client_id is None), prefix)
        if names:
            put_claim(claims, claim or "realm_access.roles", names)
    elif kind == "oidc-usermodel-client-role-mapper":
        prefix = config.get("usermodel.clientRoleMapping.rolePrefix") or ""
        only = config.get("usermodel.clientRoleMapping.clientId")
        name = claim or "resource_access.${client_id}.roles"
        by_client: dict[str, list[str]] = {}
        for rid in roles:
            role = realm.roles[rid]
            if role.client_id is None or role.client_id not in realm.clients:
                continue
            owner = realm.clients[role.client_id].client_id
            if only and owner != only:
                continue
            by_client.setdefault(owner, []).append(rid)
        for owner in sorted(by_client):
            put_claim(claims, name.replace("${client_id}", owner), _role_names(ctx, by_client[owner], prefix))
    elif kind == "oidc-audience-resolve-mapper":
        for rid in roles:
            role = realm.roles[rid]
            if role.client_id and role.client_id in realm.clients and role.client_id != client.id:
                add_audience(claims, realm.clients[role.client_id].client_id)
    elif kind == "oidc-audience-mapper":
        for audience in (config.get("included.client.audience"), config.get("included.custom.audience")):
            if audience:
                add_audience(claims, audience)
    elif kind == "oidc-sub-mapper":
        claims["sub"] = user.id
    elif kind in ("oidc-usermodel-attribute-mapper", "oidc-usermodel-property-mapper"):
        values = user_attribute(user, config.get("user.attribute") or "")
        if values and claim:
            multivalued = config.get("multivalued") == "true"
            value = [convert(v, json_type) for v in values] if multivalued else convert(values[0], json_type)
            put_claim(claims, claim, value)
    elif kind == "oidc-full-name-mapper":
        name = " ".join(p for p in (user.rep.get("firstName"), user.rep.get("lastName")) if p)
        if name:
            claims["name"] = name
    elif kind == "oidc-usersessionmodel-note-mapper":
        note = ctx.notes.get(config.get("user.session.note") or "")
        if note is not None and claim:
            put_claim(claims, claim, convert(note, json_type))
    elif kind == "oidc-hardcoded-claim-mapper":
        if claim and config.get("claim.value") is not None:
            put_claim(claims, claim, convert(config["claim.value"], json_type))
    elif kind == "oidc-group-membership-mapper":
        full = config.get("full.path", "true") == "true"
        groups = [realm.groups[g] for g in user.group_ids if g in realm.groups]
        names = sorted(
            "/" + "/".join(x.name for x in reversed(realm.group_chain(g.id))) if full else g.name for g in groups
        )
        put_claim(claims, claim or "groups", names)
    elif kind == "oidc-acr-mapper":
        claims["acr"] = "1"
    elif kind == "oidc-allowed-origins-mapper":
        origins = allowed_origins(client)
        if origins:
            claims["allowed-origins"] = origins


def allowed_origins(client: Client) -> list[str]:
    """Web origins, with `+` standing for the origins of the redirect URIs."""
    origins: list[str] = []
    for origin in client.rep.get("webOrigins") or []:
        if origin == "+":
            for uri in client.rep.get("redirectUris") or []:
                found = re.match(r"^(https?://[^/]+)", uri)
                if found and found.group(1) not in origins:
                    origins.append(found.group(1))
        elif origin not in origins:
            origins.append(origin)
    return origins


# --- tokens ---------------------------------------------------------------------------------------
def access_token_claims(ctx: TokenContext, issuer: str) -> dict[str, Any]:
    """The access token: basic claims, then every mapper that belongs in (lightweight) access tokens.

    `sub` comes from the `basic` scope's sub mapper, as on 26.7.3: a lightweight token (admin-cli's)
    has none, and its user is found through its session (`Realm.token_user`).
    """
    now = int(time.time())
    lifespan = access_token_lifespan(ctx.realm, ctx.client)
    claims: dict[str, Any] = {
        "exp": now + lifespan,
        "iat": now,
        "jti": new_id(),
        "iss": issuer,
        "typ": "Bearer",
        "azp": ctx.client.client_id,
    }
    if ctx.sid:
        claims["sid"] = ctx.sid
    roles = resolved_role_ids(ctx)
    for mapper in mappers_in_effect(ctx):
        if in_access_token(mapper, ctx.lightweight):
            apply_mapper(ctx, mapper, claims, roles)
    claims["scope"] = scope_claim(ctx)
    return claims


def access_token_lifespan(realm: Realm, client: Client) -> int:
    """The client attribute `access.token.lifespan` when positive, else the realm's setting."""
    override = (client.rep.get("attributes") or {}).get("access.token.lifespan")
    try:
        if override is not None and int(override) > 0:
            return int(override)
    except ValueError:
        pass
    return int(realm.settings.get("accessTokenLifespan", 300))


def userinfo_claims(ctx: TokenContext) -> dict[str, Any]:
    """Userinfo: `sub` plus the mappers whose userinfo switch is on."""
    claims: dict[str, Any] = {"sub": ctx.user.id}
    roles = resolved_role_ids(ctx)
    for mapper in mappers_in_effect(ctx):
        if mapper.get("protocolMapper") in ("oidc-audience-resolve-mapper", "oidc-audience-mapper"):
            continue
        if in_userinfo(mapper):
            apply_mapper(ctx, mapper, claims, roles)
    return claims


def id_token_claims(ctx: TokenContext, issuer: str, access_token: str) -> dict[str, Any]:
    """The ID token issued alongside when `openid` was requested: audience is the client, `at_hash`
    binds it to the access token, claims come from the mappers whose ID-token switch is on."""
    now = int(time.time())
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    claims: dict[str, Any] = {
        "exp": now + access_token_lifespan(ctx.realm, ctx.client),
        "iat": now,
        "jti": new_id(),
        "iss": issuer,
        "aud": ctx.client.client_id,
        "sub": ctx.user.id,
        "typ": "ID",
        "azp": ctx.client.client_id,
    }
    if ctx.sid:
        claims["sid"] = ctx.sid
    claims["at_hash"] = base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")
    roles = resolved_role_ids(ctx)
    for mapper in mappers_in_effect(ctx):
        if mapper.get("protocolMapper") in ("oidc-audience-resolve-mapper", "oidc-audience-mapper"):
            continue
        if in_id_token(mapper):
            apply_mapper(ctx, mapper, claims, roles)
    return claims
