"""A brokered login on a real Keycloak, performed over plain HTTP (no browser).

The sandbox simulates a login through an identity provider with a control endpoint; a real Keycloak
only does it through its login pages. This client walks those pages the way a browser would:

1. the authorization request to the app realm with `kc_idp_hint`, which redirects to the upstream
   identity provider's login form;
2. the upstream login form, filled with the user's username and password;
3. the app realm's first-broker-login pages when they appear: "Update Account Information" (the
   review-profile page, or the verify-profile required action; empty fields are filled),
   "Account already exists" (link), and the re-authentication that proves the user owns the
   existing account;
4. the redirect back to the client's `redirect_uri`, whose Location carries the `code` (the
   redirect_uri itself is never fetched);
5. the code exchange at the app realm's token endpoint.

Any other page, or an error, stops the walk with one assertion message naming the step, the HTTP
status and the page title, and Keycloak's own error text when the page shows one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, NoReturn
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from requests.cookies import RequestsCookieJar

MAX_STEPS = 20
TIMEOUT = 60  # seconds; a shared dev-mode Keycloak can be slow to render a login page
REDIRECTS = (301, 302, 303, 307, 308)


LOOPBACK = ("localhost", "127.0.0.1", "::1")


def send_secure_cookies_to_loopback(jar: RequestsCookieJar) -> None:
    """Lets `Secure` cookies of a loopback server travel over plain http, as browsers do.

    Keycloak marks its login cookies (AUTH_SESSION_ID, KC_RESTART, ...) `Secure` even on an http
    dev server; browsers count http://localhost as a secure context and send them back, Python's
    cookie jar does not, and the next login page would answer "Cookie not found". (A cookie policy
    on the session would not help: requests copies the cookies into a jar with the default policy.)
    """
    for cookie in jar:
        if cookie.secure and cookie.domain in LOOPBACK:
            cookie.secure = False


@dataclass
class Form:
    """One `<form>` of a page: where it posts, its inputs (name -> value) and submit buttons."""

    id: str
    action: str
    method: str
    inputs: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    buttons: dict[str, list[str]] = field(default_factory=dict)


class Page(HTMLParser):
    """What the walk needs from a Keycloak page: its title, forms, and the error it shows."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.forms: list[Form] = []
        self.errors: list[str] = []
        self._in_title = False
        self._error_depth = 0
        self._text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "title":
            self._in_title = True
        elif tag == "form":
            self.forms.append(Form(a.get("id", ""), a.get("action", ""), a.get("method", "get").lower()))
        elif tag == "input" and self.forms and a.get("name"):
            form = self.forms[-1]
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button"):
                form.buttons.setdefault(a["name"], []).append(a.get("value", ""))
            elif kind not in ("checkbox", "radio") or "checked" in a:
                form.inputs[a["name"]] = a.get("value", "")
                form.types[a["name"]] = kind
        elif tag == "button" and self.forms and a.get("name"):
            self.forms[-1].buttons.setdefault(a["name"], []).append(a.get("value", ""))
        # Keycloak's themes show errors in an alert box or next to the field (`input-error...`).
        classes = a.get("class", "") + " " + a.get("id", "")
        if self._error_depth:
            self._error_depth += 1
        elif "alert-error" in classes or "input-error" in classes or "kc-feedback-text" in classes:
            self._error_depth = 1
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if self._error_depth:
            self._error_depth -= 1
            if not self._error_depth:
                text = " ".join(" ".join(self._text).split())
                if text:
                    self.errors.append(text)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data.strip()
        if self._error_depth:
            self._text.append(data)


@dataclass
class BrokeredLogin:
    """What a finished login gives: the app realm's tokens, and the pages it filled in on the way."""

    tokens: dict[str, Any]
    steps: list[str]

    @property
    def access_token(self) -> str:
        return str(self.tokens["access_token"])


class LoginStopped(AssertionError):
    """The walk met a page or an answer it cannot go past."""


def brokered_login(
    url: str,
    realm: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    idp_alias: str,
    username: str,
    password: str,
    *,
    profile: dict[str, str] | None = None,
    link_password: str | None = None,
    verify: bool = True,
) -> BrokeredLogin:
    """Logs `username` in to `client_id` of `realm` through identity provider `idp_alias`.

    `profile` fills the review-profile page (its empty fields without a value here get a made-up
    one); `link_password` is the password of the app realm's existing account, asked for when
    Keycloak links the brokered identity to it. A fresh HTTP session each time, as a new browser.
    """
    http = requests.Session()
    http.verify = verify
    base = url.rstrip("/")
    app_prefix = urlsplit(f"{base}/realms/{realm}/").path
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    response = http.get(
        f"{base}/realms/{realm}/protocol/openid-connect/auth",
        params={
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "openid",
            "state": state,
            "nonce": nonce,
            "kc_idp_hint": idp_alias,
        },
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    steps: list[str] = []
    step = "authorization request"
    upstream_done = link_done = profile_done = False
    for _ in range(MAX_STEPS):
        send_secure_cookies_to_loopback(http.cookies)
        if response.status_code in REDIRECTS:
            location = urljoin(response.url, response.headers.get("Location", ""))
            if location.startswith(redirect_uri):
                code = _code_from(location, state, step)
                return BrokeredLogin(_exchange(http, base, realm, client_id, client_secret, redirect_uri, code), steps)
            response = http.get(location, allow_redirects=False, timeout=TIMEOUT)
            continue
        page = Page(response.text) if "html" in response.headers.get("Content-Type", "") else Page("")
        if response.status_code != 200:
            _stop(step, response, page)
        form = _main_form(page)
        if form is None:
            _stop(step, response, page)
        action = urljoin(response.url, form.action)
        data = dict(form.inputs)
        in_app_realm = urlsplit(action).path.startswith(app_prefix)
        if "password" in form.types.values() and not in_app_realm:
            if upstream_done:  # the upstream login form again: the credentials were refused
                _stop("upstream login (credentials refused?)", response, page)
            step, upstream_done = "upstream login form", True
            data.update(username=username, password=password)
        elif "password" in form.types.values():
            if not upstream_done:  # Keycloak ignores a kc_idp_hint naming no enabled identity provider
                _stop(
                    f"the app realm's own login form (is {idp_alias!r} an enabled identity provider?)", response, page
                )
            if link_password is None or link_done:
                _stop("re-authentication to link the existing account (no or wrong link_password)", response, page)
            step, link_done = "re-authentication to link the existing account", True
            data["password"] = link_password
            if "username" in form.types and not data.get("username"):
                data["username"] = username
        elif "linkAccount" in form.buttons.get("submitAction", []):
            step = "account already exists: link"
            data["submitAction"] = "linkAccount"
        elif any(name in form.inputs for name in ("email", "firstName", "lastName")):
            if profile_done:  # the same page again: the values were refused
                _stop("profile form (values refused)", response, page)
            step, profile_done = "profile form", True
            data.update(_profile_values(form, username, profile or {}))
        else:
            _stop(step, response, page)
        steps.append(step if in_app_realm or step.startswith("upstream") else f"{step} (upstream realm)")
        response = http.post(action, data=data, allow_redirects=False, timeout=TIMEOUT)
    raise LoginStopped(f"brokered login did not finish in {MAX_STEPS} steps: {steps}")


def _main_form(page: Page) -> Form | None:
    """The form the user would submit: the first one posting somewhere (language pickers are links)."""
    return next((f for f in page.forms if f.method == "post" and f.action), None)


def _profile_values(form: Form, username: str, given: dict[str, str]) -> dict[str, str]:
    """Values for the review-profile form: those given, and a made-up one for every empty field."""
    made_up = {"email": f"{username}@example.invalid", "firstName": username.title(), "lastName": "Brokered"}
    out = {}
    for name, value in form.inputs.items():
        if name in given:
            out[name] = given[name]
        elif not value and form.types.get(name) in ("text", "email") and name in made_up:
            out[name] = made_up[name]
    return out


def _code_from(location: str, state: str, step: str) -> str:
    query = parse_qs(urlsplit(location).query)
    if "error" in query:
        detail = query.get("error_description", [""])[0]
        raise LoginStopped(f"brokered login stopped after {step}: redirected with error={query['error'][0]} {detail}")
    if query.get("state") != [state]:
        raise LoginStopped(f"brokered login stopped after {step}: redirect without our state ({location})")
    if "code" not in query:
        raise LoginStopped(f"brokered login stopped after {step}: redirect without a code ({location})")
    return query["code"][0]


def _exchange(
    http: requests.Session, base: str, realm: str, client_id: str, secret: str, redirect_uri: str, code: str
) -> dict[str, Any]:
    response = http.post(
        f"{base}/realms/{realm}/protocol/openid-connect/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": secret,
        },
        timeout=TIMEOUT,
    )
    if response.status_code != 200:
        raise LoginStopped(f"brokered login stopped at the code exchange: HTTP {response.status_code} {response.text}")
    tokens: dict[str, Any] = response.json()
    return tokens


def _stop(step: str, response: requests.Response, page: Page) -> NoReturn:
    shown = f" ({'; '.join(page.errors)})" if page.errors else ""
    title = page.title or response.text[:200]
    raise LoginStopped(f"brokered login stopped at {step}: HTTP {response.status_code} {title!r}{shown}")


def stored_token(url: str, realm: str, alias: str, access_token: str, verify: bool = True) -> requests.Response:
    """`GET /realms/{realm}/broker/{alias}/token`: the upstream tokens Keycloak stored for the user."""
    return requests.get(
        f"{url.rstrip('/')}/realms/{realm}/broker/{alias}/token",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=TIMEOUT,
        verify=verify,
    )
