"""Pictures of the chains `realmctl check` checked: Mermaid (for pull-request comments, which GitHub
renders) and Graphviz dot. Each chain is drawn link by link in the order Keycloak walks it, each
link coloured by the findings that fall on it, with their rule ids and fixes, because a reviewer
finds the broken link faster in a picture than in a list.

The chains are derived from the spec and the report alone (check's rules are not touched): a
finding falls on a link by its rule id, or else by its subject ("identity provider X", "client X",
"user X"); a finding of another realm or another chain falls on none.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from realmctl.check.broker import chain_users, token_idps
from realmctl.check.findings import Finding, Report
from realmctl.render import md_code, md_text
from realmctl.spec.model import Spec

# Link states, worst first; "skip" is a link the check never reached because an earlier one broke.
ERROR, WARNING, OK, SKIP = "error", "warning", "ok", "skip"
COLOURS = {  # (fill, stroke) for Mermaid classes and dot nodes; edges take the stroke
    ERROR: ("#ffebe9", "#cf222e"),
    WARNING: ("#fff8c5", "#9a6700"),
    OK: ("#dafbe1", "#1a7f37"),
    SKIP: ("#f6f8fa", "#8c959f"),
}
MARK = {ERROR: "✗", WARNING: "⚠", OK: "✓", SKIP: "–"}

# Which link of the stored-token chain each rule is about.
BROKER_LINKS = {
    "broker.idp-missing": "idp",
    "broker.store-token-off": "stored",
    "broker.user-not-linked": "stored",
    "upkeep.no-refresh-token": "stored",
    "broker.user-lacks-role": "role",
    "broker.read-token-only-for-new-users": "role",
    "upkeep.account-linking-role": "role",
    "broker.role-not-in-scope": "scope",
    "broker.scope-optional": "scope",
    "upkeep.account-linking-scope": "scope",
    "broker.no-mapper": "mapper",
    "broker.custom-claim-name": "mapper",
    "broker.access-claim-off": "mapper",
    "broker.lightweight-token": "mapper",
    "broker.role-prefix": "mapper",
    "broker.several-readable-idps": "endpoint",
}
# Which link of the exchange chain each rule is about.
EXCHANGE_LINKS = {
    "exchange.source-client-missing": "source",
    "exchange.idp-missing": "trust",
    "exchange.idp-issuer": "trust",
    "exchange.idp-keys": "trust",
    "exchange.idp-client-id": "trust",
    "exchange.features-missing": "permission",
    "exchange.permission-off": "permission",
    "exchange.permission-no-policy": "permission",
    "exchange.requester-not-allowed": "policy",
    "exchange.requester-public": "client",
    "exchange.audience-no-permission": "audience",
    "exchange.impersonation-no-permission": "audience",
}
# Rules after which exchange's check stops, and the links it therefore never looked at (mirrors the
# `continue`s of realmctl/check/exchange.py: change both together). A link with a finding of its
# own is drawn by that finding, not as unchecked.
EXCHANGE_STOPS = {
    "exchange.features-missing": {"source", "trust", "policy", "client", "audience"},
    "exchange.idp-missing": {"permission", "policy", "client", "audience"},
    "exchange.permission-off": {"policy", "audience"},
}
# The Keycloak 26.6+ variants (realmctl/check/modern.py): Identity Brokering API v2 and the JWT
# Authorization Grant. Their findings carry the entry's position, which tells two entries apart.
V2_LINKS = {
    "v2.idp-missing": "idp",
    "v2.no-stored-token": "stored",
    "v2.client-missing": "client",
    "v2.public-client": "client",
    "v2.client-not-enabled": "enabled",
    "v2.idp-not-allowed": "allowed",
}
JWT_LINKS = {
    "jwt.feature-off": "endpoint",
    "jwt.idp-missing": "trust",
    "jwt.idp-grant-off": "trust",
    "jwt.issuer-mismatch": "trust",
    "jwt.public-client": "client",
    "jwt.client-not-enabled": "client",
    "jwt.idp-not-allowed": "client",
    "jwt.user-not-linked": "link",
    "jwt.audience-missing": "audience",
    "jwt.audience-replaced": "audience",
    "jwt.multiple-audiences": "audience",
}
JWT_STOPS = {"jwt.feature-off": {"source", "trust", "client", "link", "audience"}}
SUBJECT_LINKS = {"identity provider": "idp", "client": "client", "user": "role"}
EXCHANGE_SUBJECTS = {"identity provider": "trust", "client": "client", "token exchange": "permission"}


@dataclass
class Link:
    key: str
    label: str
    findings: list[Finding] = field(default_factory=list)
    skipped: bool = False  # the check stopped before this link
    blocked: bool = False  # the chain's end, which fails when any link before it is broken

    @property
    def state(self) -> str:
        severities = {f.severity for f in self.findings}
        if ERROR in severities or self.blocked:
            return ERROR
        if WARNING in severities:
            return WARNING
        return SKIP if self.skipped else OK


@dataclass
class Chain:
    title: str
    links: list[Link]

    def link(self, key: str) -> Link:
        return next(link for link in self.links if link.key == key)


def _by_subject(subject: str, table: dict[str, str]) -> str | None:
    """The link a finding of an unlisted rule falls on, by the kind its subject names."""
    return next((key for kind, key in table.items() if subject.startswith(kind + " ")), None)


def _broker_chain(realm: str, alias: str, client: str, users: list[str], findings: list[Finding]) -> Chain:
    holders = ", ".join(users) if users else "no user declared"
    chain = Chain(
        f"realm {realm}: stored tokens of {alias}, read by client {client}",
        [
            Link("idp", f"identity provider {alias}"),
            Link("stored", "stored token (storeToken)"),
            Link("role", f"user role broker/read-token ({holders})"),
            Link("scope", f"client scope and role scope of {client}"),
            Link("mapper", "mapper to resource_access.broker.roles"),
            Link("client", f"client {client}"),
            Link("endpoint", f"GET /realms/{realm}/broker/{alias}/token"),
        ],
    )
    mine = {f"identity provider {alias}", f"client {client}"} | {f"user {u}" for u in users}
    for f in findings:
        if f.realm != realm or f.rule.startswith("exchange."):
            continue
        if f.rule == "broker.several-readable-idps":
            if alias in f.subject.split(", "):
                chain.links[-1].findings.append(f)
            continue
        if f.subject not in mine:
            continue
        key = BROKER_LINKS.get(f.rule) or _by_subject(f.subject, SUBJECT_LINKS)
        if key is not None:
            chain.link(key).findings.append(f)
    chain.links[-1].blocked = any(link.state == ERROR for link in chain.links[:-1])
    return chain


def _exchange_chain(realm: str, name: str, entry: dict[str, Any], findings: list[Finding]) -> Chain:
    source, alias, clients = entry["source"], entry["identityProvider"], list(entry.get("clients") or [])
    audiences = list(entry.get("audiences") or [])
    targets = ", ".join(audiences) if audiences else "the requesting client itself"
    if entry.get("impersonation"):
        targets += ", impersonation"
    chain = Chain(
        f"realm {realm}: token exchange {name}, from realm {source['realm']}",
        [
            Link("source", f"source realm {source['realm']} (client {source['client']})"),
            Link("trust", f"identity provider {alias} trusts {source['realm']}"),
            Link("permission", f"token-exchange permission on {alias}"),
            Link("policy", f"client policy naming {', '.join(clients)}"),
            Link("client", f"client {', '.join(clients)} (confidential)"),
            Link("audience", f"audience: {targets}"),
        ],
    )
    mine = {
        (realm, f"token exchange {name}"),
        (realm, f"identity provider {alias}"),
        (source["realm"], f"client {source['client']}"),
    } | {(realm, f"client {c}") for c in clients}
    mine |= {(realm, f"audience client {a}") for a in audiences}
    if entry.get("impersonation"):
        mine.add((realm, "impersonation (requested_subject)"))
    for f in findings:
        if not f.rule.startswith("exchange.") or (f.realm, f.subject) not in mine:
            continue
        key = EXCHANGE_LINKS.get(f.rule) or _by_subject(f.subject, EXCHANGE_SUBJECTS)
        if key is not None and f.severity != "info":
            chain.link(key).findings.append(f)
            for skipped in EXCHANGE_STOPS.get(f.rule, ()):
                chain.link(skipped).skipped = True
    return chain


def _by_position(chain: Chain, table: dict[str, str], stops: dict[str, set[str]], found: list[Finding]) -> Chain:
    """Findings of the entry (same rule family and position) on their links; the end blocked when broken."""
    for f in found:
        key = table.get(f.rule)
        if key is not None:
            chain.link(key).findings.append(f)
            for skipped in stops.get(f.rule, ()):
                chain.link(skipped).skipped = True
    end = chain.links[-1]
    end.blocked = not end.findings and any(link.state == ERROR for link in chain.links[:-1])
    return chain


def _stored_v2_chain(realm: str, name: str, entry: dict[str, Any], found: list[Finding]) -> Chain:
    alias, clients = entry["identityProvider"], ", ".join(entry.get("clients") or [])
    chain = Chain(
        f"realm {realm}: stored tokens {name} of {alias} (Identity Brokering API v2)",
        [
            Link("idp", f"identity provider {alias}"),
            Link("stored", "stored token (storeToken or storeTokenInSession)"),
            Link("client", f"confidential client {clients}"),
            Link("enabled", "client attribute external.token.enabled"),
            Link("allowed", f"{alias} in external.token.idp"),
            Link("endpoint", f"POST /realms/{realm}/broker/{alias}/token"),
        ],
    )
    return _by_position(chain, V2_LINKS, {}, found)


def _jwt_chain(realm: str, name: str, entry: dict[str, Any], found: list[Finding]) -> Chain:
    source, alias, clients = entry["source"], entry["identityProvider"], ", ".join(entry.get("clients") or [])
    chain = Chain(
        f"realm {realm}: JWT Authorization Grant {name}, from realm {source['realm']}",
        [
            Link("source", f"source realm {source['realm']} (client {source['client']})"),
            Link("trust", f"identity provider {alias} trusts {source['realm']}, grant on"),
            Link("client", f"client {clients} allowed the grant from {alias}"),
            Link("link", "user linked to the source user"),
            Link("audience", f"assertion audience: realm {realm}'s issuer only"),
            Link("endpoint", f"jwt-bearer grant at realm {realm}'s token endpoint"),
        ],
    )
    return _by_position(chain, JWT_LINKS, JWT_STOPS, found)


def chains_of(spec: Spec, report: Report) -> list[Chain]:
    """Every chain the report says check looked at, with the findings on each of its links."""
    missing = {f.realm for f in report.findings if f.rule == "realm-missing"}
    checked = set(report.checked)
    out: list[Chain] = []
    for realm, rs in spec.realms.items():
        if realm in missing:
            continue
        users = chain_users(rs)
        v1 = {(alias, client) for alias in token_idps(rs) for client in rs.get("clients") or {}}
        for name, entry in (rs.get("storedTokens") or {}).items():
            if f"stored tokens {name} (identity-brokering-api v2) in realm {realm}" in checked:
                found = _of_entry(spec, report, realm, "storedTokens", name)
                out.append(_stored_v2_chain(realm, name, entry, found))
            else:  # the v1 variant: the v1 rules checked the objects the entry stands for
                v1 |= {(entry["identityProvider"], client) for client in entry.get("clients") or []}
                users = sorted(set(users) | {str(u).lower() for u in entry.get("users") or []})
        for alias, client in sorted(v1):
            if f"client {client} reads stored tokens" in checked:
                out.append(_broker_chain(realm, alias, client, users, report.findings))
    for realm, rs in spec.realms.items():
        for name, entry in (rs.get("tokenExchange") or {}).items():
            if f"token exchange {name} into {realm}" in checked:
                out.append(_exchange_chain(realm, name, entry, report.findings))
            elif f"JWT Authorization Grant {name} into realm {realm}" in checked:
                out.append(_jwt_chain(realm, name, entry, _of_entry(spec, report, realm, "tokenExchange", name)))
    return out


def _of_entry(spec: Spec, report: Report, realm: str, section: str, name: str) -> list[Finding]:
    """The findings written against one entry of the spec (the 26.6+ rules give the entry's position)."""
    where = spec.where("realms", realm, section, name)
    return [f for f in report.findings if f.realm == realm and f.position == where]


def _lines(link: Link) -> list[str]:
    """What a link's box says: its name, then each finding's rule id and fix."""
    lines = [f"{MARK[link.state]} {link.label}"]
    if link.state == SKIP:
        lines.append("not checked: an earlier link is broken")
    if link.blocked:
        lines.append("refused while a link before it is broken")
    for f in link.findings:
        lines.append(f"{f.severity} {f.rule}")
        if f.fix:
            fix = f.fix.rstrip().splitlines()
            lines += [f"fix: {fix[0]}", *fix[1:]]
    return lines


SAFE = re.compile(r"[A-Za-z0-9 .,:/_=+'()@-]")


def mermaid_text(text: str) -> str:
    """Text for a quoted Mermaid label: every character that could end the label, start markup,
    close the Markdown code fence or a comment, written as an entity (`#35;`), which Mermaid
    decodes when it draws; leading spaces kept as no-break spaces (YAML indentation)."""
    stripped = text.lstrip(" ")
    indent = "#160;" * (len(text) - len(stripped))
    return indent + "".join(c if SAFE.fullmatch(c) else f"#{ord(c)};" for c in stripped)


def mermaid(chain: Chain) -> str:
    """One chain as a Mermaid flowchart, left to right, links coloured by their state."""
    lines = ["flowchart LR"]
    for i, link in enumerate(chain.links):
        label = "<br>".join(mermaid_text(line) for line in _lines(link))
        lines.append(f'  n{i}["{label}"]:::{link.state}')
    for i in range(1, len(chain.links)):
        lines.append(f"  n{i - 1} --> n{i}")
    for i, link in enumerate(chain.links[1:]):
        lines.append(f"  linkStyle {i} stroke:{COLOURS[link.state][1]},stroke-width:2px")
    for state, (fill, stroke) in COLOURS.items():
        dash = ",stroke-dasharray:4 3" if state == SKIP else ""
        lines.append(f"  classDef {state} fill:{fill},stroke:{stroke},color:#1f2328{dash}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot(chains: list[Chain]) -> str:
    """Every chain as one Graphviz digraph, a cluster per chain."""
    lines = [
        "digraph realmctl_check {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
    ]
    for c, chain in enumerate(chains):
        lines.append(f"  subgraph cluster_{c} {{")
        lines.append(f'    label="{_dot_text(chain.title)}";')
        for i, link in enumerate(chain.links):
            fill, stroke = COLOURS[link.state]
            label = "".join(_dot_text(line) + "\\l" for line in _lines(link))
            lines.append(f'    c{c}n{i} [label="{label}", fillcolor="{fill}", color="{stroke}"];')
        for i in range(1, len(chain.links)):
            colour = COLOURS[chain.links[i].state][1]
            lines.append(f'    c{c}n{i - 1} -> c{c}n{i} [color="{colour}", penwidth=2];')
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _fence(text: str) -> str:
    """A code fence longer than any backtick run inside `text` (CommonMark)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def markdown(spec: Spec, report: Report, probes: str = "", clean: Callable[[str], str] = str) -> str:
    """A pull-request comment: the verdict, a Mermaid picture per chain, the findings as a table.
    `clean` (secret redaction) is applied to every text before it is escaped, since an escaped
    secret could no longer be found and cut out afterwards."""
    counts = {s: sum(1 for f in report.findings if f.severity == s) for s in ("error", "warning", "info")}
    verdict = (
        "OK: every chain checked holds."
        if not report.findings
        else f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} note(s)."
    )
    lines = ["### realmctl check", "", f"**{verdict}**", ""]
    lines += [f"> **Note:** {md_text(clean(note))}" for note in report.notes]
    if report.notes:
        lines.append("")
    for chain in _cleaned(chains_of(spec, report), clean):
        lines += [f"#### {md_text(chain.title)}", "", "```mermaid", mermaid(chain).rstrip("\n"), "```", ""]
    if report.findings:
        lines += ["| | rule | realm | subject | what is wrong | fix |", "|---|---|---|---|---|---|"]
        for f in report.findings:
            fix = "<br>".join(md_code(line) for line in clean(f.fix).splitlines()) if f.fix else ""
            cells = [f.severity, md_code(f.rule), md_code(clean(f.realm)), md_text(clean(f.subject))]
            lines.append("| " + " | ".join([*cells, md_text(clean(f.message)), fix]) + " |")
        lines.append("")
    if report.checked:
        lines += ["Checked: " + md_text(clean("; ".join(report.checked))), ""]
    if probes:
        fence = _fence(probes)
        lines += ["#### probes", "", fence, clean(probes).rstrip("\n"), fence, ""]
    return "\n".join(lines)


def dot_report(spec: Spec, report: Report, clean: Callable[[str], str] = str) -> str:
    """`check --format dot`: the same chains for Graphviz (`dot -Tsvg`)."""
    return dot(_cleaned(chains_of(spec, report), clean))


def _cleaned(chains: list[Chain], clean: Callable[[str], str]) -> list[Chain]:
    """The chains with `clean` applied to every text drawn (titles, labels, fixes)."""
    for chain in chains:
        chain.title = clean(chain.title)
        for link in chain.links:
            link.label = clean(link.label)
            link.findings = [
                Finding(f.severity, f.rule, f.realm, f.subject, f.message, clean(f.fix)) for f in link.findings
            ]
    return chains
