"""`check --format markdown` and `--format dot` draw each chain checked, link by link, coloured by
the findings. Every diagram of the check corpus goes through Mermaid's own parser (the `mermaid`
package from the npm registry, run headless under jsdom: tools/mermaid/parse.mjs), which must
accept it, and the broken link must be the one marked."""

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import tests.check.test_corpus as corpus
from realmctl.check.findings import Finding, Report
from realmctl.render.chains import BROKER_LINKS, EXCHANGE_LINKS, chains_of, dot, markdown
from realmctl.spec.model import Spec
from tests.check.test_corpus import CASES, World, exchange
from tests.helpers import ROOT, Admin, env_for, realmctl, unique

MERMAID = ROOT / "tools" / "mermaid"
BLOCK = re.compile(r"```mermaid\n(.*?)```", re.S)
NODE = re.compile(r'^\s*n(\d+)\["(.*)"\]:::(\w+)$', re.M)


_PARSER: list["subprocess.Popen[str]"] = []
"""The one `parse.mjs --lines` process of this session: loading jsdom and mermaid took 2-10 s a call."""


def _start_parser() -> None:
    """Starts the parser process if none runs; it loads while the tests build their diagrams."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed, so Mermaid's parser (an npm package) cannot run")
    if not (MERMAID / "node_modules" / "mermaid").is_dir():
        subprocess.run(["bash", str(ROOT / ".ci" / "install-mermaid")], check=True, timeout=600)
    if not _PARSER or _PARSER[0].poll() is not None:
        _PARSER[:] = [
            subprocess.Popen(
                ["node", str(MERMAID / "parse.mjs"), "--lines"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        ]


def mermaid_parse(diagrams: list[str]) -> list[dict[str, Any]]:
    """Mermaid's verdict on each diagram: {"ok": true, "type": ...} or {"ok": false, "error": ...}."""
    _start_parser()
    parser = _PARSER[0]
    assert parser.stdin is not None and parser.stdout is not None
    parser.stdin.write(json.dumps(diagrams) + "\n")
    parser.stdin.flush()
    line = parser.stdout.readline()
    assert line, f"Mermaid's parser ended (exit {parser.wait(timeout=10)})"
    results: list[dict[str, Any]] = json.loads(line)
    assert len(results) == len(diagrams), results
    return results


@pytest.fixture(scope="module", autouse=True)
def _parser() -> Iterator[None]:
    """One parser process for the module, started before the first test: loading jsdom and mermaid
    (2-10 s) overlaps with the building of the corpus's diagrams."""
    if shutil.which("node") is not None:
        _start_parser()
    yield
    for parser in _PARSER:
        if parser.stdin is not None:
            parser.stdin.close()
        parser.wait(timeout=30)
    _PARSER.clear()


def nodes(diagram: str) -> list[tuple[str, str]]:
    """(label with entities decoded, class) of each node, in chain order."""
    decoded = [
        (re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), label), cls) for _, label, cls in NODE.findall(diagram)
    ]
    return decoded


def _broken_world(case: Any, request: pytest.FixtureRequest, tmp: Path) -> World:
    """The corpus case's broken server, made as tests/check/test_corpus.py makes it (through its
    own `setup` where it has one: it also runs on real servers there)."""
    if hasattr(corpus, "setup"):
        w: World = corpus.setup(case, request, tmp)
    else:
        w = World(request.getfixturevalue("legacy_keycloak" if case.exchange else "keycloak"), tmp)
        w.spec = exchange(w.realm, w.source) if case.exchange else corpus.stored_tokens(w.realm)
    corpus.break_world(case, w)
    return w


@pytest.mark.sandbox_only  # the corpus's brokered logins go through the sandbox's /sandbox/ endpoint
def test_every_corpus_case_draws_its_chain_with_the_broken_link_marked(
    keycloak: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Every finding `check` reports on a drawn chain is on a link of its colour, with its fix;
    every diagram passes Mermaid's parser."""
    diagrams: list[str] = []
    marked_rules: set[str] = set()
    for case in CASES:
        tmp = tmp_path / case.name
        tmp.mkdir()
        w = _broken_world(case, request, tmp)
        found = json.loads(w.run("check", "--format", "json").out)["findings"]
        result = w.run("check", "--format", "markdown")
        assert result.code == (3 if any(f["severity"] == "error" for f in found) else 0), result.all
        drawn = BLOCK.findall(result.out)
        assert len(drawn) == 1, f"{case.name}: one chain checked, one diagram\n{result.out}"
        labels = nodes(drawn[0])
        as_dot = w.run("check", "--format", "dot")
        assert as_dot.out.startswith("digraph realmctl_check {"), as_dot.all
        for f in found:
            if f["severity"] == "info" or f["rule"] not in BROKER_LINKS | EXCHANGE_LINKS:
                continue
            on = [(label, cls) for label, cls in labels if f"{f['severity']} {f['rule']}" in label]
            assert on, f"{case.name}: {f['rule']} is on no link\n{drawn[0]}"
            assert on[0][1] == f["severity"], f"{case.name}: {on[0]}"
            assert f"fix: {f['fix'].splitlines()[0]}" in on[0][0], on[0][0]
            marked_rules.add(f["rule"])
            assert f"`{f['rule']}`" in result.out, "the findings table is there too"
            assert f"{f['severity']} {f['rule']}" in as_dot.out, as_dot.all
        diagrams += drawn
    verdicts = mermaid_parse(diagrams)
    rejected = [(d, v) for d, v in zip(diagrams, verdicts, strict=True) if not v["ok"]]
    assert rejected == [], rejected
    assert len(verdicts) == len(CASES)
    assert len(marked_rules) >= 12, sorted(marked_rules)


def _hostile_spec_and_report() -> tuple[Spec, Report]:
    """Names from the spec and the server that could break out of a label, the code fence or the
    comment: quotes, brackets, backticks, Mermaid's comment and arrow syntax, HTML, newlines."""
    realm = 'r"]; click n0 call x() %% ```'
    client = "app`<script>`-->|x|"
    alias = "idp\n#quot;[]{}"
    spec = Spec(
        realms={
            realm: {
                "identityProviders": {alias: {"storeToken": True}},
                "clients": {client: {}},
                "users": {"eve<b>": {}},
            }
        }
    )
    fix = f"clients:\n  {client}:\n    defaultClientScopes: [broker_read_token]"
    report = Report(
        findings=[
            Finding("error", "broker.no-mapper", realm, f"client {client}", "no mapper", fix),
            Finding("warning", "broker.user-not-linked", realm, "user eve<b>", "not linked", "log in ```once```"),
        ],
        checked=[f"client {client} reads stored tokens"],
    )
    return spec, report


def test_hostile_names_give_diagrams_mermaid_accepts_with_the_names_intact() -> None:
    spec, report = _hostile_spec_and_report()
    text = markdown(spec, report)
    diagrams = BLOCK.findall(text)
    assert len(diagrams) == 1, text
    assert mermaid_parse(diagrams) == [{"ok": True, "type": "flowchart-v2"}]
    drawn = nodes(diagrams[0])
    assert len(drawn) == 7, diagrams[0]
    by_key = dict(zip(["idp", "stored", "role", "scope", "mapper", "client", "endpoint"], drawn, strict=True))
    assert by_key["mapper"][1] == "error" and "broker.no-mapper" in by_key["mapper"][0]
    assert "app`<script>`-->|x|:" in by_key["mapper"][0], "the fix is drawn with the name as written"
    assert by_key["stored"][1] == "warning" and "log in ```once```" in by_key["stored"][0]
    assert by_key["endpoint"][1] == "error", "the endpoint fails while a link before it is broken"
    assert all(cls == "ok" for key, (_, cls) in by_key.items() if key in ("idp", "role", "scope", "client"))
    assert "identity provider idp\n#quot;[]{}" in by_key["idp"][0]
    # Nothing but the diagram's own lines inside the fence: no name ended a label or the fence.
    for line in diagrams[0].splitlines():
        assert re.match(r"  (n\d+\[\".*\"\]:::\w+|n\d+ --> n\d+|linkStyle \d+ .*|classDef \w+ .*)$|flowchart LR$", line)
    assert "Checked: client app\\`\\<script\\>" in text, "names outside the diagram are escaped too"


def test_dot_output_holds_the_same_chain(tmp_path: Path) -> None:
    spec, report = _hostile_spec_and_report()
    text = dot(chains_of(spec, report))
    assert text.startswith("digraph realmctl_check {") and text.count(" -> ") == 6
    assert 'fillcolor="#ffebe9"' in text and "broker.no-mapper" in text
    if shutil.which("dot") is None:
        pytest.skip("Graphviz (dot) is not installed: the dot text was checked, not drawn")
    svg = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, timeout=60)
    assert svg.returncode == 0 and "<svg" in svg.stdout, svg.stderr


def test_mermaids_parser_rejects_a_broken_diagram() -> None:
    """The control: the parser used below does reject what Mermaid cannot draw."""
    good = 'flowchart LR\n  n0["a"]:::ok --> n1["b"]\n  classDef ok fill:#dafbe1\n'
    results = mermaid_parse([good, 'flowchart LR\n  n0["a"]]:::ok -->\n', 'flowchart LR\n  n0["a]\n  n0 --> n1\n'])
    assert results[0] == {"ok": True, "type": "flowchart-v2"}
    assert [r["ok"] for r in results[1:]] == [False, False], results


def test_an_exchange_without_the_features_marks_the_permission_and_greys_what_was_not_checked(
    keycloak: Any, tmp_path: Path
) -> None:
    """On a server without legacy token exchange, check stops at the features: the links it never
    looked at are drawn as not checked, not as holding."""
    w = World(keycloak, tmp_path)
    w.spec = exchange(w.realm, w.source)
    w.r["tokenExchange"]["from-b"]["method"] = "legacy-exchange"  # not the JWT grant a 26.6+ server offers
    result = w.run("check", "--format", "markdown")
    if "exchange.features-missing" not in result.out:
        pytest.skip("this server has the legacy exchange features")
    (diagram,) = BLOCK.findall(result.out)
    drawn = nodes(diagram)
    assert drawn[2][1] == "error" and "exchange.features-missing" in drawn[2][0], diagram
    assert [cls for _, cls in drawn[3:]] == ["skip", "skip", "skip"], diagram
    assert all(cls in ("error", "skip") for _, cls in drawn), "no link is drawn as holding: none was checked"
    assert mermaid_parse([diagram])[0]["ok"]


def test_two_exchanges_into_one_realm_each_get_only_their_own_findings() -> None:
    entry = {"source": {"realm": "b", "client": "b-app"}, "identityProvider": "b", "clients": ["a-app"]}
    spec = Spec(
        realms={
            "b": {"clients": {"b-app": {}}},
            "a": {
                "tokenExchange": {
                    "to-svc": {**entry, "audiences": ["svc"]},
                    "plain": {**entry, "identityProvider": "b2"},
                }
            },
        }
    )
    report = Report(
        findings=[
            Finding("error", "exchange.audience-no-permission", "a", "audience client svc", "no permission", "apply"),
            Finding("error", "exchange.permission-off", "a", "identity provider b2", "off", "run `realmctl apply`"),
        ],
        checked=["token exchange to-svc into a", "token exchange plain into a"],
    )
    text = markdown(spec, report)
    first, second = BLOCK.findall(text)
    assert [cls for _, cls in nodes(first)] == ["ok", "ok", "ok", "ok", "ok", "error"], first
    assert [cls for _, cls in nodes(second)] == ["ok", "ok", "error", "skip", "ok", "skip"], second
    assert "fix: run `realmctl apply`" in nodes(second)[2][0]
    assert [r["ok"] for r in mermaid_parse([first, second])] == [True, True]


def test_the_26_6_variants_are_drawn_with_the_broken_link_marked(tmp_path: Path) -> None:
    """Stored tokens through the Identity Brokering API v2 and the JWT Authorization Grant, applied to
    the sandbox's `modern` profile, one client attribute removed by hand in each: the diagram marks
    the link the rule names, and Mermaid's parser accepts both."""
    from realmctl.sandbox import Sandbox
    from tests.e2e.test_modern_chains import jwt_spec, set_client_attribute

    realm, a, b = unique("st2"), unique("jwa"), unique("jwb")
    JWT_ENABLED = "oauth2.jwt.authorization.grant.enabled"
    stored = {
        "version": 1,
        "realms": {
            realm: {
                "identityProviders": {"azure": {"providerId": "oidc", "config": {"clientId": "x"}}},
                "clients": {"my-app": {"publicClient": False, "secret": "my-app-secret"}},
                "storedTokens": {"my-app-reads-azure": {"identityProvider": "azure", "clients": ["my-app"]}},
            }
        },
    }
    with Sandbox(profile="modern") as sb:
        env = env_for(sb.url, sb.admin_user, sb.admin_password)
        admin = Admin(sb.url, sb.admin_user, sb.admin_password)
        diagrams = []
        for name, spec, break_it, rule, link in (
            ("stored", stored, (realm, "my-app", "external.token.enabled"), "v2.client-not-enabled", 3),
            ("jwt", jwt_spec(a, b), (a, "a-app", JWT_ENABLED), "jwt.client-not-enabled", 2),
        ):
            path = tmp_path / f"{name}.yaml"
            path.write_text(yaml.safe_dump(spec))
            assert realmctl("apply", "--yes", "-q", str(path), env=env).code == 0
            set_client_attribute(admin, *break_it, "false")
            result = realmctl("check", "--format", "markdown", str(path), env=env)
            assert result.code == 3, result.all
            (diagram,) = BLOCK.findall(result.out)
            drawn = nodes(diagram)
            assert drawn[link][1] == "error" and f"error {rule}" in drawn[link][0], diagram
            assert drawn[-1][1] == "error", "the endpoint is refused while a link before it is broken"
            assert [cls for i, (_, cls) in enumerate(drawn[:-1]) if i != link] == ["ok"] * (len(drawn) - 2), diagram
            diagrams.append(diagram)
    assert [v["ok"] for v in mermaid_parse(diagrams)] == [True, True]
