"""What every new Keycloak realm already has (SEMANTICS §1), so references to it are not dangling."""

#: Client scopes Keycloak creates in a new realm (OIDC and SAML), §1.5; `AuthnContextClassRef`
#: (SAML, a realm default scope) is new in 26.7 (seen on 26.7.3; not in SEMANTICS §1.5).
BUILTIN_SCOPES = frozenset(
    {
        "profile", "email", "roles", "web-origins", "acr", "basic", "address", "phone",
        "offline_access", "microprofile-jwt", "organization", "service_account", "role_list",
        "saml_organization", "AuthnContextClassRef",
    }
)  # fmt: skip

#: The realm default and optional client scope lists of a new realm (SEMANTICS §1.5; the sandbox
#: and 26.7.3 agree): what Keycloak attaches to a client created without scope lists.
NEW_REALM_SCOPES = {
    "default": frozenset({"role_list", "saml_organization", "AuthnContextClassRef", "profile", "email", "roles",
                          "web-origins", "acr", "basic"}),
    "optional": frozenset({"offline_access", "address", "phone", "microprofile-jwt", "organization"}),
}  # fmt: skip

_REALM_MANAGEMENT = frozenset(
    {
        "create-client", "view-realm", "view-events", "view-identity-providers", "view-authorization",
        "manage-realm", "manage-users", "manage-clients", "manage-events", "manage-identity-providers",
        "manage-authorization", "query-users", "query-clients", "query-realms", "query-groups",
        "impersonation", "view-users", "view-clients", "realm-admin",
    }
)  # fmt: skip

_ACCOUNT = frozenset(
    {
        "view-profile", "manage-account", "manage-account-links", "view-applications", "view-consent",
        "manage-consent", "view-groups", "delete-account",
    }
)  # fmt: skip

#: Built-in clients and their roles (§1.2-§1.4); clients listed with no roles have none.
BUILTIN_CLIENT_ROLES: dict[str, frozenset[str]] = {
    "broker": frozenset({"read-token"}),
    "realm-management": _REALM_MANAGEMENT,
    "account": _ACCOUNT,
    "account-console": frozenset(),
    "admin-cli": frozenset(),
    "security-admin-console": frozenset(),
}


def builtin_client_roles(realm: str) -> dict[str, frozenset[str]]:
    """Built-in clients of `realm`: the master realm has no `realm-management` (it has `<realm>-realm`
    clients, which we cannot enumerate offline, so they are not checked)."""
    if realm == "master":
        return {k: v for k, v in BUILTIN_CLIENT_ROLES.items() if k != "realm-management"}
    return BUILTIN_CLIENT_ROLES


def builtin_realm_roles(realm: str) -> frozenset[str]:
    """Realm roles of a new realm (§1.4); master also has `admin` and `create-realm`."""
    roles = {"offline_access", "uma_authorization", f"default-roles-{realm.lower()}"}
    if realm == "master":
        roles |= {"admin", "create-realm"}
    return frozenset(roles)
