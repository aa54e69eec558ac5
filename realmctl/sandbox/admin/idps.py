"""Identity providers and their mappers (SEMANTICS §3), with the masked-secret round trip."""

from __future__ import annotations

import copy
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from realmctl.sandbox import defaults, ops, reps
from realmctl.sandbox.errors import NOT_FOUND, error, error_message, exists
from realmctl.sandbox.http import NO_CONTENT, Request, Response, Router, created
from realmctl.sandbox.store import IdentityProvider, Realm, as_text, new_id

DEFAULT_MAX = 100
PROVIDERS = {
    "oidc",
    "keycloak-oidc",
    "saml",
    "github",
    "google",
    "microsoft",
    "gitlab",
    "facebook",
    "linkedin-openid-connect",
    "instagram",
    "openshift-v4",
    "paypal",
    "stackoverflow",
    "twitter",
    "bitbucket",
    "kubernetes",
}
#: Optional booleans of the representation. 26.7.3 keeps each as sent (`false` included) and omits
#: one the body left out; `updateProfileFirstLoginMode` is never written back.
BOOLEANS = ("trustEmail", "storeToken", "addReadTokenRoleOnCreate", "authenticateByDefault", "linkOnly", "hideOnLogin")
#: `types` of `GET …/instances/{alias}` on 26.7.3, by provider: what the provider can be used for.
OIDC_TYPES = [
    "USER_AUTHENTICATION",
    "CLIENT_ASSERTION",
    "TRUST_MATERIAL",
    "EXCHANGE_EXTERNAL_TOKEN",
    "JWT_AUTHORIZATION_GRANT",
]
TYPES = {"oidc": OIDC_TYPES, "keycloak-oidc": OIDC_TYPES, "saml": ["USER_AUTHENTICATION"]}
#: Config the provider adds on save (26.7.3: a google IdP gains its issuer).
ADDED_CONFIG = {"google": {"issuer": "https://accounts.google.com"}}


def normalise_idp(rep: dict[str, Any]) -> dict[str, Any]:
    """The stored form: booleans as sent, empty config values dropped, flow alias kept if given."""
    stored: dict[str, Any] = {"alias": rep.get("alias")}
    if rep.get("displayName") is not None:
        stored["displayName"] = rep["displayName"]
    stored["providerId"] = rep.get("providerId")
    stored["enabled"] = True if rep.get("enabled") is None else bool(rep["enabled"])
    for key in BOOLEANS:
        if rep.get(key) is not None:
            stored[key] = bool(rep[key])
    config = {str(k): as_text(v) for k, v in (rep.get("config") or {}).items() if v is not None and v != ""}
    config.update({k: v for k, v in ADDED_CONFIG.get(str(rep.get("providerId")), {}).items() if k not in config})
    if "hideOnLoginPage" in config:  # legacy key migrated to the top-level field
        stored["hideOnLogin"] = config.pop("hideOnLoginPage") == "true"
    # 26.x: blank ⇒ none (the realm's `firstBrokerLoginFlow` applies); older servers defaulted it
    if (rep.get("firstBrokerLoginFlowAlias") or "").strip():
        stored["firstBrokerLoginFlowAlias"] = rep["firstBrokerLoginFlowAlias"]
    if (rep.get("postBrokerLoginFlowAlias") or "").strip():
        stored["postBrokerLoginFlowAlias"] = rep["postBrokerLoginFlowAlias"]
    stored["config"] = config
    return stored


def ordered_idp(stored: dict[str, Any], internal_id: str) -> dict[str, Any]:
    """Field order of Keycloak's representation (alias, displayName, internalId, providerId …)."""
    out: dict[str, Any] = {"alias": stored["alias"]}
    if "displayName" in stored:
        out["displayName"] = stored["displayName"]
    out["internalId"] = internal_id
    out.update({k: v for k, v in stored.items() if k not in out})
    return out


URL_KEYS = (
    ("authorizationUrl", "authorization_url"),
    ("tokenUrl", "token_url"),
    ("userInfoUrl", "userinfo_url"),
    ("jwksUrl", "jwks_url"),
    ("logoutUrl", "logout_url"),
)


def _local(host: str) -> bool:
    """Hosts for which sslRequired=external does not demand https (SslRequired.isRequired)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    return address.is_loopback or address.is_private


def check_urls(realm: Realm, config: dict[str, str]) -> None:
    """`OIDCIdentityProviderConfig.validate` → UrlUtils.checkUrl; IllegalArgumentException → 400."""
    ssl = str(realm.settings.get("sslRequired", "external"))
    for key, name in URL_KEYS:
        url = config.get(key)
        if not url:
            continue
        parsed = urlsplit(url)
        if not parsed.scheme or not parsed.netloc:
            raise error_message(400, f"The url [{name}] is malformed")
        if parsed.scheme.lower() not in ("http", "https"):
            raise error_message(400, f"Invalid protocol/scheme for url [{name}]")
        required = ssl == "all" or (ssl == "external" and not _local(parsed.hostname or ""))
        if parsed.scheme.lower() != "https" and required:
            raise error_message(400, f"The url [{name}] requires secure connections")


def _validate(rep: dict[str, Any]) -> None:
    alias = rep.get("alias")
    if not alias:
        raise error_message(400, "Invalid identity provider alias")  # UNCONFIRMED text
    if any(ch.isspace() for ch in str(alias)):
        raise error(400, "Empty Space not allowed.")  # 26.7.3
    defaults.refuse_reserved_chars(alias)
    template = defaults.URI_TEMPLATE.search(str(alias))
    if template:
        raise error_message(400, f"Path parameter not provided {template.group(1)}")  # 26.7.3, alias `{x}`
    if rep.get("providerId") not in PROVIDERS:
        raise error_message(400, f"Invalid identity provider id [{rep.get('providerId')}]")


def find_idp(req: Request, *roles: str) -> tuple[Realm, IdentityProvider]:
    realm = req.realm(*roles)
    idp = realm.idps.get(req.params["alias"])
    if idp is None:
        raise error(404, NOT_FOUND)
    return realm, idp


def list_idps(req: Request) -> Response:
    realm = req.realm("view-identity-providers")
    idps = list(realm.idps.values())
    search = req.arg("search")
    if search:
        needle = search.strip("*").lower()
        idps = [i for i in idps if needle in i.alias.lower()]
    idps = req.page(idps, DEFAULT_MAX)
    if req.bool_arg("briefRepresentation", False):
        keys = ("alias", "displayName", "internalId", "providerId", "enabled")
        # 26.7.3 writes an empty `config` in the brief form
        return Response(200, [{**{k: i.rep[k] for k in keys if k in i.rep}, "config": {}} for i in idps])
    return Response(200, [reps.idp_rep(i) for i in idps])


def create_idp(req: Request) -> Response:
    realm = req.realm("manage-identity-providers")
    body = req.json_object()
    _validate(body)
    if body["alias"] in realm.idps:
        raise exists(f"Identity Provider {body['alias']} already exists")
    if body["providerId"] in ("oidc", "keycloak-oidc"):
        check_urls(realm, body.get("config") or {})
    stored = ordered_idp(normalise_idp(body), new_id())
    realm.idps[stored["alias"]] = IdentityProvider(rep=stored)
    return created(req.admin_url(realm, "identity-provider", "instances", stored["alias"]))


def get_idp(req: Request) -> Response:
    _, idp = find_idp(req, "view-identity-providers")
    return Response(200, reps.idp_rep(idp))


def update_idp(req: Request) -> Response:
    """Replace the IdP from the body; a masked `clientSecret` keeps the stored secret."""
    realm, idp = find_idp(req, "manage-identity-providers")
    body = req.json_object()
    if body.get("alias") and body["alias"] != idp.alias:
        raise error_message(400, "Identity Provider alias cannot be changed")
    # the provider type cannot change: 26.7.3 answers 204 and keeps the stored providerId
    body = {**body, "alias": idp.alias, "providerId": idp.rep["providerId"]}
    _validate(body)
    if body["providerId"] in ("oidc", "keycloak-oidc"):
        check_urls(realm, body.get("config") or {})
    stored = normalise_idp(body)
    if stored["config"].get("clientSecret") == reps.SECRET_MASK:
        old = idp.rep["config"].get("clientSecret")
        if old is None:
            stored["config"].pop("clientSecret")
        else:
            stored["config"]["clientSecret"] = old
    idp.rep = ordered_idp(stored, idp.internal_id)
    return NO_CONTENT


def delete_idp(req: Request) -> Response:
    realm, idp = find_idp(req, "manage-identity-providers")
    ops.delete_idp(realm, idp.alias)
    return NO_CONTENT


# --- mappers -------------------------------------------------------------------------------------
def list_mappers(req: Request) -> Response:
    _, idp = find_idp(req, "view-identity-providers")
    return Response(200, [copy.deepcopy(m) for m in idp.mappers.values()])


def _mapper_from(body: dict[str, Any], alias: str, mapper_id: str) -> dict[str, Any]:
    return {
        "id": mapper_id,
        "name": body.get("name"),
        "identityProviderAlias": alias,
        "identityProviderMapper": body.get("identityProviderMapper"),
        "config": {str(k): as_text(v) for k, v in (body.get("config") or {}).items() if v is not None},
    }


def create_mapper(req: Request) -> Response:
    realm, idp = find_idp(req, "manage-identity-providers")
    body = req.json_object()
    if any(m["name"] == body.get("name") for m in idp.mappers.values()):
        raise exists("IDP mapper exists with same name")  # UNCONFIRMED text
    mapper = _mapper_from(body, idp.alias, new_id())
    idp.mappers[mapper["id"]] = mapper
    return created(req.admin_url(realm, "identity-provider", "instances", idp.alias, "mappers", mapper["id"]))


def _find_mapper(idp: IdentityProvider, mapper_id: str) -> dict[str, Any]:
    mapper = idp.mappers.get(mapper_id)
    if mapper is None:
        raise error(404, "Model not found")
    return mapper


def get_mapper(req: Request) -> Response:
    _, idp = find_idp(req, "view-identity-providers")
    return Response(200, copy.deepcopy(_find_mapper(idp, req.params["mapper"])))


def update_mapper(req: Request) -> Response:
    _, idp = find_idp(req, "manage-identity-providers")
    mapper = _find_mapper(idp, req.params["mapper"])
    body = req.json_object()
    idp.mappers[mapper["id"]] = _mapper_from({**mapper, **body}, idp.alias, mapper["id"])
    return NO_CONTENT


def delete_mapper(req: Request) -> Response:
    _, idp = find_idp(req, "manage-identity-providers")
    mapper = _find_mapper(idp, req.params["mapper"])
    del idp.mappers[mapper["id"]]
    return NO_CONTENT


def register(router: Router) -> None:
    base = "/admin/realms/{realm}/identity-provider/instances"
    router.add("GET", base, list_idps)
    router.add("POST", base, create_idp)
    router.add("GET", base + "/{alias}", get_idp)
    router.add("PUT", base + "/{alias}", update_idp)
    router.add("DELETE", base + "/{alias}", delete_idp)
    router.add("GET", base + "/{alias}/mappers", list_mappers)
    router.add("POST", base + "/{alias}/mappers", create_mapper)
    router.add("GET", base + "/{alias}/mappers/{mapper}", get_mapper)
    router.add("PUT", base + "/{alias}/mappers/{mapper}", update_mapper)
    router.add("DELETE", base + "/{alias}/mappers/{mapper}", delete_mapper)
