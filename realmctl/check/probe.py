"""`check --probe`: try the real endpoints as the user would, and show each step.

By default a test user (REALMCTL_PROBE_USER / REALMCTL_PROBE_PASSWORD) logs in with the password
grant to every declared client. `ProbeOptions` narrows that to the user's own situation: one
client, the client_credentials grant, or a token obtained elsewhere, and for token exchange the
form fields the user really sends. Client secrets come from an env var the user names, the spec,
or the admin API; they are never taken from the command line. Every step prints the request
(secrets masked), the HTTP status, Keycloak's error and the token claims that decide the outcome;
a failed step is explained by the rules about this subject that predict it. Tokens are decoded for
display only and never printed whole.
"""

import base64
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import requests

from realmctl import capabilities
from realmctl.chains import JWT, _users, audience_scope
from realmctl.check.broker import token_idps
from realmctl.check.facts import Facts
from realmctl.check.findings import Finding
from realmctl.errors import ConnectionFailed, RealmctlError
from realmctl.keycloak.session import Api, MalformedAnswer, parse_json, seg
from realmctl.keycloak.transport import origin
from realmctl.spec.model import Spec

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"


@dataclass
class Step:
    name: str  # "token", "claims", "broker", "exchange", "grant"
    ok: bool
    text: str
    #: The token's claims that decide the outcome, for `--format json` (`claims_view`): on a
    #: "claims" step the token presented, on a successful exchange or grant the token issued.
    claims: dict[str, Any] | None = None


@dataclass
class Probe:
    title: str
    steps: list[Step] = field(default_factory=list)
    explained_by: list[Finding] = field(default_factory=list)
    realm: str = ""
    source_realm: str = ""  # an exchange's subject token comes from here
    subjects: set[str] = field(default_factory=set)  # finding subjects this probe is about
    rules: tuple[str, ...] = ()  # when set, only rules with these id prefixes explain a failure

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a JWT, for display (the signature was checked by the server that uses it)."""
    try:
        payload = token.split(".")[1]
        result: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return result
    except (IndexError, ValueError):
        return {}


def issuer_verdict(iss: str, expected: str, realm: str) -> str:
    """How a token's `iss` compares with what `realm` issues at this URL: "same", "missing",
    "other-realm", "other-host", or "other-issuer" (same host and realm, another scheme or path).
    Keycloak refuses every verdict but "same" with "Invalid token"."""
    if not iss:
        return "missing"
    if iss == expected:
        return "same"
    if iss.rsplit("/realms/", 1)[-1] != realm:
        return "other-realm"
    return "other-host" if urlsplit(iss).netloc != urlsplit(expected).netloc else "other-issuer"


SECRET_FIELDS = ("password", "client_secret", "subject_token", "actor_token", "refresh_token", "assertion", "token")


@dataclass
class ProbeOptions:
    """The user's own situation, from `check --probe-*` (all optional)."""

    realm: str | None = None
    client: str | None = None
    secret: str | None = None  # the --probe-client's secret, from the env var the user named
    grant: Literal["password", "client_credentials"] = "password"
    token: str | None = None  # an access token obtained elsewhere (--probe-token-file/-env)
    request: dict[str, str] | None = None  # the exchange form as the user sends it (--probe-request)


def parse_request(text: str) -> dict[str, str]:
    """Form fields as the user sends them: `a=b&c=d` (curl -d), or one `name=value` a line."""
    body = "&".join(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
    fields = dict(parse_qsl(body, keep_blank_values=True))
    if not fields:
        raise RealmctlError("--probe-request: no form fields (expected name=value pairs, as in curl -d)")
    return fields


def masked(form: Mapping[str, str]) -> str:
    """A form for display: secrets and tokens replaced by ***."""
    return " ".join(f"{k}={'***' if k in SECRET_FIELDS else v}" for k, v in form.items())


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        return str(body.get("errorMessage") or body.get("error_description") or body.get("error") or "")
    return ""


class Prober:
    def __init__(
        self,
        spec: Spec,
        api: Api,
        facts: dict[str, Facts],
        env: Mapping[str, str] | None = None,
        options: ProbeOptions | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self.options = options or ProbeOptions()
        self.user = env.get("REALMCTL_PROBE_USER")
        self.password = env.get("REALMCTL_PROBE_PASSWORD")
        needs_user = self.options.token is None and self.options.grant == "password"
        if needs_user and (not self.user or self.password is None):
            raise RealmctlError(
                "--probe needs REALMCTL_PROBE_USER and REALMCTL_PROBE_PASSWORD (a test user), or a token "
                "(--probe-token-file/--probe-token-env), or --probe-grant client_credentials"
            )
        self.spec, self.api, self.facts = spec, api, facts
        self.url = api.settings.url
        # The admin connection's transport rules: no redirect to another origin (the form holds the
        # test user's password and a client secret), the per-request timeout and the run's deadline.
        self.http = api.session()

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One probe request; a broken connection is one sentence naming it."""
        try:
            return self.http.request(method, self.url + path, **kwargs)
        except RealmctlError:
            raise
        except requests.RequestException as exc:
            raise ConnectionFailed(
                f"{method} {path}: no answer from {origin(self.url)} ({type(exc).__name__})."
            ) from None

    @staticmethod
    def field(method: str, path: str, response: requests.Response, name: str) -> str:
        """`name` from a success answer's JSON object, or one sentence saying the answer is not one."""
        body = parse_json(method, path, response)
        value = body.get(name) if isinstance(body, dict) else None
        if not isinstance(value, str):
            raise MalformedAnswer(f"{method} {path} was answered with HTTP 200 but without a {name}.")
        return value

    def secret(self, realm: str, client_id: str) -> str | None:
        if client_id == self.options.client and self.options.secret:
            return self.options.secret
        declared = ((self.spec.realms.get(realm) or {}).get("clients") or {}).get(client_id) or {}
        return declared.get("secret") or self.facts[realm].client_secret(client_id)

    @property
    def who(self) -> str:
        if self.options.token is not None:
            return "the given token's user"
        if self.options.grant == "client_credentials":
            return "the service account"
        return str(self.user)

    def token(self, probe: Probe, realm: str, client_id: str, scope: str = "openid") -> str | None:
        """The access token the probe presents: the given one, or one from the chosen grant."""
        if self.options.token is not None:
            probe.steps.append(Step("token", True, "token given with --probe-token-file/--probe-token-env (not sent)"))
            return self.options.token
        # scope=openid: a realm that accepts this token from another realm validates it at this
        # realm's userinfo endpoint, which refuses tokens without `openid` (Keycloak then answers
        # the exchange with 500 unknown_error).
        form = {"grant_type": self.options.grant, "client_id": client_id}
        if self.options.grant == "password":
            form.update(username=str(self.user), password=str(self.password))
        form["scope"] = scope
        secret = self.secret(realm, client_id)
        if secret:
            form["client_secret"] = secret
        path = f"/realms/{seg(realm)}/protocol/openid-connect/token"
        response = self.call("POST", path, data=form)
        ok = response.status_code == 200
        probe.steps.append(
            Step(
                "token",
                ok,
                f"POST {path} {masked(form)} -> {response.status_code} {'' if ok else _error_text(response)}".rstrip(),
            )
        )
        return self.field("POST", path, response, "access_token") if ok else None

    def token_findings(self, realm: str, claims: dict[str, Any], endpoint: str, answer: str) -> list[Finding]:
        """What makes `realm` refuse this token before looking at its roles: another issuer
        (realm or host name) or expiry. Keycloak's own answer is quoted."""
        expected = self.issuer(realm)
        iss = str(claims.get("iss") or "")
        out = []
        subject = "the probe's token"
        verdict = issuer_verdict(iss, expected, realm)
        if verdict not in ("same", "missing"):
            if verdict == "other-realm":
                rule, why = "probe.token-other-realm", f"was issued by realm {iss.rsplit('/realms/', 1)[-1]}"
                fix = f"get the token from realm {realm} (its token endpoint {expected}/protocol/openid-connect/token)"
            else:
                rule = f"probe.token-{verdict}"
                why = f"was issued for another host name ({urlsplit(iss).netloc})"
                fix = (
                    f"request the token through the same host name the endpoint is called with ({expected}), or "
                    "give Keycloak one fixed host name (--hostname) so every token carries the same issuer"
                )
            out.append(
                Finding(
                    "error",
                    rule,
                    realm,
                    subject,
                    f"the token {why}: iss={iss!r}, but realm {realm} at this URL issues {expected!r}, so "
                    f"{endpoint} answers {answer}",
                    fix,
                    None,
                    "claims",
                )
            )
        exp = claims.get("exp")
        if isinstance(exp, int | float) and exp < time.time():
            out.append(
                Finding(
                    "error",
                    "probe.token-expired",
                    realm,
                    subject,
                    f"the token expired {int(time.time() - exp)} s ago (exp={int(exp)}), so {endpoint} "
                    f"answers {answer}",
                    "get a fresh access token (refresh_token grant) before calling; check the client's "
                    "access token lifespan against how long the caller keeps it",
                    None,
                    "claims",
                )
            )
        return out

    def issuer(self, realm: str) -> str:
        """What `realm` puts in `iss` when called at this URL (its discovery document says)."""
        return str(self.facts[realm].discovery(realm).get("issuer") or f"{self.url}/realms/{realm}")

    def claims_view(self, realm: str, claims: dict[str, Any]) -> dict[str, Any]:
        """The claims `show_claims` prints, as a JSON object for `check --probe --format json`:
        what a program needs to tell why `realm` refused the token, without parsing the text."""
        exp = claims.get("exp")
        iss = claims.get("iss")
        expected = self.issuer(realm)
        return {
            "iss": iss,
            "aud": claims.get("aud"),
            "azp": claims.get("azp"),
            "user": claims.get("preferred_username") or claims.get("sub"),
            "exp": exp,
            "secondsLeft": int(exp - time.time()) if isinstance(exp, int | float) else None,
            "brokerRoles": ((claims.get("resource_access") or {}).get("broker") or {}).get("roles") or [],
            "scope": claims.get("scope"),
            "issuer": {
                "realm": realm,
                "expected": expected,
                "verdict": issuer_verdict(str(iss or ""), expected, realm),
            },
        }

    def show_claims(self, realm: str, claims: dict[str, Any]) -> str:
        expected = self.issuer(realm)
        iss = claims.get("iss")
        exp = claims.get("exp")
        left = f"{int(exp - time.time())} s left" if isinstance(exp, int | float) else "no exp"
        roles = ((claims.get("resource_access") or {}).get("broker") or {}).get("roles") or []
        return (
            f"iss={iss}{'' if iss == expected else f' (realm {realm} here is {expected})'}, "
            f"aud={claims.get('aud')}, azp={claims.get('azp')}, "
            f"user={claims.get('preferred_username') or claims.get('sub')}, "
            f"exp={exp} ({left}), resource_access.broker.roles={roles}, scope={claims.get('scope')}"
        )

    def _stored_token_probe(
        self, realm: str, client_id: str, alias: str, suffix: str = "", rules: tuple[str, ...] = ()
    ) -> tuple[Probe, str | None, dict[str, Any], str]:
        """What both stored-token probes start with: the probe, the user's token for `client_id`
        (None when getting it failed, recorded as a step), its claims and the broker path."""
        via = f" via client {client_id}" if self.options.token is None else ""
        title = f"stored token of {self.who}{via}, realm {realm}, identity provider {alias}{suffix}"
        probe = Probe(title, realm=realm, rules=rules)
        probe.subjects = {f"client {client_id}", f"identity provider {alias}", f"user {str(self.user).lower()}"}
        access = self.token(probe, realm, client_id)
        claims = claims_of(access) if access is not None else {}
        return probe, access, claims, f"/realms/{seg(realm)}/broker/{seg(alias)}/token"

    def broker(self, realm: str, client_id: str, alias: str) -> Probe:
        probe, access, claims, path = self._stored_token_probe(realm, client_id, alias)
        if access is None:
            return probe
        foreign = self.token_findings(realm, claims, f"GET {path}", '400 "Invalid token."')
        roles = ((claims.get("resource_access") or {}).get("broker") or {}).get("roles") or []
        # With v2 on, the v1 GET is refused before the token is read: the role decides nothing, and
        # the GET itself shows Keycloak's answer (predicted by v2.v1-chain).
        v1_off = capabilities.read(self.api).broker_api == "v2"
        if v1_off:
            probe.rules = ("v2.", "probe.")
        shown, view = self.show_claims(realm, claims), self.claims_view(realm, claims)
        probe.steps.append(Step("claims", ("read-token" in roles or v1_off) and not foreign, shown, view))
        probe.explained_by += foreign
        response = self.call("GET", path, headers={"Authorization": f"Bearer {access}"})
        ok = response.status_code == 200
        detail = f"stored token with {sorted(parse_json('GET', path, response) or [])}" if ok else _error_text(response)
        probe.steps.append(Step("broker", ok, f"GET {path} -> {response.status_code} {detail}"))
        return probe

    def broker_v2(self, realm: str, client_id: str, alias: str) -> Probe:
        """Identity Brokering API v2: the client itself authenticates and hands in the user's token."""
        probe, access, claims, path = self._stored_token_probe(
            realm, client_id, alias, " (identity-brokering-api v2)", ("v2.", "probe.")
        )
        if access is None:
            return probe
        foreign = self.token_findings(realm, claims, f"POST {path}", '400 invalid_token "Invalid token"')
        probe.steps.append(
            Step("claims", not foreign, self.show_claims(realm, claims), self.claims_view(realm, claims))
        )
        probe.explained_by += foreign
        form = {"client_id": client_id, "token": access}
        secret = self.secret(realm, client_id)
        if secret:
            form["client_secret"] = secret
        response = self.call("POST", path, data=form)
        ok = response.status_code == 200
        detail = _error_text(response)
        if ok:
            body = parse_json("POST", path, response)
            kind = body.get("issued_token_type") if isinstance(body, dict) else None
            detail = f"stored token with {sorted(body) if isinstance(body, dict) else []}, issued_token_type={kind}"
        probe.steps.append(Step("broker", ok, f"POST {path} {masked(form)} -> {response.status_code} {detail}"))
        return probe

    def jwt_grant(self, target: str, name: str, entry: dict[str, Any]) -> Probe:
        """JWT Authorization Grant: a realm-B token whose only audience is realm A's issuer (the
        audience scope realmctl attaches), presented as the assertion at realm A's token endpoint."""
        source, client_id = entry["source"], entry["clients"][0]
        alias = entry["identityProvider"]
        probe = Probe(
            f"JWT Authorization Grant of a {source['realm']} token of {self.who} by {client_id} at {target} ({name})",
            realm=target,
            source_realm=source["realm"],
            rules=("jwt.", "probe."),
        )
        probe.subjects = {
            f"client {client_id}",
            f"identity provider {alias}",
            f"token exchange {name}",
            f"client {source['client']} of realm {source['realm']}",
            *(f"user {u}" for u in self.linked_targets(source["realm"], entry)),
        }
        # The audience scope is asked for when the source client has it; without it Keycloak would
        # refuse the token request ("Invalid scopes"), and the grant, which jwt.audience-missing
        # predicts, would never be tried.
        live = self.facts[source["realm"]].state.client(source["client"]) or {}
        listed = (live.get("defaultClientScopes") or []) + (live.get("optionalClientScopes") or [])
        scope = f"openid {audience_scope(target)}" if audience_scope(target) in listed or not live else "openid"
        assertion = self.token(probe, source["realm"], source["client"], scope)
        if assertion is None:
            return probe
        claims = claims_of(assertion)
        issuer = self.issuer(target)
        shown, view = self.show_claims(source["realm"], claims), self.claims_view(source["realm"], claims)
        probe.steps.append(Step("claims", True, f"{shown}; the grant needs aud={issuer} only", view))
        path = f"/realms/{seg(target)}/protocol/openid-connect/token"
        form = {"grant_type": JWT_BEARER, "client_id": client_id, "assertion": assertion}
        secret = self.secret(target, client_id)
        if secret:
            form["client_secret"] = secret
        probe.steps.append(self.token_step("grant", target, path, form))
        return probe

    def token_step(self, name: str, target: str, path: str, form: dict[str, Any]) -> Step:
        """POSTs `form` to realm `target`'s token endpoint: the step shows the request (secrets
        masked), the status, and Keycloak's error or the issued token's claims."""
        response = self.call("POST", path, data=form)
        ok = response.status_code == 200
        detail, issued = _error_text(response), None
        if ok:
            c = claims_of(self.field("POST", path, response, "access_token"))
            detail = f"realm {target} token, azp={c.get('azp')}, preferred_username={c.get('preferred_username')}"
            issued = self.claims_view(target, c)
        line = f"POST {path} {masked(form)} -> {response.status_code} {detail}".rstrip()
        return Step(name, ok, line, issued)

    def linked_targets(self, source_realm: str, entry: dict[str, Any]) -> list[str]:
        """The realm-A users of `entry` the probe user of realm B stands for (by username or e-mail)."""
        me = (self.facts[source_realm].user(str(self.user)) or {}) if self.user and source_realm in self.facts else {}
        names = {str(self.user or "").lower(), str(me.get("email") or "").lower()} - {""}
        return [target for target, src in _users(entry.get("users")).items() if src.lower() in names]

    def exchange(self, target: str, name: str, entry: dict[str, Any]) -> Probe:
        source = entry["source"]
        request = dict(self.options.request or {})
        requester = request.get("client_id") or entry["clients"][0]
        probe = Probe(
            f"exchange of a {source['realm']} token of {self.who} by {requester} at {target} ({name})"
            + (" with the request of --probe-request" if request else ""),
            realm=target,
            source_realm=source["realm"],
        )
        probe.subjects = {
            f"client {requester}",
            f"identity provider {entry['identityProvider']}",
            f"token exchange {name}",
        }
        subject = request.get("subject_token") or self.token(probe, source["realm"], source["client"])
        if subject is None:
            return probe
        # The subject token's claims, for reading the answer: its iss must be what the identity
        # provider trusts, its azp the provider's client id.
        subject_claims = claims_of(subject)
        shown, view = (
            self.show_claims(source["realm"], subject_claims),
            self.claims_view(source["realm"], subject_claims),
        )
        probe.steps.append(Step("claims", True, shown, view))
        path = f"/realms/{seg(target)}/protocol/openid-connect/token"
        if request:
            forms = [{"client_id": requester, **request, "subject_token": subject}]
            issuer, kind = forms[0].get("subject_issuer"), forms[0].get("subject_token_type", ACCESS_TOKEN)
            if not issuer and not kind.endswith(":jwt"):
                probe.explained_by.append(self.no_issuer(target, requester, entry))
        else:
            forms = [
                {
                    "grant_type": EXCHANGE,
                    "client_id": requester,
                    "subject_token": subject,
                    "subject_token_type": ACCESS_TOKEN,
                    "subject_issuer": entry["identityProvider"],
                    **({"audience": audience} if audience else {}),
                }
                for audience in [None, *(entry.get("audiences") or [])]
            ]
        for form in forms:
            secret = self.secret(target, form["client_id"])
            if secret and "client_secret" not in form and "client_assertion" not in form:
                form["client_secret"] = secret
            probe.steps.append(self.token_step("exchange", target, path, form))
        return probe

    def no_issuer(self, target: str, requester: str, entry: dict[str, Any]) -> Finding:
        """The user's exchange request does not say which identity provider the token comes from."""
        client = self.facts[target].state.client(requester) or {}
        standard = (client.get("attributes") or {}).get("standard.token.exchange.enabled") == "true"
        alias = entry["identityProvider"]
        return Finding(
            "error",
            "probe.request-no-subject-issuer",
            target,
            f"client {requester}",
            "the request has no subject_issuer, so Keycloak takes the subject token for one of realm "
            f"{target}'s own"
            + (
                f" (client {requester} has standard token exchange on, and the standard provider takes the request)"
                if standard
                else ""
            )
            + ' and answers 400 invalid_request "Invalid token"; realmctl\'s own probe always sends '
            "subject_issuer, so only the request as sent shows this",
            f"add subject_issuer={alias} to the request (or send subject_token_type="
            "urn:ietf:params:oauth:token-type:jwt)",
            None,
            "exchange",
        )


def run_probes(
    spec: Spec,
    api: Api,
    facts: dict[str, Facts],
    findings: list[Finding],
    options: ProbeOptions | None = None,
    full: Spec | None = None,
) -> list[Probe]:
    """The probes of this run: every declared client and exchange entry, or only the user's client,
    token or request when `options` says so. `spec` is the view the v1 rules see; `full` (the spec
    as written) adds the 26.6+ variants' own requests: the v2 broker POST and the jwt-bearer grant."""
    from realmctl.check.modern import exchange_methods, stored_apis  # modern imports this module's peers

    options = options or ProbeOptions()
    prober = Prober(spec, api, facts, options=options)
    probes: list[Probe] = []
    v2_idps: set[tuple[str, str]] = set()  # probed through v2 (the v1 GET is off on such a server)
    if full is not None:
        caps = capabilities.read(api)
        for (realm, name), version in stored_apis(full, caps).items():
            entry = full.realms[realm]["storedTokens"][name]
            if version != "v2":
                continue
            v2_idps.add((realm, entry["identityProvider"]))
            if options.request is not None or options.realm not in (None, realm):
                continue
            for client_id in entry["clients"]:
                if options.client in (None, client_id):
                    probes.append(prober.broker_v2(realm, client_id, entry["identityProvider"]))
        for (realm, name), method in exchange_methods(full, caps).items():
            entry = full.realms[realm]["tokenExchange"][name]
            involved = {entry["source"]["client"], *entry["clients"]}
            if method != JWT or options.request is not None or options.realm not in (None, realm):
                continue
            if options.client in (None, *involved):
                probes.append(prober.jwt_grant(realm, name, entry))
    for realm, rs in spec.realms.items():
        if options.realm and realm != options.realm:
            continue
        idps = [alias for alias in token_idps(rs) if (realm, alias) not in v2_idps]
        exchanges = rs.get("tokenExchange") or {}
        clients = [
            c
            for c, body in (rs.get("clients") or {}).items()
            if not body.get("bearerOnly") and options.client in (None, c)
        ]
        if options.client and options.client not in (rs.get("clients") or {}) and options.realm == realm:
            clients = [options.client]  # a client the spec does not declare, named with its realm
        if options.request is None:
            for client_id in clients if idps else []:
                for alias in idps:
                    probes.append(prober.broker(realm, client_id, alias))
        for name, entry in exchanges.items():
            involved = {entry["source"]["client"], *entry["clients"]}
            if options.request is None and options.client not in (None, *involved):
                continue
            if options.request is not None and options.request.get("client_id") not in (None, *entry["clients"]):
                continue
            probes.append(prober.exchange(realm, name, entry))
    if not probes and (options.client or options.request is not None):
        what = (
            f"--probe-client {options.client}: no realm of the spec declares it (give --probe-realm)"
            if options.request is None
            else "--probe-request: no tokenExchange entry of the spec lets its client_id exchange"
        )
        raise RealmctlError(f"{what}; nothing was probed")
    for probe in probes:
        explain(
            probe, [f for f in findings if f.realm in (probe.realm, probe.source_realm) or f.rule == "realm-missing"]
        )
    return probes


def explain(probe: Probe, findings: list[Finding]) -> None:
    """The rules that predicted the first failed step: the probe's own token rules, then the
    check's findings about this probe's subjects (its client, identity provider, exchange entry,
    user), never another user's."""
    failed = next((s for s in probe.steps if not s.ok), None)
    own = [f for f in probe.explained_by if failed is not None and f.predicts == failed.name]
    if failed is None:
        probe.explained_by = []
        return
    about = [
        f
        for f in findings
        if f.severity != "info"
        and (not probe.rules or f.rule.startswith(probe.rules))
        and f.predicts == failed.name
        and (f.subject in probe.subjects or not f.subject.startswith(("user ", "client ", "identity provider ")))
        and f.rule != "broker.linked-users-without-read-token"
    ]
    probe.explained_by = own + about


def text(probes: list[Probe]) -> str:
    lines = []
    for probe in probes:
        lines.append(f"Probe: {probe.title}")
        for step in probe.steps:
            lines.append(f"  {'ok  ' if step.ok else 'FAIL'} {step.name}: {step.text}")
        for f in probe.explained_by:
            lines.append(f"       predicted by {f.rule}: {f.message}")
            if f.fix and f.rule.startswith("probe."):
                lines.append(f"       Fix: {f.fix}")
        lines.append("")
    return "\n".join(lines)
