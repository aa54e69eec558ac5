"""Spec -> the per-realm declarations the kinds read, with token-exchange entries expanded.

A `tokenExchange` entry in a target realm is one line of intent; Keycloak needs five things for it
(SEMANTICS §6.4, §7): the source client in the source realm, an IdP in the target realm trusting
the source realm, fine-grained permissions (v1) on that IdP, a client policy naming the exchanging
clients, and that policy attached to the IdP's `token-exchange` permission (plus the same for each
extra audience, and the users `impersonate` permission for impersonation). This module writes those
into the declarations, so each is planned, applied and shown like any other object.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from realmctl import capabilities
from realmctl.chains import JWT, LEGACY, Chains
from realmctl.live import OWNED_MARKER
from realmctl.spec.model import Spec

if TYPE_CHECKING:
    from realmctl.kinds import RealmState

LEGACY_FEATURES = ("TOKEN_EXCHANGE", "ADMIN_FINE_GRAINED_AUTHZ")
SERVER_FLAGS = "--features=token-exchange,admin-fine-grained-authz:v1"


@dataclass
class Expanded:
    realms: dict[str, dict[str, Any]]
    errors: list[str]
    notes: list[str] = field(default_factory=list)  # which variant of each chain, and why
    warnings: list[str] = field(default_factory=list)


def policy_name(entry: str) -> str:
    return f"realmctl-exchange-{entry}"


def intent(realm: str, entry: dict[str, Any]) -> str:
    """The plan's headline for an exchange entry, in the user's words."""
    who = ", ".join(entry["clients"])
    src = entry["source"]["realm"]
    text = f"allow {who} to exchange tokens from {src} (via identity provider {entry['identityProvider']})"
    if entry.get("audiences"):
        text += f", for audiences {', '.join(entry['audiences'])}"
    if entry.get("impersonation"):
        text += ", with impersonation"
    return text


ServerInfo = Callable[[], dict[str, Any]]  # GET /admin/serverinfo, read once and only when needed


def missing_features(serverinfo: ServerInfo) -> list[str]:
    """Which legacy-exchange features the server lacks (by serverinfo's enum names)."""
    info = serverinfo()
    enabled = {f.get("name"): bool(f.get("enabled")) for f in info.get("features") or []}
    return [name for name in LEGACY_FEATURES if not enabled.get(name)]


def feature_error(serverinfo: ServerInfo, realms: list[str]) -> str:
    info = serverinfo()
    enabled = {f.get("name"): bool(f.get("enabled")) for f in info.get("features") or []}
    missing = [n for n in LEGACY_FEATURES if not enabled.get(n)]
    state = ", ".join(
        f"{n} {'on' if enabled.get(n) else 'off'}" for n in (*LEGACY_FEATURES, "ADMIN_FINE_GRAINED_AUTHZ_V2")
    )
    return (
        f"cross-realm token exchange (declared in realm {', '.join(realms)}) needs Keycloak's legacy token "
        f"exchange, and this server lacks {' and '.join(missing)} (it reports {state}). "
        + (
            "This is realmctl's sandbox: run it with --sandbox-profile legacy-exchange (`realmctl sandbox "
            f"--profile legacy-exchange`); a real Keycloak is started with {SERVER_FLAGS}. "
            if (info.get("systemInfo") or {}).get("javaVendor") == "realmctl sandbox"
            else f"Start Keycloak with {SERVER_FLAGS} (or KC_FEATURES=token-exchange,admin-fine-grained-authz:v1). "
        )
        + "Why: the defaults of Keycloak 26.2+ cannot do it: standard token exchange (v2) handles "
        "only tokens of the same realm and refuses subject_issuer, and fine-grained admin "
        "permissions v2 have no identity-provider permission, so no client can be allowed to "
        "exchange a token issued by another realm."
    )


def adopt(idp: dict[str, Any], realm: dict[str, Any], state: RealmState, alias: str, issuer: str) -> str | None:
    """A tokenExchange entry naming an identity provider that already exists (declared in the spec,
    or on the server and not made by realmctl) adopts it: its providerId (Keycloak never saves a
    change of it, so rewriting it would never converge), storeToken, display name and other
    settings stay, and only what the exchange needs is set. An existing provider that trusts another
    issuer is a conflict (returned as the plan error's text), never silently repointed."""
    declared = (realm.get("identityProviders") or {}).get(alias)
    live = state.idp(alias)
    if declared is None and (live is None or (live.get("config") or {}).get(OWNED_MARKER) == "true"):
        return None
    base = declared if declared is not None else live or {}
    config = base.get("config") or {}
    trusted = str(config.get("issuer") or config.get("authorizationUrl") or "")
    if trusted and not trusted.startswith(issuer):
        return (
            f"identity provider {alias!r} already exists ({base.get('providerId')}, trusting {trusted}); the "
            f"exchange needs it to trust {issuer}. Name another identityProvider for the entry (realmctl "
            f"creates it), or point {alias!r} at {issuer} yourself"
        )
    for key in ("providerId", "displayName"):
        if base.get(key):
            idp[key] = base[key]
    idp["storeToken"] = bool(base.get("storeToken")) or idp["storeToken"]
    if declared is not None:  # the spec's own settings stay; the exchange's config keys win
        idp.update({k: v for k, v in declared.items() if k not in idp})
        idp["config"] = {**(declared.get("config") or {}), **idp["config"]}
    return None


def needs_serverinfo(spec: Spec) -> bool:
    """Whether `expand` consults the server's features: only for exchange entries or stored tokens."""
    return any(rs.get("storedTokens") or rs.get("tokenExchange") for rs in spec.realms.values())


def expand(spec: Spec, states: dict[str, RealmState], serverinfo: ServerInfo, url: str) -> Expanded:
    """The declarations with token-exchange entries expanded. No Api here: the server's features
    come from `serverinfo` (gather's read), the source client's secret from the realm's reads."""
    # Expansion never changes `users`, most of a large spec (12,500 at 5x L): shared, not copied.
    keep = {id(rs["users"]): rs["users"] for rs in spec.realms.values() if isinstance(rs, dict) and "users" in rs}
    realms = copy.deepcopy(spec.realms, keep)
    errors: list[str] = []
    has_stored = any(rs.get("storedTokens") for rs in spec.realms.values())
    users = [(r, name, e) for r, rs in spec.realms.items() for name, e in (rs.get("tokenExchange") or {}).items()]
    if not users and not has_stored:
        return Expanded(realms, errors)
    chains = Chains(capabilities.from_serverinfo(serverinfo()))
    for realm_name, realm_spec in realms.items():
        chains.stored_tokens(realm_name, realm_spec)
    methods = {
        (t, n): chains.exchange_method(f"realm {t}: token exchange {n!r}", e.get("method"), bool(e.get("users")))
        for t, n, e in users
    }
    legacy = [(t, n, e) for t, n, e in users if methods[t, n] in (LEGACY, None)]
    if legacy and missing_features(serverinfo):
        errors.append(feature_error(serverinfo, sorted({t for t, _, _ in legacy})))
        users = [(t, n, e) for t, n, e in users if methods[t, n] == JWT]
    for realm_spec in realms.values():
        realm_spec.pop("tokenExchange", None)
    for target, name, entry in users:
        source_realm, source_client = entry["source"]["realm"], entry["source"]["client"]
        if source_realm not in realms:
            errors.append(f"token exchange {name!r} in realm {target!r} names realm {source_realm!r}, not in the spec")
            continue
        source_spec = realms[source_realm].setdefault("clients", {}).setdefault(source_client, {})
        source_spec.setdefault("publicClient", False)
        alias = entry["identityProvider"]
        base = (entry.get("publicUrl") or url).rstrip("/")
        issuer = f"{base}/realms/{source_realm}"
        oidc = f"{issuer}/protocol/openid-connect"
        secret = source_spec.get("secret")
        if secret is None:
            live = states[source_realm].client(source_client)
            secret = live.get("secret") if live else None
        idp: dict[str, Any] = {
            "providerId": "keycloak-oidc",
            "displayName": f"Realm {source_realm}",
            "storeToken": bool(entry.get("storeToken", False)),
            "config": {
                "clientId": source_client,
                "issuer": issuer,
                "authorizationUrl": f"{oidc}/auth",
                "tokenUrl": f"{oidc}/token",
                "userInfoUrl": f"{oidc}/userinfo",
                "logoutUrl": f"{oidc}/logout",
                "jwksUrl": f"{oidc}/certs",
                "useJwksUrl": "true",
                "validateSignature": "true",
                "clientAuthMethod": "client_secret_post",
                "syncMode": "LEGACY",
            },
            "_secretFrom": [source_realm, source_client],
            "_intent": intent(target, entry),
        }
        if secret is not None:
            idp["config"]["clientSecret"] = secret
        conflict = adopt(idp, realms[target], states[target], alias, issuer)
        if conflict:
            errors.append(f"token exchange {name!r} in realm {target!r}: {conflict}")
            continue
        realms[target].setdefault("identityProviders", {})[alias] = idp
        if methods[target, name] == JWT:
            idp["_intent"] = intent(target, entry).replace("exchange tokens from", "accept tokens of") + (
                " with the JWT Authorization Grant"
            )
            chains.jwt_grant(realms, target, name, entry, idp, f"{base}/realms/{target}")
            continue
        grants = realms[target].setdefault("_exchange", {"policies": {}, "attachments": []})
        policy = policy_name(name)
        grants["policies"][policy] = {
            "clients": sorted(entry["clients"]),
            "_intent": intent(target, entry),
            "_entry": name,
        }
        declared = set(realms[target].get("clients") or {})
        for audience in entry.get("audiences") or []:
            if audience not in declared and states[target].client(audience) is None:
                errors.append(
                    f"token exchange {name!r} in realm {target!r} names audience {audience!r}, a client that is "
                    "neither declared in the spec nor present on the server"
                )
        attach = [("idp", alias, "token-exchange")]
        attach += [("client", audience, "token-exchange") for audience in entry.get("audiences") or []]
        if entry.get("impersonation"):
            attach.append(("users", "users", "impersonate"))
        for kind, what, scope in attach:
            grants["attachments"].append(
                {
                    "target": kind,
                    "name": what,
                    "scope": scope,
                    "policy": policy,
                    "_entry": name,
                    "_intent": intent(target, entry),
                }
            )
    return Expanded(realms, errors + chains.errors, chains.notes, chains.warnings)
