"""Rules for cross-realm token exchange (SEMANTICS §6.4-6.6, §7): each link Keycloak checks, in order."""

from typing import Any

from realmctl.check.broker import snippet
from realmctl.check.facts import Facts
from realmctl.check.findings import Finding
from realmctl.compile import LEGACY_FEATURES, SERVER_FLAGS
from realmctl.keycloak.session import Api
from realmctl.spec.model import Spec


def _features(api: Api) -> dict[str, bool]:
    return {f.get("name"): bool(f.get("enabled")) for f in api.serverinfo().get("features") or []}


def _allowed(facts: Facts, permission: str, requester_uuid: str | None) -> tuple[bool, bool]:
    """(has a policy, a client policy attached names the requester)."""
    attached = facts.policies_on(permission)
    names_requester = False
    for p in attached:
        full = facts.policy(p["id"]) or {}
        if (
            full.get("type") == "client"
            and requester_uuid
            and requester_uuid in str((full.get("config") or {}).get("clients"))
        ):
            names_requester = True
    return bool(attached), names_requester


def check_entries(spec: Spec, api: Api, facts_of: dict[str, Facts]) -> tuple[list[Finding], list[str]]:
    out: list[Finding] = []
    checked: list[str] = []
    entries = [(r, n, e) for r, rs in spec.realms.items() for n, e in (rs.get("tokenExchange") or {}).items()]
    if not entries:
        return out, checked
    features = _features(api)
    missing = [f for f in LEGACY_FEATURES if not features.get(f)]
    for realm, name, entry in entries:
        where = spec.where("realms", realm, "tokenExchange", name)
        checked.append(f"token exchange {name} into {realm}")
        if missing:
            v2 = features.get("ADMIN_FINE_GRAINED_AUTHZ_V2") and not features.get("ADMIN_FINE_GRAINED_AUTHZ")
            out.append(
                Finding(
                    "error",
                    "exchange.features-missing",
                    realm,
                    f"token exchange {name}",
                    f"the server lacks {' and '.join(missing)}"
                    + (
                        " (fine-grained admin permissions v2 are active, which have no identity-provider permission)"
                        if v2
                        else ""
                    )
                    + f"; every cross-realm exchange is refused. Start Keycloak with {SERVER_FLAGS}.",
                    "",
                    where,
                    "exchange",
                )
            )
        facts = facts_of[realm]
        source = entry["source"]
        source_facts = facts_of.get(source["realm"])
        if source_facts and source_facts.state.client(source["client"]) is None:
            out.append(
                Finding(
                    "error",
                    "exchange.source-client-missing",
                    source["realm"],
                    f"client {source['client']}",
                    f"the source client {source['client']} does not exist in realm {source['realm']}",
                    "run `realmctl apply`",
                    where,
                    "token",
                )
            )
        out.extend(_standard_exchange(facts, realm, name, entry, where))
        alias = entry["identityProvider"]
        idp = facts.idp(alias)
        if idp is None:
            out.append(
                Finding(
                    "error",
                    "exchange.idp-missing",
                    realm,
                    f"identity provider {alias}",
                    f"realm {realm} has no identity provider {alias}: the exchange answers 400 "
                    'invalid_issuer "Invalid subject_issuer parameter"',
                    "run `realmctl apply`",
                    where,
                    "exchange",
                )
            )
            continue
        config = idp.get("config") or {}
        discovered = facts.discovery(source["realm"])
        issuer = discovered.get("issuer") or f"{api.settings.url}/realms/{source['realm']}"
        jwks = discovered.get("jwks_uri") or f"{issuer}/protocol/openid-connect/certs"
        if issuer not in [i.strip() for i in (config.get("issuer") or "").split(",")]:
            out.append(
                Finding(
                    "error",
                    "exchange.idp-issuer",
                    realm,
                    f"identity provider {alias}",
                    f"identity provider {alias} trusts issuer {config.get('issuer')!r}, but realm {source['realm']}'s "
                    f'tokens say {issuer!r} (its discovery document), so they fail validation: "invalid token"',
                    f"tokenExchange:\n  {name}:\n    publicUrl: {issuer.rsplit('/realms/', 1)[0]}"
                    if entry.get("publicUrl")
                    else "run `realmctl apply`",
                    where,
                    "exchange",
                )
            )
        if config.get("validateSignature") != "true" or (
            config.get("useJwksUrl") == "true" and config.get("jwksUrl") != jwks
        ):
            out.append(
                Finding(
                    "error",
                    "exchange.idp-keys",
                    realm,
                    f"identity provider {alias}",
                    f"identity provider {alias} does not validate signatures with realm "
                    f"{source['realm']}'s keys ({jwks})",
                    "run `realmctl apply` (realmctl sets validateSignature and jwksUrl)",
                    where,
                    "exchange",
                )
            )
        if config.get("clientId") != source["client"]:
            out.append(
                Finding(
                    "warning",
                    "exchange.idp-client-id",
                    realm,
                    f"identity provider {alias}",
                    f"identity provider {alias} uses client id {config.get('clientId')!r}, but the subject "
                    f"tokens are issued to {source['client']!r} (their azp)",
                    "",
                    where,
                    "exchange",
                )
            )
        ref = facts.fgap("idp", alias)
        requester_ids = {c: facts.state.client_uuid(c) for c in entry["clients"]}
        for client_id in entry["clients"]:
            client = facts.state.client(client_id)
            if client is not None and client.get("publicClient"):
                # Keycloak 26.7 (legacy exchange) lets a public client exchange another realm's
                # token (200, no client authentication): not a broken link but an open door.
                out.append(
                    Finding(
                        "warning",
                        "exchange.requester-public",
                        realm,
                        f"client {client_id}",
                        f"client {client_id} is public: Keycloak lets it exchange without authenticating, so "
                        f"anyone holding a realm {source['realm']} token can get a realm {realm} token as "
                        f"{client_id}",
                        f"clients:\n  {client_id}:\n    publicClient: false",
                        where,
                    )
                )
        out.append(_subject_issuer(realm, name, alias, where))
        if missing:
            continue  # no v1 permissions to look at: the features error says it all
        client_only = _client_tab_only(facts, realm, name, entry, alias, where)
        if not ref.get("enabled"):
            out.extend(client_only)
            out.append(
                Finding(
                    "error",
                    "exchange.permission-off",
                    realm,
                    f"identity provider {alias}",
                    f"fine-grained permissions are not enabled on identity provider {alias}, so there is "
                    'no token-exchange permission and the answer is 403 "Client not allowed to exchange"',
                    "run `realmctl apply` (the tokenExchange entry enables them)",
                    where,
                    "exchange",
                )
            )
            continue
        permission = (ref.get("scopePermissions") or {}).get("token-exchange", "")
        has_policy, _ = _allowed(facts, permission, None)
        if not has_policy:
            out.extend(client_only)
            out.append(
                Finding(
                    "error",
                    "exchange.permission-no-policy",
                    realm,
                    f"identity provider {alias}",
                    f"the token-exchange permission of identity provider {alias} has no policy; an empty "
                    'permission denies: 403 "Client not allowed to exchange"',
                    "run `realmctl apply` (the tokenExchange entry attaches a client policy)",
                    where,
                    "exchange",
                )
            )
        else:
            refused = [c for c, uuid in requester_ids.items() if not _allowed(facts, permission, uuid)[1]]
            out.extend(f for f in client_only if f.subject.removeprefix("client ") in refused)
            for client_id, uuid in requester_ids.items():
                if not _allowed(facts, permission, uuid)[1]:
                    out.append(
                        Finding(
                            "error",
                            "exchange.requester-not-allowed",
                            realm,
                            f"client {client_id}",
                            f"no client policy on the token-exchange permission of identity provider "
                            f'{alias} names {client_id}: 403 "Client not allowed to exchange"',
                            f"tokenExchange:\n  {name}:\n    clients: [{client_id}]",
                            where,
                            "exchange",
                        )
                    )
        out.extend(_extra_permissions(facts, realm, name, entry, requester_ids, where))
    return out, checked


def _subject_issuer(realm: str, name: str, alias: str, where: Any) -> Finding:
    return Finding(
        "info",
        "exchange.subject-issuer",
        realm,
        f"token exchange {name}",
        f"exchange requests at realm {realm} must say where the token comes from: subject_issuer={alias} "
        "(or subject_token_type=urn:ietf:params:oauth:token-type:jwt); without it Keycloak takes the token for "
        f'one of realm {realm}\'s own and answers 400 invalid_request "Invalid token" (check --probe-request '
        "FILE sends your request as it is)",
        f"send subject_issuer={alias} with subject_token_type=urn:ietf:params:oauth:token-type:access_token",
        where,
    )


def _standard_exchange(facts: Facts, realm: str, name: str, entry: dict[str, Any], where: Any) -> list[Finding]:
    """A requester with standard token exchange (v2) on: a request without subject_issuer goes to
    the standard provider, which accepts only this realm's own tokens ("Invalid token"), and the
    cause is easy to miss because realmctl's own probe always sends subject_issuer."""
    out = []
    for client_id in entry["clients"]:
        client = facts.state.client(client_id) or {}
        if (client.get("attributes") or {}).get("standard.token.exchange.enabled") != "true":
            continue
        out.append(
            Finding(
                "warning",
                "exchange.standard-exchange-on",
                realm,
                f"client {client_id}",
                f"client {client_id} has standard token exchange switched on: a request with "
                "subject_token_type=urn:ietf:params:oauth:token-type:access_token and no subject_issuer is taken "
                f"by the standard provider, which accepts only realm {realm}'s own tokens and answers 400 "
                f'invalid_request "Invalid token" for a token of realm {entry["source"]["realm"]}',
                f"send subject_issuer={entry['identityProvider']} in every request, or, when {client_id} needs no "
                f"same-realm exchange:\nclients:\n  {client_id}:\n    standardTokenExchange: false",
                where,
                "exchange",
            )
        )
    return out


def _client_tab_only(
    facts: Facts, realm: str, name: str, entry: dict[str, Any], alias: str, where: Any
) -> list[Finding]:
    """The token-exchange permission set on a requesting client's own Permissions tab: it governs
    exchanges that ask for that client as the audience, not exchanges of another realm's token,
    which only the identity provider's permission allows."""
    out = []
    for client_id in entry["clients"]:
        ref = facts.fgap("client", client_id)
        permission = (ref.get("scopePermissions") or {}).get("token-exchange") if ref.get("enabled") else None
        if permission is None or not _allowed(facts, permission, None)[0]:
            continue
        out.append(
            Finding(
                "error",
                "exchange.permission-on-client-only",
                realm,
                f"client {client_id}",
                f"the token-exchange permission on client {client_id}'s own Permissions tab has a policy, but it "
                f"governs exchanges that ask for {client_id} as the audience only; exchanging a token of realm "
                f"{entry['source']['realm']} is allowed by identity provider {alias}'s token-exchange permission, "
                'which does not name the client: 403 "Client not allowed to exchange"',
                snippet({"tokenExchange": {name: {**entry, "clients": sorted(set(entry["clients"]))}}})
                + "\n# then `realmctl apply`: it attaches a client policy to the identity provider's permission",
                where,
                "exchange",
            )
        )
    return out


def _extra_permissions(
    facts: Facts, realm: str, name: str, entry: dict[str, Any], requesters: dict[str, str | None], where: Any
) -> list[Finding]:
    out = []
    targets = [("client", a, "token-exchange") for a in entry.get("audiences") or []]
    if entry.get("impersonation"):
        targets.append(("users", "users", "impersonate"))
    for target, what, scope in targets:
        ref = facts.fgap(target, what)
        permission = (ref.get("scopePermissions") or {}).get(scope) if ref.get("enabled") else None
        ok = permission is not None and all(_allowed(facts, permission, u)[1] for u in requesters.values())
        if not ok:
            rule = "exchange.audience-no-permission" if target == "client" else "exchange.impersonation-no-permission"
            thing = f"audience client {what}" if target == "client" else "impersonation (requested_subject)"
            out.append(
                Finding(
                    "error",
                    rule,
                    realm,
                    thing,
                    f"the {scope} permission for {thing} does not name the exchanging clients: 403 "
                    '"Client not allowed to exchange"',
                    "run `realmctl apply`",
                    where,
                    "exchange",
                )
            )
    return out
