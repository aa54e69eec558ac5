"""One intent, compiled per server: which variant of each chain realmctl wires, and what it declares.

Two chains have two variants on Keycloak 26.x (docs/keycloak-26.7-facts.md):

* **Stored tokens** (`storedTokens` entries): the Identity Brokering API v1 (`GET /broker/{alias}/token`,
  authorised by the user role `broker/read-token` reaching the access token through a client scope)
  or v2 (`POST /broker/{alias}/token`, authorised per confidential client by the attributes
  `external.token.enabled` and `external.token.idp`). Only one is on at a time; v2 needs
  `--features=identity-brokering-api:v2` on 26.6+.
* **Cross-realm acceptance** (`tokenExchange` entries): legacy token exchange v1 with fine-grained
  admin permissions v1 (deprecated since 26.6; `compile.py` wires it) or the JWT Authorization Grant
  (RFC 7523, on by default in 26.7): realm A's IdP for realm B with `jwtAuthorizationGrantEnabled`,
  realm A's clients allowed through `oauth2.jwt.authorization.grant.*` attributes, realm A's users
  linked to realm B's, and in realm B an audience scope giving the assertion `aud` = A's issuer.

This module chooses (or honours a pin: `api:` / `method:`), says why in the plan's notes, warns
when a deprecated variant is wired while the supported one is available, and writes the chosen
variant's objects into the per-realm declarations the kinds read, like `compile.expand` does.
"""

from typing import TYPE_CHECKING, Any

from realmctl.capabilities import BROKER_V1, BROKER_V2, FGAP_V1, JWT_GRANT, TOKEN_EXCHANGE_V1, Capabilities

if TYPE_CHECKING:
    from realmctl.kinds import RealmState

LEGACY = "legacy-exchange"
JWT = "jwt-authorization-grant"
READ_SCOPE = "broker_read_token"
#: IdP config keys of the grant (all strings, stored as sent), by the spec's `jwtGrant` key.
JWT_SETTINGS = {
    "assertionReuse": "jwtAuthorizationGrantAssertionReuseAllowed",
    "maxAssertionAge": "jwtAuthorizationGrantMaxAllowedAssertionExpiration",
    "signatureAlgorithm": "jwtAuthorizationGrantAssertionSignatureAlg",
    "allowedClockSkew": "jwtAuthorizationGrantAllowedClockSkew",
    "limitAccessTokenExp": "jwtAuthorizationGrantLimitAccessTokenExp",
}
#: Client attributes per chain: (switch, IdP aliases joined by `##`).
ATTRIBUTES = {
    "stored-tokens": ("external.token.enabled", "external.token.idp"),
    "jwt-grant": ("oauth2.jwt.authorization.grant.enabled", "oauth2.jwt.authorization.grant.idp"),
}


def audience_scope(target: str) -> str:
    """The client scope in the source realm that gives assertions `aud` = the target's issuer."""
    return f"realmctl-audience-{target}"


class Chains:
    """The choices of one run, with the notes, warnings and errors the plan shows."""

    def __init__(self, caps: Capabilities) -> None:
        self.caps = caps
        self.notes: list[str] = []
        self.warnings: list[str] = []
        self.errors: list[str] = []

    # -- stored tokens -------------------------------------------------------------------------
    def broker_api(self, where: str, pinned: str | None) -> str | None:
        """ "v1" or "v2" for a stored-token entry, or None (an error was added)."""
        caps, has = self.caps, self.caps.broker_api
        if pinned == "v2" and has != "v2":
            self.errors.append(
                f"{where} pins api: v2, and this server (Keycloak {caps.version}) has the Identity Brokering "
                f"API v2 off ({caps.state(BROKER_V1, BROKER_V2)}). Start Keycloak with "
                "--features=identity-brokering-api:v2 (Keycloak 26.6+; it turns v1 off), or drop the pin"
            )
            return None
        if pinned == "v1" and has != "v1":
            self.errors.append(
                f"{where} pins api: v1, and this server has the Identity Brokering API v1 off "
                f"({caps.state(BROKER_V1, BROKER_V2)}; with v1 off new realms have no `broker` client). "
                "Start Keycloak without identity-brokering-api:v2, or drop the pin"
            )
            return None
        if has == "none":
            self.errors.append(
                f"{where}: this server has neither Identity Brokering API on ({caps.state(BROKER_V1, BROKER_V2)}); "
                "start Keycloak with --features=identity-brokering-api:v2"
            )
            return None
        if pinned:
            self.notes.append(f"{where}: identity-brokering-api {pinned}, pinned by the spec")
        elif has == "v2":
            self.notes.append(f"{where}: identity-brokering-api v2 (client attributes) because v2 is on")
        else:
            deprecated = BROKER_V1 in caps.deprecated
            self.notes.append(
                f"{where}: identity-brokering-api v1 (broker/read-token role and scope"
                f"{', deprecated in 26.7' if deprecated else ''}) because v2 is off"
            )
        if (pinned or has) == "v1" and BROKER_V2 in caps.known:
            self.warnings.append(
                f"{where} is wired through the deprecated Identity Brokering API v1; the supported v2 is "
                "available by starting Keycloak with --features=identity-brokering-api:v2"
            )
        return pinned or has

    def stored_tokens(self, realm: str, declared: dict[str, Any]) -> None:
        """Writes each `storedTokens` entry of a realm as the objects its chosen variant needs."""
        if self.caps.broker_api != "v1" and v1_references(declared):
            self.errors.append(
                f"realm {realm} wires stored-token reading for the Identity Brokering API v1 "
                f"({', '.join(v1_references(declared))}), and this server has v1 off "
                f'({self.caps.state(BROKER_V1, BROKER_V2)}): GET /broker/{{alias}}/token answers 400 "Identity '
                'Brokering API feature not enabled" and new realms have no `broker` client, so broker/read-token '
                "does not exist. Declare a `storedTokens` entry instead (wired through v2 here, through v1 on "
                "a v1 server), or start Keycloak without identity-brokering-api:v2"
            )
        for name, entry in (declared.pop("storedTokens", None) or {}).items():
            where = f"realm {realm}: stored tokens {name!r}"
            api = self.broker_api(where, entry.get("api"))
            alias, clients = entry["identityProvider"], list(entry["clients"])
            idp = (declared.get("identityProviders") or {}).get(alias)
            if idp is None:
                self.errors.append(f"{where} names identity provider {alias!r}, not declared in realm {realm}")
                continue
            if api is None:
                continue
            if not idp.get("storeToken"):
                idp["storeToken"] = True
            specs = declared.setdefault("clients", {})
            for client in clients:
                spec = specs.setdefault(client, {})
                if api == "v2" and spec.get("publicClient"):
                    self.errors.append(
                        f"{where}: client {client!r} is public; the Identity Brokering API v2 serves "
                        'confidential clients only (Keycloak answers 403 "public clients not allowed")'
                    )
            if api == "v2":
                links = declared.setdefault("_clientAccess", [])
                links += [{"client": c, "chain": "stored-tokens", "alias": alias, "_entry": name} for c in clients]
                continue
            self._v1(declared, name, alias, clients, entry.get("users"))

    def _v1(self, declared: dict[str, Any], name: str, alias: str, clients: list[str], users: Any) -> None:
        """v1: the read-token role reaches the clients' access tokens through one client scope, and
        the users hold it (all users of the IdP when `users` is left out)."""
        scopes = declared.setdefault("clientScopes", {})
        scopes.setdefault(
            READ_SCOPE,
            {
                "mappers": {"broker roles": {"type": "user-client-role", "client": "broker"}},
                "roleScope": {"clients": {"broker": ["read-token"]}},
            },
        )
        for client in clients:
            spec = declared["clients"][client]
            listed = spec.setdefault("defaultClientScopes", [])
            if READ_SCOPE not in listed:
                listed.append(READ_SCOPE)
        idp = declared["identityProviders"][alias]
        if users is None:
            idp.setdefault("storedTokensReadable", True)
            idp.setdefault("grantReadTokenToLinkedUsers", True)
            return
        granted = {
            u
            for g in declared.get("roleGrants") or []
            if "read-token" in ((g.get("clientRoles") or {}).get("broker") or [])
            for u in g.get("users") or []
        }
        missing = [u for u in users if u not in granted]
        if missing:
            declared.setdefault("roleGrants", []).append({"users": missing, "clientRoles": {"broker": ["read-token"]}})

    # -- cross-realm -----------------------------------------------------------------------------
    def exchange_method(self, where: str, pinned: str | None, users: bool) -> str | None:
        caps = self.caps
        legacy, jwt = caps.legacy_exchange, caps.jwt_grant
        if pinned == LEGACY and not legacy:
            return None  # compile.feature_error explains it, with the flags
        if pinned == JWT and not jwt:
            self.errors.append(
                f"{where} pins method: jwt-authorization-grant, and this server (Keycloak {caps.version}) has it "
                f"off ({caps.state(JWT_GRANT)}). Start Keycloak with --features=jwt-authorization-grant "
                "(on by default since 26.6), or drop the pin"
            )
            return None
        method = pinned or (LEGACY if legacy else JWT if jwt else None)
        if method is None:
            return None
        if pinned:
            self.notes.append(f"{where}: {method}, pinned by the spec")
        elif method == LEGACY:
            self.notes.append(
                f"{where}: legacy token exchange v1 with fine-grained permissions v1 (both deprecated) because "
                f"the server has them on ({caps.state(TOKEN_EXCHANGE_V1, FGAP_V1)})"
            )
        else:
            self.notes.append(
                f"{where}: JWT Authorization Grant because legacy token exchange is off "
                f"({caps.state(TOKEN_EXCHANGE_V1, FGAP_V1, JWT_GRANT)})"
            )
        if method == LEGACY and jwt:
            self.warnings.append(
                f"{where} is wired through the deprecated legacy token exchange; the supported JWT Authorization "
                "Grant is on in this server: pin `method: jwt-authorization-grant`"
                + ("" if users else " (and declare `users` to link: the grant never creates users)")
                + " to use it"
            )
        if method == JWT and not users:
            self.warnings.append(
                f"{where}: the JWT Authorization Grant never creates users, and the entry declares no `users` to "
                'link; every grant answers 400 "User not found" until a realm user is linked'
            )
        return method

    def jwt_grant(
        self,
        realms: dict[str, Any],
        target: str,
        name: str,
        entry: dict[str, Any],
        idp: dict[str, Any],
        issuer: str,
    ) -> None:
        """Declares both sides of a JWT Authorization Grant entry. `idp` is the IdP `compile`
        built for the entry (it trusts the source realm); `issuer` is the target realm's issuer."""
        alias = entry["identityProvider"]
        settings = entry.get("jwtGrant") or {}
        idp["config"]["jwtAuthorizationGrantEnabled"] = "true"
        for key, config_key in JWT_SETTINGS.items():
            if key in settings:
                value = settings[key]
                idp["config"][config_key] = str(value).lower() if isinstance(value, bool) else str(value)
        declared = realms[target]
        specs = declared.setdefault("clients", {})
        where = f"realm {target}: token exchange {name!r}"
        for client in entry["clients"]:
            if specs.get(client, {}).get("publicClient"):
                self.errors.append(
                    f'{where}: client {client!r} is public; Keycloak answers "Public client not allowed to use '
                    'authorization grant"'
                )
        access = declared.setdefault("_clientAccess", [])
        headline = idp.get("_intent")
        access += [
            {"client": c, "chain": "jwt-grant", "alias": alias, "_entry": name, "_intent": headline}
            for c in entry["clients"]
        ]
        links = declared.setdefault("_federatedLinks", [])
        for user, source_user in _users(entry.get("users")).items():
            links.append(
                {
                    "user": user,
                    "alias": alias,
                    "sourceRealm": entry["source"]["realm"],
                    "sourceUser": source_user,
                    "_entry": name,
                    "_intent": headline,
                }
            )
        # Realm B: an optional scope giving the assertion aud = A's issuer, and the standard token
        # exchange switched on for the source client (so a token it holds can be exchanged for one).
        source = realms[entry["source"]["realm"]]
        scope = audience_scope(target)
        source.setdefault("clientScopes", {}).setdefault(
            scope,
            {
                "description": f"audience {issuer} for JWT Authorization Grant assertions to realm {target}",
                "includeInTokenScope": True,
                "mappers": {
                    f"audience {target}": {
                        "protocolMapper": "oidc-audience-mapper",
                        "config": {
                            "included.custom.audience": issuer,
                            "access.token.claim": "true",
                            "id.token.claim": "false",
                        },
                    }
                },
            },
        )
        client = source["clients"][entry["source"]["client"]]
        client.setdefault("standardTokenExchange", True)
        optional = client.setdefault("optionalClientScopes", [])
        if scope not in optional and scope not in client.get("defaultClientScopes", []):
            optional.append(scope)


def v1_references(declared: dict[str, Any]) -> list[str]:
    """Where a realm's spec (before compilation) names the v1 chain's `broker/read-token` by hand."""
    found = []
    for alias, idp in (declared.get("identityProviders") or {}).items():
        if idp.get("storedTokensReadable") or idp.get("grantReadTokenToLinkedUsers"):
            found.append(f"identity provider {alias} grants broker/read-token")
    if any("broker" in (g.get("clientRoles") or {}) for g in declared.get("roleGrants") or []):
        found.append("roleGrants name broker roles")
    owners = [*(declared.get("clients") or {}).items(), *(declared.get("clientScopes") or {}).items()]
    if any("broker" in ((spec or {}).get("roleScope") or {}).get("clients", {}) for _, spec in owners):
        found.append("a roleScope names broker roles")
    return found


def v1_chain_without_broker(realm: str, declared: dict[str, Any], state: "RealmState") -> str | None:
    """A plan error for a spec naming `broker/read-token` by hand in an existing realm that has no
    `broker` client (what a realm made with identity-brokering-api:v2 on looks like), instead of
    apply failing with "role broker/read-token does not exist". Only what the plan already read is
    consulted (the realm and its client listing), so this costs no request; a spec with
    `storedTokens`/`tokenExchange` is judged by `Chains.stored_tokens` from serverinfo instead."""
    refs = v1_references(declared)
    if not refs or declared.get("storedTokens") or declared.get("tokenExchange"):
        return None
    if "clients" not in state._cache or state.realm_rep() is None:  # not read by this plan: no new request
        return None
    if state.client("broker") is not None:
        return None
    return (
        f"realm {realm} wires stored-token reading for the Identity Brokering API v1 ({', '.join(refs)}), and "
        f"the realm has no `broker` client, so broker/read-token does not exist: Keycloak creates realms without "
        'it when identity-brokering-api:v2 is on (v1 off), where GET /broker/{alias}/token answers 400 "Identity '
        'Brokering API feature not enabled". Declare a `storedTokens` entry instead (wired through v2 there, '
        "through v1 on a v1 server)"
    )


def _users(value: Any) -> dict[str, str]:
    """`users` of an exchange entry: a list of usernames (the same name in both realms) or a map
    target username -> source username or e-mail."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {str(u): str(u) for u in value or []}
