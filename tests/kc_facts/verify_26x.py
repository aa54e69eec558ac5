"""Observe what Keycloak 26.7.x really answers on the paths issue #15 relies on.

Not a test (pytest does not collect this file): a script that sets up throw-away realms on up to three
running servers, performs the requests and prints each request with the status and a trimmed body, so
that docs/keycloak-26.7-facts.md can be re-checked on a new release. Tokens and secrets are redacted
from the output. Realms it creates are named `f26-<random>-...` and deleted at the end.

Usage:
  python tests/kc_facts/verify_26x.py [--legacy URL] [--default URL] [--modern URL] [--only 1,2,...]
  (defaults: 18080 legacy-exchange, 18081 release defaults, 18082 modern; admin/admin on master)
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import requests

ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"
RUN = uuid.uuid4().hex[:6]
CALLBACK = "http://127.0.0.1:9/cb"  # never contacted: redirects to it are read, not followed
JWT_RE = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")
FEATURES = (
    "IDENTITY_BROKERING_API_V1",
    "IDENTITY_BROKERING_API_V2",
    "JWT_AUTHORIZATION_GRANT",
    "TOKEN_EXCHANGE",
    "TOKEN_EXCHANGE_STANDARD_V2",
    "TOKEN_EXCHANGE_EXTERNAL_INTERNAL_V2",
    "ADMIN_FINE_GRAINED_AUTHZ",
    "ADMIN_FINE_GRAINED_AUTHZ_V2",
)


def say(text: str = "") -> None:
    print(text, flush=True)


def redact(text: str) -> str:
    """Hides tokens and secrets: the output is meant to be pasted into documents."""
    text = JWT_RE.sub("<jwt>", text)
    return re.sub(
        r'("(?:clientSecret|secret|client_secret|refresh_token|access_token|id_token)"\s*:\s*)"[^"]*"',
        r'\1"<redacted>"',
        text,
    )


def body_of(resp: requests.Response, limit: int = 400) -> str:
    text = resp.text.strip().replace("\n", " ")
    if "<html" in text.lower():
        title = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
        msg = re.search(r"(?:kc-feedback-text|alert-error|instruction)[^>]*>([^<]{3,200})<", text, re.I)
        text = f"HTML page title={title.group(1).strip() if title else '?'!r} " + (
            f"message={msg.group(1).strip()!r}" if msg else ""
        )
    return redact(text)[:limit]


def show(label: str, resp: requests.Response, limit: int = 400) -> requests.Response:
    say(f"  {label}\n    -> {resp.status_code} {body_of(resp, limit)}")
    return resp


def claims(token: str) -> dict[str, Any]:
    """Payload of a JWT, unverified: only read to print which claims the server put in."""
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class Kc:
    """One server: admin calls with a fresh master token (master tokens live 60 s)."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.http = requests.Session()
        self._token = ""
        self._at = 0.0
        self.realms: list[str] = []

    def admin_token(self) -> str:
        if time.time() - self._at > 40:
            r = requests.post(
                f"{self.url}/realms/master/protocol/openid-connect/token",
                data={
                    "grant_type": "password",
                    "client_id": "admin-cli",
                    "username": ADMIN_USER,
                    "password": ADMIN_PASSWORD,
                },
                timeout=30,
            )
            r.raise_for_status()
            self._token, self._at = r.json()["access_token"], time.time()
        return self._token

    def adm(self, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
        return self.http.request(
            method,
            f"{self.url}/admin/{path.lstrip('/')}",
            json=body,
            params=params or None,
            headers={"Authorization": f"Bearer {self.admin_token()}"},
            timeout=60,
        )

    def ok(self, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
        r = self.adm(method, path, body, **params)
        if r.status_code >= 300:
            raise RuntimeError(f"{self.name} {method} {path} -> {r.status_code} {r.text[:300]}")
        return r

    def get(self, path: str, **params: Any) -> Any:
        return self.ok("GET", path, **params).json()

    def raw(self, method: str, path: str) -> tuple[int, str]:
        """Sends PATH byte for byte (requests/urllib3 would normalise `..` and `//`)."""
        u = urlparse(self.url)
        conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port or 80, timeout=30)
        conn.request(method, path, headers={"Authorization": f"Bearer {self.admin_token()}"})
        resp = conn.getresponse()
        text = resp.read().decode(errors="replace")
        conn.close()
        return resp.status, redact(text.strip().replace("\n", " "))[:200]

    def issuer(self, realm: str) -> str:
        return f"{self.url}/realms/{realm}"

    def token_url(self, realm: str) -> str:
        return f"{self.issuer(realm)}/protocol/openid-connect/token"

    # ---- setup helpers --------------------------------------------------------------------------
    def realm(self, suffix: str, **extra: Any) -> str:
        name = f"f26-{RUN}-{suffix}"
        self.ok("POST", "realms", {"realm": name, "enabled": True, **extra})
        self.realms.append(name)
        return name

    def client(self, realm: str, client_id: str, public: bool = False, **extra: Any) -> tuple[str, str]:
        """Creates a client; returns (uuid, secret)."""
        rep = {
            "clientId": client_id,
            "publicClient": public,
            "standardFlowEnabled": True,
            "directAccessGrantsEnabled": True,
            "redirectUris": [CALLBACK, "*"],
            "webOrigins": ["+"],
            **extra,
        }
        loc = self.ok("POST", f"realms/{realm}/clients", rep).headers["Location"]
        cid = loc.rsplit("/", 1)[1]
        secret = "" if public else self.get(f"realms/{realm}/clients/{cid}/client-secret")["value"]
        return cid, secret

    def set_client_attrs(self, realm: str, cid: str, **attrs: str) -> None:
        rep = self.get(f"realms/{realm}/clients/{cid}")
        rep.setdefault("attributes", {}).update(attrs)
        self.ok("PUT", f"realms/{realm}/clients/{cid}", rep)

    def user(self, realm: str, username: str, password: str = "pw-Secret-1") -> str:
        rep = {
            "username": username,
            "enabled": True,
            "email": f"{username}@example.invalid",
            "emailVerified": True,
            "firstName": username.title(),
            "lastName": "Tester",
            "credentials": [{"type": "password", "value": password, "temporary": False}],
        }
        return self.ok("POST", f"realms/{realm}/users", rep).headers["Location"].rsplit("/", 1)[1]

    def password_token(
        self,
        realm: str,
        client_id: str,
        secret: str,
        username: str,
        password: str = "pw-Secret-1",
        scope: str = "openid",
    ) -> dict[str, Any]:
        data = {
            "grant_type": "password",
            "client_id": client_id,
            "username": username,
            "password": password,
            "scope": scope,
        }
        if secret:
            data["client_secret"] = secret
        r = requests.post(self.token_url(realm), data=data, timeout=30)
        r.raise_for_status()
        return r.json()

    def keycloak_idp(
        self,
        realm: str,
        alias: str,
        upstream: str,
        client_id: str,
        secret: str,
        top: dict[str, Any] | None = None,
        **config: str,
    ) -> None:
        """An IdP of type keycloak-oidc in REALM pointing at realm UPSTREAM of the same server."""
        base = self.issuer(upstream)
        cfg = {
            "authorizationUrl": f"{base}/protocol/openid-connect/auth",
            "tokenUrl": f"{base}/protocol/openid-connect/token",
            "userInfoUrl": f"{base}/protocol/openid-connect/userinfo",
            "logoutUrl": f"{base}/protocol/openid-connect/logout",
            "jwksUrl": f"{base}/protocol/openid-connect/certs",
            "useJwksUrl": "true",
            "validateSignature": "true",
            "issuer": base,
            "clientId": client_id,
            "clientSecret": secret,
            "clientAuthMethod": "client_secret_post",
            "syncMode": "IMPORT",
            "defaultScope": "openid",
            **config,
        }
        self.ok(
            "POST",
            f"realms/{realm}/identity-provider/instances",
            {
                "alias": alias,
                "providerId": "keycloak-oidc",
                "enabled": True,
                "storeToken": True,
                "trustEmail": True,
                "config": cfg,
                **(top or {}),
            },
        )

    def cleanup(self) -> None:
        for name in self.realms:
            self.adm("DELETE", f"realms/{name}")


# ---- a brokered login over HTTP -------------------------------------------------------------------
class FormParser(HTMLParser):
    """Collects the first <form>'s action and its input fields (login and first-broker-login pages)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "fields": {}})
        elif tag == "input" and self.forms and a.get("name"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.forms[-1]["fields"][a["name"]] = a.get("value") or ""


def parse_form(html: str) -> dict[str, Any]:
    p = FormParser()
    p.feed(html)
    if not p.forms:
        raise RuntimeError(f"no form in page: {html[:300]}")
    return p.forms[0]


def brokered_login(
    kc: Kc,
    realm: str,
    alias: str,
    client_id: str,
    secret: str,
    username: str,
    password: str = "pw-Secret-1",
    log: bool = True,
) -> dict[str, Any]:
    """Authorization request with kc_idp_hint, upstream login form, first-broker-login pages, code exchange."""
    s = requests.Session()
    url = (
        f"{kc.issuer(realm)}/protocol/openid-connect/auth?client_id={client_id}&response_type=code"
        f"&scope=openid&redirect_uri={CALLBACK}&kc_idp_hint={alias}"
    )
    steps = 0
    page = s.get(url, timeout=30, allow_redirects=False)
    while steps < 20:
        steps += 1
        for cookie in s.cookies:  # Keycloak marks its cookies Secure; a browser sends them to 127.0.0.1 anyway
            cookie.secure = False
        loc = page.headers.get("Location", "")
        if loc.startswith(CALLBACK):
            code = parse_qs(urlparse(loc).query)["code"][0]
            break
        if page.status_code in (302, 303):
            page = s.get(urljoin(page.url, loc), timeout=30, allow_redirects=False)
            continue
        if page.status_code != 200:
            raise RuntimeError(f"brokered login: {page.status_code} at {urlparse(page.url).path}: {body_of(page)}")
        form = parse_form(page.text)
        fields = dict(form["fields"])
        if "password" in fields:
            fields.update(username=username, password=password)
        if log:
            say(f"    form step {steps}: {urlparse(page.url).path} fields={sorted(fields)}")
        page = s.post(
            urljoin(page.url, form["action"].replace("&amp;", "&")), data=fields, timeout=30, allow_redirects=False
        )
    else:
        raise RuntimeError(f"brokered login did not reach the callback: {page.status_code} {body_of(page)}")
    r = requests.post(
        kc.token_url(realm),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": client_id,
            "client_secret": secret,
        },
        timeout=30,
    )
    r.raise_for_status()
    return r.json()


# ---- 1. serverinfo ----------------------------------------------------------------------------------
def point1(servers: list[Kc]) -> None:
    say("\n## 1. serverinfo")
    for kc in servers:
        info = kc.get("serverinfo")
        say(f"- {kc.name} {kc.url}: systemInfo.version={info['systemInfo']['version']!r}")
        say(f"  profileInfo={json.dumps(info.get('profileInfo'))}")
        by = {f["name"]: f for f in info.get("features", [])}
        for name in FEATURES:
            f = by.get(name)
            say(
                f"  {name}: "
                + (
                    json.dumps({k: f.get(k) for k in ("type", "enabled", "deprecated", "label", "dependencies")})
                    if f
                    else "absent"
                )
            )
        others = sorted(n for n in by if ("BROKER" in n or "JWT" in n or "EXCHANGE" in n) and n not in FEATURES)
        say(f"  other matching names: {others}")


# ---- 2. identity brokering API v2 ------------------------------------------------------------------
def broker_pair(kc: Kc, tag: str, top: dict[str, Any] | None = None, **idp_config: str) -> dict[str, Any]:
    """Upstream realm with a user, downstream realm with a keycloak-oidc IdP `up` and a client `app`."""
    up = kc.realm(f"{tag}-up")
    _, up_secret = kc.client(up, "broker-client")
    kc.user(up, "alice")
    down = kc.realm(f"{tag}-down")
    kc.keycloak_idp(down, "up", up, "broker-client", up_secret, top, **idp_config)
    app_id, app_secret = kc.client(down, "app")
    return {"up": up, "down": down, "app_id": app_id, "app_secret": app_secret}


def point2(kc: Kc) -> None:
    say(f"\n## 2. Identity Brokering API v2 on {kc.name} ({kc.url})")
    p = broker_pair(kc, "v2")
    down = p["down"]
    broker = kc.get(f"realms/{down}/clients", clientId="broker")
    say(f"- new realm has a `broker` client: {bool(broker)} ({[c['clientId'] for c in broker]})")
    idp = kc.get(f"realms/{down}/identity-provider/instances/up")
    say(f"- IdP representation keys: {sorted(idp)}; config keys: {sorted(idp['config'])}")
    say(
        f"  storeTokenInSession in config as created: {idp['config'].get('storeTokenInSession')!r}; "
        f"types={idp.get('types')}"
    )
    idp["config"]["storeTokenInSession"] = "true"
    show(
        "PUT IdP with config.storeTokenInSession=true",
        kc.adm("PUT", f"realms/{down}/identity-provider/instances/up", idp),
    )
    back = kc.get(f"realms/{down}/identity-provider/instances/up")["config"].get("storeTokenInSession")
    say(f"  read back: {back!r}")
    idp["config"].pop("storeTokenInSession")
    kc.ok("PUT", f"realms/{down}/identity-provider/instances/up", idp)

    say("- brokered login of alice@up into down (client app):")
    tok = brokered_login(kc, down, "up", "app", p["app_secret"], "alice")
    at = tok["access_token"]
    c = claims(at)
    say(f"  user token: azp={c.get('azp')} aud={c.get('aud')} resource_access={list(c.get('resource_access', {}))}")
    user = kc.get(f"realms/{down}/users", username="alice")[0]
    links = kc.get(f"realms/{down}/users/{user['id']}/federated-identity")
    say(f"  federated identities: {links}")
    url = f"{kc.issuer(down)}/broker/up/token"

    show(
        "GET /broker/up/token with Bearer user token",
        requests.get(url, headers={"Authorization": f"Bearer {at}"}, timeout=30),
    )
    show("POST /broker/up/token, token only, no client auth", requests.post(url, data={"token": at}, timeout=30))
    auth = {"client_id": "app", "client_secret": p["app_secret"]}
    show("POST client auth (app), no `token` field", requests.post(url, data=auth, timeout=30))
    show(
        "POST client auth (app), external.token.enabled unset",
        requests.post(url, data={**auth, "token": at}, timeout=30),
    )
    kc.set_client_attrs(down, p["app_id"], **{"external.token.enabled": "true"})
    show(
        "POST app, external.token.enabled=true, external.token.idp unset",
        requests.post(url, data={**auth, "token": at}, timeout=30),
    )
    kc.set_client_attrs(down, p["app_id"], **{"external.token.idp": "other"})
    show(
        "POST app, external.token.idp=other (IdP not allowed)",
        requests.post(url, data={**auth, "token": at}, timeout=30),
    )
    kc.set_client_attrs(down, p["app_id"], **{"external.token.idp": "other##up"})
    r = show(
        "POST app, external.token.idp=other##up (multi-value with ##)",
        requests.post(url, data={**auth, "token": at}, timeout=30),
    )
    if r.ok:
        say(f"    answer keys: {sorted(r.json())}; token_type={r.json().get('token_type')}")
        say(f"    upstream access token iss={claims(r.json()['access_token']).get('iss')}")
    kc.set_client_attrs(down, p["app_id"], **{"external.token.idp": "up"})
    show("POST app, external.token.idp=up", requests.post(url, data={**auth, "token": at}, timeout=30))
    show(
        "POST app, Basic client auth", requests.post(url, data={"token": at}, auth=("app", p["app_secret"]), timeout=30)
    )
    show(
        "POST app, wrong secret",
        requests.post(url, data={"client_id": "app", "client_secret": "x", "token": at}, timeout=30),
    )
    show("POST app, token=garbage", requests.post(url, data={**auth, "token": "garbage"}, timeout=30))
    show(
        "POST app, unknown alias /broker/nope/token",
        requests.post(f"{kc.issuer(down)}/broker/nope/token", data={**auth, "token": at}, timeout=30),
    )
    show(
        "POST app, Bearer header instead of `token` field",
        requests.post(url, data=auth, headers={"Authorization": f"Bearer {at}"}, timeout=30),
    )

    # a public client, and a second confidential client that holds a token of `app`
    kc.client(down, "pub", public=True, attributes={"external.token.enabled": "true", "external.token.idp": "up"})
    show(
        "POST as public client `pub` (client_id only)",
        requests.post(url, data={"client_id": "pub", "token": at}, timeout=30),
    )
    other_id, other_secret = kc.client(
        down, "other-app", attributes={"external.token.enabled": "true", "external.token.idp": "up"}
    )
    show(
        "POST as `other-app` (allowed) with a token issued to `app` (not in its aud)",
        requests.post(url, data={"client_id": "other-app", "client_secret": other_secret, "token": at}, timeout=30),
    )
    # the token of another client that *is* in the audience: app's token gets other-app in aud via a mapper
    kc.ok(
        "POST",
        f"realms/{down}/clients/{p['app_id']}/protocol-mappers/models",
        {
            "name": "aud-other",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-audience-mapper",
            "config": {"included.client.audience": "other-app", "access.token.claim": "true"},
        },
    )
    tok2 = brokered_login(kc, down, "up", "app", p["app_secret"], "alice", log=False)
    say(f"  new app token aud={claims(tok2['access_token']).get('aud')}")
    show(
        "POST as `other-app` with app's token whose aud holds other-app",
        requests.post(
            url,
            data={"client_id": "other-app", "client_secret": other_secret, "token": tok2["access_token"]},
            timeout=30,
        ),
    )
    # a user without a link to the IdP
    kc.user(down, "local")
    lt = kc.password_token(down, "app", p["app_secret"], "local")["access_token"]
    show(
        "POST app with the token of a local user (no link)", requests.post(url, data={**auth, "token": lt}, timeout=30)
    )
    # storeToken off
    idp = kc.get(f"realms/{down}/identity-provider/instances/up")
    idp["storeToken"] = False
    kc.ok("PUT", f"realms/{down}/identity-provider/instances/up", idp)
    show(
        "POST app with IdP storeToken=false (linked user, token stored earlier)",
        requests.post(url, data={**auth, "token": at}, timeout=30),
    )
    idp["config"]["storeTokenInSession"] = "true"
    kc.ok("PUT", f"realms/{down}/identity-provider/instances/up", idp)
    tok3 = brokered_login(kc, down, "up", "app", p["app_secret"], "alice", log=False)
    show(
        "POST app, storeToken=false + storeTokenInSession=true, after a new login",
        requests.post(url, data={**auth, "token": tok3["access_token"]}, timeout=30),
    )
    show(
        "  same, with the older token (session of the first login)",
        requests.post(url, data={**auth, "token": at}, timeout=30),
    )
    _ = other_id


def point2b(kc: Kc, lifespan: int) -> None:
    """Where v2 reads the token from (storeToken / storeTokenInSession) and whether it refreshes it."""
    say(f"\n## 2b. Identity Brokering API v2 on {kc.name}: storage options and refresh")
    variants: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        ("storeToken=false, storeTokenInSession absent", {"storeToken": False}, {}),
        ("storeToken=false, storeTokenInSession=false", {"storeToken": False}, {"storeTokenInSession": "false"}),
        ("storeToken=false, storeTokenInSession=true", {"storeToken": False}, {"storeTokenInSession": "true"}),
        ("storeToken=true, storeTokenInSession=false", {"storeToken": True}, {"storeTokenInSession": "false"}),
    ]
    for n, (label, top, cfg) in enumerate(variants):
        p = broker_pair(kc, f"v2s{n}", top=top, **cfg)
        kc.set_client_attrs(p["down"], p["app_id"], **{"external.token.enabled": "true", "external.token.idp": "up"})
        tok = brokered_login(kc, p["down"], "up", "app", p["app_secret"], "alice", log=False)
        show(
            f"{label}: POST after login",
            requests.post(
                f"{kc.issuer(p['down'])}/broker/up/token",
                data={"client_id": "app", "client_secret": p["app_secret"], "token": tok["access_token"]},
                timeout=30,
            ),
        )
    p = broker_pair(kc, "v2r")
    kc.set_client_attrs(p["down"], p["app_id"], **{"external.token.enabled": "true", "external.token.idp": "up"})
    up_rep = kc.get(f"realms/{p['up']}")
    up_rep["accessTokenLifespan"] = lifespan
    kc.ok("PUT", f"realms/{p['up']}", up_rep)
    tok = brokered_login(kc, p["down"], "up", "app", p["app_secret"], "alice", log=False)
    data = {"client_id": "app", "client_secret": p["app_secret"], "token": tok["access_token"]}
    url = f"{kc.issuer(p['down'])}/broker/up/token"
    r1 = show(f"upstream lifespan {lifespan}s: POST fresh", requests.post(url, data=data, timeout=30))
    time.sleep(lifespan + 3)
    r2 = show(f"POST after {lifespan + 3}s", requests.post(url, data=data, timeout=30))
    if r1.ok and r2.ok:
        c1, c2 = claims(r1.json()["access_token"]), claims(r2.json()["access_token"])
        say(
            f"    same access token: {r1.json()['access_token'] == r2.json()['access_token']}; "
            f"exp {c1['exp']} -> {c2['exp']} (now {int(time.time())})"
        )


# ---- 3. broker v1 refresh of an expired stored token -----------------------------------------------
def point3(kc: Kc, lifespan: int) -> None:
    say(f"\n## 3. Broker API v1 on {kc.name}: is an expired stored token refreshed? (upstream lifespan {lifespan}s)")
    p = broker_pair(kc, "v1", top={"addReadTokenRoleOnCreate": True})
    up_rep = kc.get(f"realms/{p['up']}")
    up_rep["accessTokenLifespan"] = lifespan
    show(f"PUT upstream realm accessTokenLifespan={lifespan}", kc.adm("PUT", f"realms/{p['up']}", up_rep))
    back = kc.get(f"realms/{p['up']}")["accessTokenLifespan"]
    say(f"  read back accessTokenLifespan={back}")
    broker = kc.get(f"realms/{p['down']}/clients", clientId="broker")
    say(f"- `broker` client in the new realm: {bool(broker)}")
    tok = brokered_login(kc, p["down"], "up", "app", p["app_secret"], "alice", log=False)
    at = tok["access_token"]
    say(f"  app token resource_access: {claims(at).get('resource_access')}")
    url = f"{kc.issuer(p['down'])}/broker/up/token"
    r1 = show(
        "GET /broker/up/token (fresh)", requests.get(url, headers={"Authorization": f"Bearer {at}"}, timeout=30), 200
    )
    if not r1.ok:
        return
    first = r1.json()
    c1 = claims(first["access_token"])
    lifetime = c1["exp"] - c1["iat"]
    say(f"    stored: expires_in={first.get('expires_in')} keys={sorted(first)} upstream exp-iat={lifetime}")
    time.sleep(lifespan + 3)
    r2 = show(
        f"GET /broker/up/token after {lifespan + 3}s (stored access token expired)",
        requests.get(url, headers={"Authorization": f"Bearer {at}"}, timeout=30),
        200,
    )
    if r2.ok:
        second = r2.json()
        c2 = claims(second["access_token"])
        say(
            f"    same access token: {second['access_token'] == first['access_token']}; "
            f"iat {c1['iat']} -> {c2['iat']}; exp {c1['exp']} -> {c2['exp']} (now {int(time.time())}); "
            f"same refresh token: {second.get('refresh_token') == first.get('refresh_token')}"
        )
    show("POST /broker/up/token on a v1 server", requests.post(url, data={"token": at}, timeout=30))


# ---- 4. JWT Authorization Grant ----------------------------------------------------------------------
def point4(kc: Kc) -> None:
    say(f"\n## 4. JWT Authorization Grant on {kc.name} ({kc.url})")
    b = kc.realm("jwt-b")
    a = kc.realm("jwt-a")
    a_iss, b_iss = kc.issuer(a), kc.issuer(b)
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    # realm B: a user, a confidential client with standard token exchange, audience scopes
    bcid, bsec = kc.client(b, "b-app", attributes={"standard.token.exchange.enabled": "true"})
    bob = kc.user(b, "bob")
    for name, aud in (("aud-a", a_iss), ("aud-a-endpoint", kc.token_url(a)), ("aud-x", "https://elsewhere.invalid")):
        kc.ok(
            "POST",
            f"realms/{b}/client-scopes",
            {
                "name": name,
                "protocol": "openid-connect",
                "attributes": {"include.in.token.scope": "true"},
                "protocolMappers": [
                    {
                        "name": name,
                        "protocol": "openid-connect",
                        "protocolMapper": "oidc-audience-mapper",
                        "config": {"included.custom.audience": aud, "access.token.claim": "true"},
                    }
                ],
            },
        )
        sid = next(s["id"] for s in kc.get(f"realms/{b}/client-scopes") if s["name"] == name)
        kc.ok("PUT", f"realms/{b}/clients/{bcid}/optional-client-scopes/{sid}")
    # realm A: IdP for B found by issuer, a client allowed to use it, a user (linked later)
    idp_rep = {
        "alias": "realm-b",
        "providerId": "oidc",
        "enabled": True,
        "config": {
            "issuer": b_iss,
            "jwksUrl": f"{b_iss}/protocol/openid-connect/certs",
            "useJwksUrl": "true",
            "validateSignature": "true",
            "clientId": "unused",
            "clientSecret": "unused",
            "authorizationUrl": f"{b_iss}/protocol/openid-connect/auth",
            "tokenUrl": f"{b_iss}/protocol/openid-connect/token",
            "jwtAuthorizationGrantEnabled": "true",
        },
    }
    show(
        "POST A IdP realm-b (oidc, jwtAuthorizationGrantEnabled=true)",
        kc.adm("POST", f"realms/{a}/identity-provider/instances", idp_rep),
    )
    got = kc.get(f"realms/{a}/identity-provider/instances/realm-b")
    say(f"  stored IdP: types={got.get('types')} keys={sorted(got)}")
    say(f"  config: {redact(json.dumps({k: v for k, v in got['config'].items() if 'Url' not in k}))}")
    acid, asec = kc.client(a, "a-app")
    alice = kc.user(a, "alice-a")
    a_token = kc.token_url(a)

    def jwt_grant(label: str, assertion: str, client: str = "a-app", secret: str | None = None) -> requests.Response:
        data = {"grant_type": grant, "assertion": assertion, "client_id": client}
        secret = asec if secret is None else secret
        if secret:
            data["client_secret"] = secret
        return show(label, requests.post(a_token, data=data, timeout=30))

    def b_token(scope: str = "openid") -> str:
        return kc.password_token(b, "b-app", bsec, "bob", scope=scope)["access_token"]

    def exchanged(scope: str | None = "aud-a", audience: str | None = None, label: str = "") -> str:
        data = {
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "client_id": "b-app",
            "client_secret": bsec,
            "subject_token": b_token(),
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        }
        if scope:
            data["scope"] = scope
        if audience:
            data["audience"] = audience
        r = requests.post(kc.token_url(b), data=data, timeout=30)
        if label:
            show(label, r)
        return str(r.json().get("access_token", "")) if r.ok else ""

    def describe(label: str, token: str) -> None:
        c = claims(token)
        say(
            f"    {label}: iss={c.get('iss')} aud={c.get('aud')} azp={c.get('azp')} "
            f"exp-iat={c['exp'] - c['iat']} jti={'jti' in c}"
        )

    say("- realm B tokens (b-app fullScopeAllowed=true, the default):")
    describe("password grant", b_token())
    describe("password grant scope=aud-a", b_token("openid aud-a"))
    exchanged(audience=a_iss, label=f"B standard exchange scope=aud-a audience={a_iss}")
    t = exchanged(label="B standard exchange scope=aud-a (no audience)")
    if t:
        describe("exchanged", t)
    say("- A jwt-bearer grant, one fresh assertion per request, failures in the order met:")
    jwt_grant("no assertion", "")
    jwt_grant("assertion not a JWT", "abc")
    kc.client(
        a,
        "a-pub",
        public=True,
        attributes={"oauth2.jwt.authorization.grant.enabled": "true", "oauth2.jwt.authorization.grant.idp": "realm-b"},
    )
    jwt_grant("public client a-pub (attributes set)", exchanged(), client="a-pub", secret="")
    jwt_grant("a-app: oauth2.jwt.authorization.grant.enabled unset", exchanged())
    kc.set_client_attrs(a, acid, **{"oauth2.jwt.authorization.grant.enabled": "true"})
    jwt_grant("a-app: grant enabled, ...grant.idp unset", exchanged())
    kc.set_client_attrs(a, acid, **{"oauth2.jwt.authorization.grant.idp": "other"})
    jwt_grant("a-app: ...grant.idp=other", exchanged())
    kc.set_client_attrs(a, acid, **{"oauth2.jwt.authorization.grant.idp": "other##realm-b"})
    jwt_grant("a-app: ...grant.idp=other##realm-b; user not linked; assertion aud=[A, account]", exchanged())
    jwt_grant("user not linked; assertion aud=account only (plain password grant)", b_token())
    link = {"identityProvider": "realm-b", "userId": bob, "userName": "bob"}
    show(
        "POST link alice-a -> realm-b (userId = B sub)",
        kc.adm("POST", f"realms/{a}/users/{alice}/federated-identity/realm-b", link),
    )
    say(f"  links: {kc.get(f'realms/{a}/users/{alice}/federated-identity')}")
    jwt_grant("linked; assertion aud=[A, account] (exchanged)", exchanged())
    jwt_grant("linked; assertion aud=account only (plain password grant)", b_token())
    say("- b-app fullScopeAllowed=false (so `account` drops out of aud):")
    brep = kc.get(f"realms/{b}/clients/{bcid}")
    brep["fullScopeAllowed"] = False
    kc.ok("PUT", f"realms/{b}/clients/{bcid}", brep)
    describe("password grant", b_token())
    describe("password grant scope=aud-a", b_token("openid aud-a"))
    t = exchanged(label="B standard exchange scope=aud-a")
    if t:
        describe("exchanged", t)
    jwt_grant("linked; assertion with no aud (plain password grant)", b_token())
    jwt_grant("linked; assertion aud=https://elsewhere.invalid", b_token("openid aud-x"))
    jwt_grant("linked; assertion aud=A token endpoint", b_token("openid aud-a-endpoint"))
    assertion = exchanged()
    ok = jwt_grant("linked; exchanged assertion aud=[A issuer]", assertion)
    if ok.ok:
        body = ok.json()
        c = claims(body["access_token"])
        say(
            f"    answer keys={sorted(body)} refresh_expires_in={body.get('refresh_expires_in')} "
            f"scope={body.get('scope')!r}"
        )
        say(
            f"    A token: iss={c.get('iss')} sub={c.get('sub')} (alice-a={alice}) azp={c.get('azp')} "
            f"aud={c.get('aud')} sid={c.get('sid')!r} exp-iat={c['exp'] - c['iat']}"
        )
    jwt_grant("same assertion a second time (reuse not allowed by default)", assertion)
    jwt_grant("password-grant token scope=aud-a (no exchange needed?)", b_token("openid aud-a"))
    idp = kc.get(f"realms/{a}/identity-provider/instances/realm-b")

    def idp_put(**changes: str | None) -> None:
        for k, v in changes.items():
            if v is None:
                idp["config"].pop(k, None)
            else:
                idp["config"][k] = v
        kc.ok("PUT", f"realms/{a}/identity-provider/instances/realm-b", idp)

    idp_put(jwtAuthorizationGrantAssertionReuseAllowed="true")
    again = exchanged()
    jwt_grant("reuse allowed: first use", again)
    jwt_grant("reuse allowed: second use", again)
    idp_put(jwtAuthorizationGrantAssertionReuseAllowed=None, jwtAuthorizationGrantMaxAllowedAssertionExpiration="60")
    jwt_grant("max allowed assertion expiration 60, assertion lifetime 300 s, used at once", exchanged())
    idp_put(jwtAuthorizationGrantMaxAllowedAssertionExpiration="5")
    aged = exchanged()
    time.sleep(8)
    jwt_grant("max allowed assertion expiration 5, assertion issued 8 s ago", aged)
    idp_put(jwtAuthorizationGrantMaxAllowedAssertionExpiration=None)
    brealm = kc.get(f"realms/{b}")
    brealm["accessTokenLifespan"] = 600
    kc.ok("PUT", f"realms/{b}", brealm)
    long_lived = exchanged()
    describe("B token with realm lifespan 600", long_lived)
    jwt_grant("default max expiration, assertion lifetime 600 s", long_lived)
    brealm["accessTokenLifespan"] = 300
    kc.ok("PUT", f"realms/{b}", brealm)
    idp_put(jwtAuthorizationGrantAssertionSignatureAlg="ES256")
    jwt_grant("signature alg ES256 required, assertion RS256", exchanged())
    idp_put(jwtAuthorizationGrantAssertionSignatureAlg=None, issuer=b_iss + "-other")
    jwt_grant("IdP issuer differs from assertion iss", exchanged())
    idp_put(issuer=b_iss, jwtAuthorizationGrantEnabled="false")
    jwt_grant("IdP jwtAuthorizationGrantEnabled=false", exchanged())
    idp_put(jwtAuthorizationGrantEnabled=None)
    jwt_grant("IdP jwtAuthorizationGrantEnabled absent", exchanged())
    idp_put(
        jwtAuthorizationGrantEnabled="true",
        jwtAuthorizationGrantAllowedClockSkew="5",
        jwtAuthorizationGrantMaxAllowedAssertionExpiration="300",
    )
    idp["enabled"] = False
    kc.ok("PUT", f"realms/{a}/identity-provider/instances/realm-b", idp)
    jwt_grant("IdP disabled (enabled=false)", exchanged())
    idp["enabled"] = True
    kc.ok("PUT", f"realms/{a}/identity-provider/instances/realm-b", idp)
    show("DELETE link", kc.adm("DELETE", f"realms/{a}/users/{alice}/federated-identity/realm-b"))
    jwt_grant("link deleted", exchanged())
    show("POST link again", kc.adm("POST", f"realms/{a}/users/{alice}/federated-identity/realm-b", link))
    say("- b-app fullScopeAllowed=true again, and a client in B whose clientId is A's issuer:")
    brep["fullScopeAllowed"] = True
    kc.ok("PUT", f"realms/{b}/clients/{bcid}", brep)
    kc.client(b, a_iss, standardFlowEnabled=False, directAccessGrantsEnabled=False, redirectUris=[])
    for scope in (None, "aud-a"):
        t = exchanged(scope=scope, audience=a_iss, label=f"B standard exchange audience=<A issuer> scope={scope}")
        if t:
            describe("exchanged", t)
            jwt_grant("A grant with it", t)
    cfg = kc.get(f"realms/{a}/identity-provider/instances/realm-b")["config"]
    say(f"- IdP config as returned after PUTs: {redact(json.dumps({k: v for k, v in cfg.items() if 'Url' not in k}))}")
    attrs = kc.get(f"realms/{a}/clients/{acid}")["attributes"]
    say(f"- A client attributes as returned: { {k: v for k, v in attrs.items() if 'jwt' in k} }")
    for t in ("JWT_AUTHORIZATION_GRANT", "USER_AUTHENTICATION", "EXCHANGE_EXTERNAL_TOKEN"):
        lst = kc.get(f"realms/{a}/identity-provider/instances", type=t)
        say(f"- listing ?type={t}: {[i['alias'] for i in lst]}")


# ---- 5. admin API paths and IdP details ----------------------------------------------------------
def point5(kc: Kc) -> None:
    say(f"\n## 5. Admin API details on {kc.name} ({kc.url})")
    r = kc.realm("paths")
    show("POST role 'a/b'", kc.adm("POST", f"realms/{r}/roles", {"name": "a/b"}))
    show("POST role 'a;b'", kc.adm("POST", f"realms/{r}/roles", {"name": "a;b"}))
    show("POST role 'a..b'", kc.adm("POST", f"realms/{r}/roles", {"name": "a..b"}))
    kc.ok("POST", f"realms/{r}/roles", {"name": "plain"})
    paths = [
        f"/admin/realms/{r}/roles/plain",
        f"/admin/realms/{r}/roles/a%2Fb",
        f"/admin/realms/{r}/roles/a/b",
        f"/admin/realms/{r}/roles/a%3Bb",
        f"/admin/realms/{r}/roles/a;b",
        f"/admin/realms/{r}/roles/a..b",
        f"/admin/realms/{r}//roles/plain",
        f"/admin/realms/{r}/roles//plain",
        f"/admin/realms/{r}/../{r}/roles/plain",
        f"/admin/realms/{r}/%2E%2E/{r}/roles/plain",
        f"/admin/realms/{r}/roles/%2E%2E",
        f"/admin/realms/{r}/roles/plain;x=1",
        f"/admin/realms/{r}/roles/plain%3Bx=1",
        f"/admin/realms/{r}/roles/plain%2F",
        f"/admin/realms/{r};x/roles/plain",
    ]
    for path in paths:
        status, text = kc.raw("GET", path)
        say(f"  GET {path.replace(r, '{r}')}\n    -> {status} {text}")
    # IdP alias change, types, listing params, nullable booleans
    _, up_secret = kc.client(r, "idp-client")
    kc.keycloak_idp(r, "idp1", r, "idp-client", up_secret)
    idp = kc.get(f"realms/{r}/identity-provider/instances/idp1")
    top = redact(json.dumps({k: v for k, v in idp.items() if k != "config"}))
    say(f"- GET IdP idp1: types={idp.get('types')} top-level={top}")
    renamed = {**idp, "alias": "idp2"}
    show(
        "PUT /identity-provider/instances/idp1 with alias idp2",
        kc.adm("PUT", f"realms/{r}/identity-provider/instances/idp1", renamed),
    )
    say(f"  aliases after: {[i['alias'] for i in kc.get(f'realms/{r}/identity-provider/instances')]}")
    minimal = {
        "alias": "idp3",
        "providerId": "oidc",
        "config": {
            "clientId": "x",
            "clientSecret": "y",
            "authorizationUrl": "https://x.invalid/a",
            "tokenUrl": "https://x.invalid/t",
        },
    }
    show("POST minimal IdP idp3 (no booleans)", kc.adm("POST", f"realms/{r}/identity-provider/instances", minimal))
    got = kc.get(f"realms/{r}/identity-provider/instances/idp3")
    say(f"  idp3 top-level as stored: {redact(json.dumps({k: v for k, v in got.items() if k != 'config'}))}")
    show(
        "POST github IdP gh",
        kc.adm(
            "POST",
            f"realms/{r}/identity-provider/instances",
            {"alias": "gh", "providerId": "github", "config": {"clientId": "x", "clientSecret": "y"}},
        ),
    )
    show(
        "POST saml IdP sp",
        kc.adm(
            "POST",
            f"realms/{r}/identity-provider/instances",
            {
                "alias": "sp",
                "providerId": "saml",
                "config": {
                    "singleSignOnServiceUrl": "https://x.invalid/sso",
                    "entityId": "sp-entity",
                    "idpEntityId": "idp-entity",
                },
            },
        ),
    )
    for alias in ("gh", "sp"):
        got = kc.adm("GET", f"realms/{r}/identity-provider/instances/{alias}")
        if got.ok:
            say(f"  {alias} types={got.json().get('types')} top-level keys={sorted(got.json())}")
    rrep = kc.get(f"realms/{r}")
    rrep["organizationsEnabled"] = True
    kc.ok("PUT", f"realms/{r}", rrep)
    org = kc.adm("POST", f"realms/{r}/organizations", {"name": "org1", "domains": [{"name": "org1.invalid"}]})
    show("POST organization org1", org)
    if org.ok:
        org_id = org.headers["Location"].rsplit("/", 1)[1]
        show(
            "POST organizations/{id}/identity-providers 'idp3' (link idp3 to the organization)",
            kc.http.post(
                f"{kc.url}/admin/realms/{r}/organizations/{org_id}/identity-providers",
                data="idp3",
                headers={"Authorization": f"Bearer {kc.admin_token()}", "Content-Type": "application/json"},
                timeout=30,
            ),
        )
    for params in (
        {},
        {"type": "USER_AUTHENTICATION"},
        {"type": "JWT_AUTHORIZATION_GRANT"},
        {"type": "EXCHANGE_EXTERNAL_TOKEN"},
        {"type": "ANY"},
        {"realmOnly": "true"},
        {"realmOnly": "false"},
        {"type": "NOPE"},
        {"briefRepresentation": "true"},
    ):
        resp = kc.adm("GET", f"realms/{r}/identity-provider/instances", **params)
        val = [i.get("alias") for i in resp.json()] if resp.ok else body_of(resp)
        say(f"  list {params or '(no params)'} -> {resp.status_code} {val}")
    brief = kc.adm("GET", f"realms/{r}/identity-provider/instances", briefRepresentation="true").json()
    say(f"  brief entry keys: {sorted(brief[0]) if brief else []}")


# ---- 6. legacy exchange -----------------------------------------------------------------------------
def point6(kc: Kc) -> None:
    say(f"\n## 6. Legacy cross-realm exchange (token-exchange v1 + FGAP v1) on {kc.name} ({kc.url})")
    b = kc.realm("lx-b")
    a = kc.realm("lx-a")
    _, bsec = kc.client(b, "b-app")
    kc.user(b, "bob")
    kc.keycloak_idp(a, "realm-b", b, "b-app", bsec)
    acid, asec = kc.client(a, "a-app")
    show(
        "PUT A IdP management/permissions enabled",
        kc.adm("PUT", f"realms/{a}/identity-provider/instances/realm-b/management/permissions", {"enabled": True}),
    )
    perm = kc.get(f"realms/{a}/identity-provider/instances/realm-b/management/permissions")
    rm = kc.get(f"realms/{a}/clients", clientId="realm-management")[0]["id"]
    pol = kc.ok(
        "POST",
        f"realms/{a}/clients/{rm}/authz/resource-server/policy/client",
        {"name": "a-app may exchange", "clients": [acid], "logic": "POSITIVE"},
    ).json()
    tx_perm_id = perm["scopePermissions"]["token-exchange"]
    tp = kc.get(f"realms/{a}/clients/{rm}/authz/resource-server/permission/scope/{tx_perm_id}")
    tp["policies"] = [pol["id"]]
    kc.ok("PUT", f"realms/{a}/clients/{rm}/authz/resource-server/permission/scope/{tx_perm_id}", tp)
    sub = kc.password_token(b, "b-app", bsec, "bob")["access_token"]
    r = show(
        "A token endpoint: v1 exchange subject_issuer=realm-b, subject_token=B access token",
        requests.post(
            kc.token_url(a),
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "client_id": "a-app",
                "client_secret": asec,
                "subject_token": sub,
                "subject_issuer": "realm-b",
                "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            },
            timeout=30,
        ),
    )
    if r.ok:
        c = claims(r.json()["access_token"])
        say(
            f"    A token: iss={c.get('iss')} azp={c.get('azp')} preferred_username={c.get('preferred_username')}; "
            f"answer keys={sorted(r.json())}"
        )


@contextmanager
def cleaning(servers: list[Kc]) -> Iterator[None]:
    try:
        yield
    finally:
        for kc in servers:
            kc.cleanup()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--legacy", default="http://127.0.0.1:18080")
    ap.add_argument("--default", default="http://127.0.0.1:18081")
    ap.add_argument("--modern", default="http://127.0.0.1:18082")
    ap.add_argument("--only", default="1,2,2b,3,4,5,6")
    ap.add_argument("--lifespan", type=int, default=10, help="upstream access token lifespan for point 3")
    ap.add_argument("--keep", action="store_true", help="do not delete the realms created")
    args = ap.parse_args()
    legacy, default, modern = Kc("legacy-exchange", args.legacy), Kc("default", args.default), Kc("modern", args.modern)
    servers = [legacy, default, modern]
    only = set(args.only.split(","))
    steps: list[tuple[str, Callable[[], None]]] = [
        ("1", lambda: point1(servers)),
        ("2", lambda: point2(modern)),
        ("2b", lambda: point2b(modern, args.lifespan)),
        ("3", lambda: point3(default, args.lifespan)),
        ("4", lambda: point4(modern)),
        ("4", lambda: point4(default)),
        ("5", lambda: point5(default)),
        ("5", lambda: point5(modern)),
        ("6", lambda: point6(legacy)),
    ]
    say(f"run {RUN} at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
    failed = 0
    with cleaning([] if args.keep else servers):
        for key, step in steps:
            if key not in only:
                continue
            try:
                step()
            except Exception as exc:  # report and go on: one broken point must not hide the others
                failed += 1
                say(f"  !! point {key} stopped: {type(exc).__name__}: {redact(str(exc))[:500]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
