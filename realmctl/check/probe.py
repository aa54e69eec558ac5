"""`check --probe`: try the real endpoints with a test user and show each step.

The user's credentials come from REALMCTL_PROBE_USER / REALMCTL_PROBE_PASSWORD. Client secrets are
taken from the spec (where it declares them) or read through the admin API, so nothing else has
to be copied by hand. Every step prints its HTTP status; a failed step is explained by the rule
that predicts it. Tokens are decoded for display only and never printed whole.
"""

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from realmctl.check.broker import token_idps
from realmctl.check.facts import Facts
from realmctl.check.findings import Finding
from realmctl.errors import ConnectionFailed, RealmctlError
from realmctl.keycloak.session import Api, MalformedAnswer, parse_json, seg
from realmctl.keycloak.transport import origin
from realmctl.spec.model import Spec

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"


@dataclass
class Step:
    name: str  # "token", "claims", "broker", "exchange"
    ok: bool
    text: str


@dataclass
class Probe:
    title: str
    steps: list[Step] = field(default_factory=list)
    explained_by: list[Finding] = field(default_factory=list)

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


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        return str(body.get("errorMessage") or body.get("error_description") or body.get("error") or "")
    return ""


class Prober:
    def __init__(self, spec: Spec, api: Api, facts: dict[str, Facts], env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.user = env.get("REALMCTL_PROBE_USER")
        self.password = env.get("REALMCTL_PROBE_PASSWORD")
        if not self.user or self.password is None:
            raise RealmctlError("--probe needs REALMCTL_PROBE_USER and REALMCTL_PROBE_PASSWORD (a test user)")
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
        declared = ((self.spec.realms.get(realm) or {}).get("clients") or {}).get(client_id) or {}
        return declared.get("secret") or self.facts[realm].client_secret(client_id)

    def token(self, probe: Probe, realm: str, client_id: str) -> str | None:
        # scope=openid: a realm that accepts this token from another realm validates it at this
        # realm's userinfo endpoint, which refuses tokens without `openid` (Keycloak then answers
        # the exchange with 500 unknown_error).
        form = {
            "grant_type": "password",
            "client_id": client_id,
            "username": self.user,
            "password": self.password,
            "scope": "openid",
        }
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
                f"POST {path} (password grant, client {client_id}) -> "
                f"{response.status_code} {'' if ok else _error_text(response)}".rstrip(),
            )
        )
        return self.field("POST", path, response, "access_token") if ok else None

    def broker(self, realm: str, client_id: str, alias: str) -> Probe:
        probe = Probe(f"stored token of {self.user} via client {client_id}, realm {realm}, identity provider {alias}")
        access = self.token(probe, realm, client_id)
        if access is None:
            return probe
        claims = claims_of(access)
        roles = ((claims.get("resource_access") or {}).get("broker") or {}).get("roles") or []
        probe.steps.append(
            Step(
                "claims",
                "read-token" in roles,
                f"access token: azp={claims.get('azp')}, resource_access.broker.roles={roles}",
            )
        )
        path = f"/realms/{seg(realm)}/broker/{seg(alias)}/token"
        response = self.call("GET", path, headers={"Authorization": f"Bearer {access}"})
        ok = response.status_code == 200
        detail = f"stored token with {sorted(parse_json('GET', path, response) or [])}" if ok else _error_text(response)
        probe.steps.append(Step("broker", ok, f"GET {path} -> {response.status_code} {detail}"))
        return probe

    def exchange(self, target: str, name: str, entry: dict[str, Any]) -> Probe:
        source = entry["source"]
        requester = entry["clients"][0]
        probe = Probe(f"exchange of a {source['realm']} token of {self.user} by {requester} at {target} ({name})")
        subject = self.token(probe, source["realm"], source["client"])
        if subject is None:
            return probe
        for audience in [None, *(entry.get("audiences") or [])]:
            form = {
                "grant_type": EXCHANGE,
                "client_id": requester,
                "subject_token": subject,
                "subject_token_type": ACCESS_TOKEN,
                "subject_issuer": entry["identityProvider"],
            }
            secret = self.secret(target, requester)
            if secret:
                form["client_secret"] = secret
            if audience:
                form["audience"] = audience
            path = f"/realms/{seg(target)}/protocol/openid-connect/token"
            response = self.call("POST", path, data=form)
            ok = response.status_code == 200
            detail = _error_text(response)
            if ok:
                c = claims_of(self.field("POST", path, response, "access_token"))
                detail = f"realm {target} token, azp={c.get('azp')}, preferred_username={c.get('preferred_username')}"
            what = f" audience={audience}" if audience else ""
            probe.steps.append(
                Step("exchange", ok, f"POST {path} (token exchange{what}) -> {response.status_code} {detail}")
            )
        return probe


def run_probes(spec: Spec, api: Api, facts: dict[str, Facts], findings: list[Finding]) -> list[Probe]:
    prober = Prober(spec, api, facts)
    probes: list[Probe] = []
    for realm, rs in spec.realms.items():
        idps = list(token_idps(rs))
        for client_id, c in (rs.get("clients") or {}).items():
            if c.get("bearerOnly") or not idps:
                continue
            for alias in idps:
                probes.append(prober.broker(realm, client_id, alias))
                explain(probes[-1], [f for f in findings if f.realm == realm and _concerns(f, client_id, alias)])
        for name, entry in (rs.get("tokenExchange") or {}).items():
            probes.append(prober.exchange(realm, name, entry))
            explain(probes[-1], [f for f in findings if f.rule.startswith("exchange.") or f.rule == "realm-missing"])
    return probes


def _concerns(f: Finding, client_id: str, alias: str) -> bool:
    return f.rule.startswith("broker.") and (
        client_id in f.subject or alias in f.subject or f.subject.startswith("user ")
    )


def explain(probe: Probe, findings: list[Finding]) -> None:
    failed = next((s for s in probe.steps if not s.ok), None)
    if failed is not None:
        probe.explained_by = [f for f in findings if f.severity != "info" and f.predicts == failed.name]


def text(probes: list[Probe]) -> str:
    lines = []
    for probe in probes:
        lines.append(f"Probe: {probe.title}")
        for step in probe.steps:
            lines.append(f"  {'ok  ' if step.ok else 'FAIL'} {step.name}: {step.text}")
        for f in probe.explained_by:
            lines.append(f"       predicted by {f.rule}: {f.message}")
        lines.append("")
    return "\n".join(lines)
