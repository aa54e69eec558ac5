"""Jackson's refusal of unknown fields, as Keycloak 26.7.3 answers it.

Keycloak reads admin bodies with FAIL_ON_UNKNOWN_PROPERTIES: a field its representation class does
not have is a 400 naming the field and where the parser stood, e.g. `Invalid json representation
for RealmRepresentation. Unrecognized field "bogus" at line 1 column 11.` The sandbox used to
accept anything, so a misspelt field looked applied. The field lists below are every name 26.7.3
accepted when sent as `{"name": null}` in a PUT (measured; names it refused are left out).
"""

from __future__ import annotations

import json

from realmctl.sandbox.errors import HttpError

REALM_FIELDS = frozenset(
    [
        "accessCodeLifespan",
        "accessCodeLifespanLogin",
        "accessCodeLifespanUserAction",
        "accessTokenLifespan",
        "accessTokenLifespanForImplicitFlow",
        "accountTheme",
        "actionTokenGeneratedByAdminLifespan",
        "actionTokenGeneratedByUserLifespan",
        "adminEventsDetailsEnabled",
        "adminEventsEnabled",
        "adminPermissionsClient",
        "adminPermissionsEnabled",
        "adminTheme",
        "applicationScopeMappings",
        "applications",
        "attributes",
        "authenticationFlows",
        "authenticatorConfig",
        "browserFlow",
        "browserSecurityHeaders",
        "bruteForceProtected",
        "bruteForceStrategy",
        "certificate",
        "clientAuthenticationFlow",
        "clientOfflineSessionIdleTimeout",
        "clientOfflineSessionMaxLifespan",
        "clientPolicies",
        "clientProfiles",
        "clientScopeMappings",
        "clientScopes",
        "clientSessionIdleTimeout",
        "clientSessionMaxLifespan",
        "clientTemplates",
        "clients",
        "codeSecret",
        "components",
        "defaultDefaultClientScopes",
        "defaultGroups",
        "defaultLocale",
        "defaultOptionalClientScopes",
        "defaultRole",
        "defaultRoles",
        "defaultSignatureAlgorithm",
        "directGrantFlow",
        "displayName",
        "displayNameHtml",
        "dockerAuthenticationFlow",
        "duplicateEmailsAllowed",
        "editUsernameAllowed",
        "emailTheme",
        "enabled",
        "enabledEventTypes",
        "eventsEnabled",
        "eventsExpiration",
        "eventsListeners",
        "failureFactor",
        "federatedUsers",
        "firstBrokerLoginFlow",
        "groups",
        "id",
        "identityProviderMappers",
        "identityProviders",
        "internationalizationEnabled",
        "keycloakVersion",
        "localizationTexts",
        "loginTheme",
        "loginWithEmailAllowed",
        "maxDeltaTimeSeconds",
        "maxFailureWaitSeconds",
        "maxSecondaryAuthFailures",
        "maxTemporaryLockouts",
        "minimumQuickLoginWaitSeconds",
        "notBefore",
        "oauth2DeviceCodeLifespan",
        "oauth2DevicePollingInterval",
        "oauthClients",
        "offlineSessionIdleTimeout",
        "offlineSessionMaxLifespan",
        "offlineSessionMaxLifespanEnabled",
        "organizations",
        "organizationsEnabled",
        "otpPolicyAlgorithm",
        "otpPolicyCodeReusable",
        "otpPolicyDigits",
        "otpPolicyInitialCounter",
        "otpPolicyLookAheadWindow",
        "otpPolicyPeriod",
        "otpPolicyType",
        "otpSupportedApplications",
        "passwordCredentialGrantAllowed",
        "passwordPolicy",
        "permanentLockout",
        "privateKey",
        "protocolMappers",
        "publicKey",
        "quickLoginCheckMilliSeconds",
        "realm",
        "refreshTokenMaxReuse",
        "registrationAllowed",
        "registrationEmailAsUsername",
        "registrationFlow",
        "rememberMe",
        "requiredActions",
        "requiredCredentials",
        "resetCredentialsFlow",
        "resetPasswordAllowed",
        "revokeRefreshToken",
        "roles",
        "scimApiEnabled",
        "scopeMappings",
        "smtpServer",
        "social",
        "socialProviders",
        "sslRequired",
        "ssoSessionIdleTimeout",
        "ssoSessionIdleTimeoutRememberMe",
        "ssoSessionMaxLifespan",
        "ssoSessionMaxLifespanRememberMe",
        "supportedLocales",
        "updateProfileOnInitialSocialLogin",
        "userFederationMappers",
        "userFederationProviders",
        "userManagedAccessAllowed",
        "users",
        "verifiableCredentialsEnabled",
        "verifyEmail",
        "waitIncrementSeconds",
        "webAuthnPolicyAcceptableAaguids",
        "webAuthnPolicyAttestationConveyancePreference",
        "webAuthnPolicyAuthenticatorAttachment",
        "webAuthnPolicyAvoidSameAuthenticatorRegister",
        "webAuthnPolicyCreateTimeout",
        "webAuthnPolicyExtraOrigins",
        "webAuthnPolicyPasswordlessAcceptableAaguids",
        "webAuthnPolicyPasswordlessAttestationConveyancePreference",
        "webAuthnPolicyPasswordlessAuthenticatorAttachment",
        "webAuthnPolicyPasswordlessAvoidSameAuthenticatorRegister",
        "webAuthnPolicyPasswordlessCreateTimeout",
        "webAuthnPolicyPasswordlessExtraOrigins",
        "webAuthnPolicyPasswordlessPasskeysEnabled",
        "webAuthnPolicyPasswordlessRequireResidentKey",
        "webAuthnPolicyPasswordlessResidentKey",
        "webAuthnPolicyPasswordlessRpEntityName",
        "webAuthnPolicyPasswordlessRpId",
        "webAuthnPolicyPasswordlessSignatureAlgorithms",
        "webAuthnPolicyPasswordlessUserVerificationRequirement",
        "webAuthnPolicyRequireResidentKey",
        "webAuthnPolicyResidentKey",
        "webAuthnPolicyRpEntityName",
        "webAuthnPolicyRpId",
        "webAuthnPolicySignatureAlgorithms",
        "webAuthnPolicyUserVerificationRequirement",
    ]
)

USER_FIELDS = frozenset(
    [
        "access",
        "applicationRoles",
        "attributes",
        "clientConsents",
        "clientRoles",
        "createdTimestamp",
        "credentials",
        "disableableCredentialTypes",
        "email",
        "emailVerified",
        "enabled",
        "federatedIdentities",
        "federationLink",
        "firstName",
        "groups",
        "id",
        "lastName",
        "notBefore",
        "origin",
        "realmRoles",
        "requiredActions",
        "self",
        "serviceAccountClientId",
        "socialLinks",
        "totp",
        "userProfileMetadata",
        "username",
    ]
)

#: ClientRepresentation: every name 26.7.3 took as `{"clientId": "c", "name": null}` in a PUT
#: (it refused `oauth2DeviceAuthorizationGrantEnabled` and `oidcCibaGrantEnabled`).
CLIENT_FIELDS = frozenset(
    [
        "id",
        "clientId",
        "name",
        "description",
        "type",
        "rootUrl",
        "adminUrl",
        "baseUrl",
        "surrogateAuthRequired",
        "enabled",
        "alwaysDisplayInConsole",
        "clientAuthenticatorType",
        "secret",
        "registrationAccessToken",
        "defaultRoles",
        "redirectUris",
        "webOrigins",
        "notBefore",
        "bearerOnly",
        "consentRequired",
        "standardFlowEnabled",
        "implicitFlowEnabled",
        "directAccessGrantsEnabled",
        "serviceAccountsEnabled",
        "authorizationServicesEnabled",
        "directGrantsOnly",
        "publicClient",
        "frontchannelLogout",
        "protocol",
        "attributes",
        "authenticationFlowBindingOverrides",
        "fullScopeAllowed",
        "nodeReRegistrationTimeout",
        "registeredNodes",
        "protocolMappers",
        "clientTemplate",
        "useTemplateConfig",
        "useTemplateScope",
        "useTemplateMappers",
        "defaultClientScopes",
        "optionalClientScopes",
        "authorizationSettings",
        "access",
        "origin",
    ]
)


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def unknown_field(text: str, known: frozenset[str]) -> tuple[str, int, int] | None:
    """The first top-level field of the JSON object `text` not in `known`, with the line and
    column Jackson reports: just past the value's first token (after `{`, `[` or a string's opening
    quote; after a whole number or literal). None when every field is known or `text` is not an
    object (the JSON parse error is reported elsewhere)."""
    decoder = json.JSONDecoder()
    try:
        index = _skip_space(text, 0)
        if text[index] != "{":
            return None
        index += 1
        while True:
            index = _skip_space(text, index)
            if text[index] == "}":
                return None
            key, index = json.decoder.scanstring(text, index + 1)  # type: ignore[attr-defined]
            index = _skip_space(text, _skip_space(text, index) + 1)  # past the colon
            if key not in known:
                end = index + 1 if text[index] in '{["' else decoder.raw_decode(text, index)[1]
                line_start = text.rfind("\n", 0, end) + 1
                return key, text.count("\n", 0, end) + 1, end - line_start + 1
            index = _skip_space(text, decoder.raw_decode(text, index)[1])
            if text[index] == ",":
                index += 1
    except (IndexError, ValueError):
        return None


def refuse_unknown(body: bytes, known: frozenset[str], representation: str) -> None:
    """Raise Keycloak's 400 when `body` has a field `representation` does not know."""
    found = unknown_field(body.decode("utf-8", errors="replace"), known)
    if found is not None:
        name, line, column = found
        message = (
            f"Invalid json representation for {representation}. "
            f'Unrecognized field "{name}" at line {line} column {column}.'
        )
        raise HttpError(400, {"error": message})


def refuse_unknown_on_create(body: bytes, known: frozenset[str]) -> None:
    """`POST /admin/realms` reads the body itself and answers with its own sentence."""
    if unknown_field(body.decode("utf-8", errors="replace"), known) is not None:
        raise HttpError(400, {"errorMessage": "unable to read contents from stream"})
