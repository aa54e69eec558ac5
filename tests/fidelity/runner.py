"""The differential corpus: the same requests to the sandbox and to a real Keycloak, compared.

Scenarios are data (`scenarios/*.yaml`, one per file): a list of requests with named captures. The
runner sends each scenario to both servers, normalises the answers by declared rules (ids,
timestamps, secrets, key material, the server's own URL; tokens by their decoded claims; lists
whose order Keycloak does not promise) and compares status, `Location` and body. Every difference
is either listed in `accepted.yaml` with its reason, listed in `known-open.yaml` (a difference not
fixed yet: it must still occur, so a fix forces the list to shrink), or open.

    python -m tests.fidelity.runner --real legacy-exchange=http://127.0.0.1:8080 [--real modern=URL] [--write FILE]

Scenario format::

    area: clients                     # for the per-area figures
    profile: any | default | legacy-exchange | modern
    profiles: [modern, ...]           # or a list of the profiles the scenario runs on
    steps:
      - name: create a sparse client
        request: {method: POST, path: /admin/realms/$realm/clients, json: {clientId: c1}}
        capture: {client: location}   # `location` (last Location segment), `body.<dotted path>`, `token`
                                      # a captured JWT may end `|alg-none` (header alg none, no signature)
                                      # or `|bad-signature` (signature bytes changed) for refusal steps
        ordered: true                 # compare list order too (by default lists are put in canonical order)
        fields: [a, b]                # compare only these top-level keys of an object body

`$realm` is a fresh realm name per run (created by the first step that POSTs it; further realms a
scenario makes are named `$realm-<suffix>` and deleted with it); `$base` is the server's base URL
(for issuers and JWKS URLs in request bodies); `$admin` sends the master admin token (the default);
`auth: none` sends none, `auth: $name` a captured token.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import json
import re
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

HERE = Path(__file__).resolve().parent
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
JWT = re.compile(r"^eyJ[\w-]+\.[\w-]+\.[\w-]*$")
#: Keys whose values differ on every server by nature.
VOLATILE = {
    "createdTimestamp": "<time>",
    "exp": "<time>",
    "iat": "<time>",
    "auth_time": "<time>",
    "nbf": "<time>",
    "jti": "<id>",
    "sid": "<id>",
    "session_state": "<id>",
    "secret": "<secret>",
    "clientSecret": "<secret>",
    "value": "<secret>",
    "access_token": "<token>",
    "refresh_token": "<token>",
    "id_token": "<token>",
    "publicKey": "<key>",
    "public_key": "<key>",
    "certificate": "<key>",
    "kid": "<key>",
    "n": "<key>",
    "x5c": "<key>",
    "x5t": "<key>",
    "x5t#S256": "<key>",
    "serverTime": "<time>",
    "uptime": "<time>",
    "uptimeMillis": "<time>",
    "client.secret.creation.time": "<time>",  # seconds since the epoch, set when the client was made
    "at_hash": "<hash>",  # a hash of the access token's bytes, which differ by nature
}


@dataclass
class Server:
    """One side of the comparison: a base URL and its master admin credentials."""

    url: str
    user: str = "admin"
    password: str = "admin"
    http: requests.Session = field(default_factory=requests.Session)
    token: str | None = None
    fetched: float = 0.0

    def admin_token(self) -> str:
        """The master admin token, renewed every 20 s (master's access tokens live 60 s)."""
        if self.token is None or time.monotonic() - self.fetched > 20:
            self.fetched = time.monotonic()
            answer = self.http.post(
                f"{self.url}/realms/master/protocol/openid-connect/token",
                data={
                    "grant_type": "password",
                    "client_id": "admin-cli",
                    "username": self.user,
                    "password": self.password,
                },
                timeout=30,
            )
            answer.raise_for_status()
            self.token = str(answer.json()["access_token"])
        return self.token


@dataclass
class Answer:
    status: int
    location: str | None
    body: Any


@dataclass
class Difference:
    scenario: str
    step: str
    where: str  # "status", "location" or "body.<path>"
    sandbox: Any
    real: Any
    verdict: str = "open"  # open | accepted | known-open
    reason: str = ""
    area: str = ""

    @property
    def id(self) -> str:
        return f"{self.scenario}::{self.step}::{self.where}"


def substitute(value: Any, names: dict[str, str]) -> Any:
    """Replaces `$name` in every string of `value` (longest names first, so `$a` never eats `$ab`)."""
    if isinstance(value, str):
        for key in sorted(names, key=len, reverse=True):
            value = value.replace(f"${key}", names[key])
        return value
    if isinstance(value, dict):
        return {substitute(k, names): substitute(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, names) for v in value]
    return value


def claims(token: str) -> Any:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def normalise(value: Any, base: str, names: dict[str, str], key: str = "") -> Any:
    """The answer with everything that differs by nature replaced by placeholders."""
    if key in VOLATILE and value not in (None, "**********", [], 0):
        return (
            VOLATILE[key]
            if not (isinstance(value, str) and JWT.match(value))
            else normalise(claims(value), base, names)
        )
    if key in ("expires_in", "refresh_expires_in") and isinstance(value, int) and value > 0:
        # Keycloak answers exp - now: a token issued across a second boundary says 299 for a 300 s lifetime.
        return round(value / 10) * 10
    if key in JSON_SETS and isinstance(value, str) and value.startswith("["):
        # a policy's relations exported as a JSON list in a string; Keycloak keeps them in a set
        try:
            members = json.loads(value)
        except ValueError:
            members = None
        if isinstance(members, list):
            shown = sorted(json.dumps(normalise(m, base, names), sort_keys=True) for m in members)
            return {"<json-set>": shown, "compact": ", " not in value}
    if key == "scope" and isinstance(value, str):
        # Keycloak lists granted scopes in no stable order ("email profile" / "profile email" across runs).
        return " ".join(sorted(value.split()))
    if isinstance(value, dict):
        return {k: normalise(v, base, names, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, base, names, key) for v in value]
    if isinstance(value, str):
        if JWT.match(value):
            return {"<jwt>": normalise(claims(value), base, names)}
        for name, real in sorted(names.items(), key=lambda kv: len(kv[1]), reverse=True):
            if len(real) >= 8:
                value = value.replace(real, f"<{name}>")
        return UUID.sub("<id>", value.replace(base, "<base>"))
    if isinstance(value, int) and not isinstance(value, bool) and value > 10**12:
        return "<time>"
    return value


#: Policy `config` keys whose value is a JSON list in a string, in an order Keycloak does not promise.
JSON_SETS = {"applyPolicies", "resources", "scopes", "clients", "roles", "groups", "users", "clientScopes"}


#: Fields that name an element of a listing: lists of objects are compared in the order of these,
#: so that an element the two servers describe differently still lines up with its twin.
NAMING = ("clientId", "alias", "username", "name", "resourceName", "path", "id")


def _order(v: Any) -> str:
    if isinstance(v, dict):
        for k in NAMING:
            if isinstance(v.get(k), str):
                # components share names across sub-types ("Allowed Client Scopes" anonymous/authenticated)
                return f"{k}={v[k]}/{v.get('subType') or ''}"
    return json.dumps(v, sort_keys=True)


def sort_lists(value: Any) -> Any:
    """Every list in canonical order (Keycloak promises no order for most listings)."""
    if isinstance(value, dict):
        return {k: sort_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((sort_lists(v) for v in value), key=_order)
    return value


def diff(a: Any, b: Any, path: str) -> list[tuple[str, Any, Any]]:
    """The JSON paths where `a` and `b` differ, with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out.extend(diff(a.get(k, "<absent>"), b.get(k, "<absent>"), f"{path}.{k}"))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out.extend(diff(x, y, f"{path}[{i}]"))
        return out
    return [] if a == b else [(path, a, b)]


class Run:
    """One scenario on one server: sends its steps, keeps its captures."""

    def __init__(self, server: Server, realm: str) -> None:
        self.server = server
        self.names: dict[str, str] = {"realm": realm, "base": server.url}

    def send(self, step: dict[str, Any]) -> Answer:
        req = substitute(step["request"], self.names)
        headers = {}
        auth = step.get("auth", "$admin")
        if auth == "$admin":
            headers["Authorization"] = f"Bearer {self.server.admin_token()}"
        elif auth != "none":
            headers["Authorization"] = f"Bearer {substitute(auth, self.names)}"
        response = self.server.http.request(
            req["method"],
            self.server.url + req["path"],
            params=req.get("params"),
            json=req.get("json"),
            data=req.get("form"),
            headers=headers,
            allow_redirects=False,
            timeout=30,
        )
        try:
            body: Any = response.json() if response.content else None
        except ValueError:
            body = {"<text>": response.text[:200]}
        location = response.headers.get("Location")
        for name, source in (step.get("capture") or {}).items():
            self.names[name] = self.capture(source, location, body)
        return Answer(response.status_code, location, body)

    @staticmethod
    def capture(source: str, location: str | None, body: Any) -> str:
        source, _, spoil = source.partition("|")
        return tamper(Run.captured(source, location, body), spoil) if spoil else Run.captured(source, location, body)

    @staticmethod
    def captured(source: str, location: str | None, body: Any) -> str:
        if source == "location":
            return (location or "").rstrip("/").rsplit("/", 1)[-1]
        node = body
        for part in source.split(".")[1:]:
            if isinstance(node, list):  # an element one server lacks (no `broker` client on modern) is None
                node = node[int(part)] if int(part) < len(node) else None
            else:
                node = (node or {}).get(part)
        return str(node)


def tamper(token: str, how: str) -> str:
    """A captured JWT spoiled the way a refusal step needs: `alg-none` (an unsigned token with
    the same claims) or `bad-signature` (the same header and claims, another signature)."""
    header, payload, signature = [*token.split("."), "", ""][:3]
    if how == "alg-none":
        return base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=") + f".{payload}."
    if how == "bad-signature":
        raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)) or b"x")
        raw[0] ^= 0xFF
        return f"{header}.{payload}." + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    raise ValueError(f"unknown capture spoiling {how!r} (alg-none or bad-signature)")


def compare(name: str, step: dict[str, Any], sandbox: tuple[Answer, Run], real: tuple[Answer, Run]) -> list[Difference]:
    (a, ra), (b, rb) = sandbox, real
    title = step.get("name") or f"{step['request']['method']} {step['request']['path']}"
    out = []
    if a.status != b.status:
        out.append(Difference(name, title, "status", a.status, b.status))
    na = normalise(a.location, ra.server.url, ra.names) if a.location else None
    nb = normalise(b.location, rb.server.url, rb.names) if b.location else None
    if na != nb:
        out.append(Difference(name, title, "location", na, nb))
    if step.get("ignore_body"):
        return out
    ba, bb = normalise(a.body, ra.server.url, ra.names), normalise(b.body, rb.server.url, rb.names)
    if step.get("fields") and isinstance(ba, dict) and isinstance(bb, dict):
        ba = {k: ba.get(k, "<absent>") for k in step["fields"]}
        bb = {k: bb.get(k, "<absent>") for k in step["fields"]}
    if not step.get("ordered"):  # order is compared only where a step says Keycloak promises one
        ba, bb = sort_lists(ba), sort_lists(bb)
    out.extend(Difference(name, title, where, x, y) for where, x, y in diff(ba, bb, "body"))
    return out


def load(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text()) if path.exists() else None
    return list(data or [])


def known_file(profile: str) -> Path:
    return HERE / f"known-open-{profile}.yaml"


def judge(differences: list[Difference], profile: str) -> None:
    """Marks each difference accepted / known-open by the lists' patterns (fnmatch on the id)."""
    for verdict, file in (("accepted", HERE / "accepted.yaml"), ("known-open", known_file(profile))):
        for entry in load(file):
            for d in differences:
                if d.verdict == "open" and fnmatch.fnmatchcase(d.id, entry["id"]):
                    d.verdict, d.reason = verdict, entry.get("reason", "")


def scenarios(profile: str, only: str = "*") -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted((HERE / "scenarios").glob("*.yaml")):
        if not fnmatch.fnmatchcase(path.stem, only):
            continue
        scenario = yaml.safe_load(path.read_text())
        wanted = scenario.get("profiles") or [scenario.get("profile", "any")]
        if "any" in wanted or profile in wanted:
            out.append((path.stem, scenario))
    return out


@dataclass
class Result:
    version: str
    profile: str
    requests: Counter[str] = field(default_factory=Counter)  # per area
    differing: dict[str, set[str]] = field(default_factory=dict)  # area -> step ids with a difference
    differences: list[Difference] = field(default_factory=list)

    def figures(self, area: str | None = None) -> dict[str, int]:
        ds = [d for d in self.differences if area is None or d.area == area]
        steps = {f"{d.scenario}::{d.step}" for d in ds}
        open_steps = {f"{d.scenario}::{d.step}" for d in ds if d.verdict == "open"}
        known = {f"{d.scenario}::{d.step}" for d in ds if d.verdict == "known-open"} - open_steps
        total = sum(self.requests.values()) if area is None else self.requests[area]
        return {
            "compared": total,
            "identical": total - len(steps),
            "accepted": len(steps - open_steps - known),
            "known-open": len(known),
            "open": len(open_steps),
        }


def run(sandbox: Server, real: Server, profile: str, only: str = "*") -> Result:
    real_info = requests.get(
        f"{real.url}/admin/serverinfo", headers={"Authorization": f"Bearer {real.admin_token()}"}, timeout=30
    ).json()
    result = Result(str((real_info.get("systemInfo") or {}).get("version", "?")), profile)
    for name, scenario in scenarios(profile, only):
        realm = f"fid-{uuid.uuid4().hex[:8]}"
        runs = (Run(sandbox, realm), Run(real, realm))
        area = scenario.get("area", name.split("-")[0])
        for step in scenario["steps"]:
            answers = [r.send(step) for r in runs]
            result.requests[area] += 1
            found = compare(name, step, (answers[0], runs[0]), (answers[1], runs[1]))
            for d in found:
                d.area = area
            result.differences.extend(found)
        for server in (sandbox, real):  # clean up; not compared
            cleanup(server, realm)
    judge(result.differences, profile)
    return result


def cleanup(server: Server, realm: str) -> None:
    """Deletes the scenario's realm and the `realm-<suffix>` realms it made beside it."""
    headers = {"Authorization": f"Bearer {server.admin_token()}"}
    listed = server.http.get(
        f"{server.url}/admin/realms", params={"briefRepresentation": "true"}, headers=headers, timeout=30
    )
    names = [r.get("realm") for r in listed.json()] if listed.ok else []
    for name in [realm, *(n for n in names if isinstance(n, str) and n.startswith(f"{realm}-"))]:
        server.http.delete(f"{server.url}/admin/realms/{name}", headers=headers, timeout=30)


#: Runner profile (the real server's feature set) -> the sandbox profile that emulates it.
SANDBOX_PROFILES = {"default": "keycloak-26", "legacy-exchange": "legacy-exchange", "modern": "modern"}


def report(results: list[Result]) -> str:
    lines = [
        "# Sandbox fidelity",
        "",
        "Written by `python -m tests.fidelity.runner --real PROFILE=URL ... --write docs/fidelity.md`",
        "(tests/fidelity/runner.py): the same requests (tests/fidelity/scenarios/) sent to the sandbox and",
        "to a real Keycloak with the same features, answers compared after normalisation. A request counts",
        "as identical when status, `Location` and body agree. Accepted differences are listed with their",
        "reasons in tests/fidelity/accepted.yaml; differences not fixed yet in tests/fidelity/known-open-*.yaml.",
        "CI fails on any other difference, and on a listed one that no longer occurs.",
        "",
    ]
    for r in results:
        f = r.figures()
        lines.append(
            f"{r.version} ({r.profile}): {f['compared']} requests compared, {f['identical']} identical, "
            f"{f['accepted']} accepted, {f['known-open'] + f['open']} open"
        )
    for r in results:
        lines += [
            "",
            f"## {r.version}, {r.profile} profile",
            "",
            "| area | compared | identical | accepted | open (listed) | open (new) |",
            "|---|---|---|---|---|---|",
        ]
        for area in sorted(r.requests):
            a = r.figures(area)
            lines.append(
                f"| {area} | {a['compared']} | {a['identical']} | {a['accepted']} | {a['known-open']} | {a['open']} |"
            )
    lines += [
        "",
        "## Every difference",
        "",
        "| profile | difference | sandbox | real | verdict |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        for d in r.differences:
            why = f"{d.verdict}: {d.reason}" if d.reason else d.verdict
            lines.append(f"| {r.profile} | `{d.id}` | {_cell(d.sandbox)} | {_cell(d.real)} | {why} |")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    return json.dumps(value, default=str)[:80].replace("|", "\\|")


def stale_known(result: Result) -> list[str]:
    """known-open entries that matched nothing: the difference was fixed, the entry must go."""
    ids = [d.id for d in result.differences if d.verdict == "known-open"]
    entries = load(known_file(result.profile))
    return [e["id"] for e in entries if not any(fnmatch.fnmatchcase(i, e["id"]) for i in ids)]


def _literal(text: str) -> str:
    """`text` as an fnmatch pattern matching only itself (ids hold `[0]`, a character class)."""
    return re.sub(r"([*?[])", r"[\1]", text)


def update_known(result: Result) -> None:
    """Rewrites the profile's known-open list to exactly the differences not accepted now."""
    reasons = {e["id"]: e.get("reason", "") for e in load(known_file(result.profile))}
    ids = sorted({_literal(d.id) for d in result.differences if d.verdict in ("open", "known-open")})
    entries = [{"id": i, "reason": reasons.get(i) or "not fixed yet"} for i in ids]
    header = (
        f"# Differences between the sandbox and real Keycloak ({result.profile} profile) not fixed yet.\n"
        "# Each must still occur (CI fails when one is gone: remove it). Regenerate with --update-known.\n"
    )
    known_file(result.profile).write_text(header + yaml.safe_dump(entries, sort_keys=False, width=200))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--real",
        action="append",
        required=True,
        metavar="PROFILE=URL",
        help=f"a real Keycloak and its feature profile ({', '.join(SANDBOX_PROFILES)}); repeatable",
    )
    parser.add_argument("--write", help="write the report (markdown) to this file")
    parser.add_argument("--update-known", action="store_true", help="rewrite the known-open lists")
    parser.add_argument(
        "--scenario",
        default="*",
        help="run only the scenarios whose file stem matches this glob (for trying a fix; "
        "not with --write/--update-known, whose figures need the whole corpus)",
    )
    args = parser.parse_args(argv)
    if args.scenario != "*" and (args.write or args.update_known):
        parser.error("--scenario runs part of the corpus: it cannot --write or --update-known")
    from realmctl.sandbox import Sandbox

    results = []
    for item in args.real:
        profile, _, url = item.partition("=")
        if profile not in SANDBOX_PROFILES or not url:
            parser.error(f"--real takes PROFILE=URL with PROFILE one of {', '.join(SANDBOX_PROFILES)}, not {item!r}")
        with Sandbox(profile=SANDBOX_PROFILES[profile]) as sb:
            result = run(
                Server(sb.url, sb.admin_user, sb.admin_password), Server(url.rstrip("/")), profile, args.scenario
            )
        if args.update_known:
            update_known(result)
            judge(result.differences, profile)
        results.append(result)
    text = report(results)
    if args.write:
        Path(args.write).write_text(text)
    print(text.split("\n## Every difference")[0])
    failed = False
    for r in results:
        for d in r.differences:
            if d.verdict == "known-open" and args.scenario != "*":
                print(f"LISTED ({r.profile}) {d.id}: sandbox {d.sandbox!r} / real {d.real!r}", file=sys.stderr)
            if d.verdict == "open":
                failed = True
                print(f"OPEN ({r.profile}) {d.id}: sandbox {d.sandbox!r} / real {d.real!r}", file=sys.stderr)
        for s in stale_known(r) if args.scenario == "*" else []:
            failed = True
            print(f"GONE ({r.profile}, remove it from {known_file(r.profile).name}): {s}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
