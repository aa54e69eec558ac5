"""The GitHub Action (action.yml) runs as a runner would run it: its own `run` steps, in order, with
the inputs and `${{ ... }}` expressions filled in, in a fake GitHub environment (event file,
GITHUB_OUTPUT, a comments API recorded on loopback) against a real server (the sandbox, or real
Keycloak). One comment is created on the first push and updated in place on the next ones."""

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.check.test_corpus import stored_tokens
from tests.helpers import ROOT, Admin, unique

CANARY = "canary-7d1e4c55-secret"
TOKEN = "ghs_fake-token-for-the-test"
HUMAN = {"login": "reviewer", "type": "User"}
BOT = {"login": "github-actions[bot]", "type": "Bot"}


@dataclass
class FakeGitHub:
    """The issue-comments API of one repository, recording every request."""

    repo: str = "acme/realms"
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 1000

    def handle(self, method: str, path: str, auth: str, body: Any) -> tuple[int, Any]:
        self.log.append((method, path))
        if auth != f"Bearer {TOKEN}":
            return 401, {"message": "Bad credentials"}
        listing = re.fullmatch(rf"/repos/{self.repo}/issues/(\d+)/comments(?:\?per_page=(\d+)&page=(\d+))?", path)
        if listing and method == "GET":
            per_page, page = int(listing.group(2) or 30), int(listing.group(3) or 1)
            mine = [c for c in self.comments.values() if c["issue"] == int(listing.group(1))]
            return 200, mine[(page - 1) * per_page : page * per_page]
        if listing and method == "POST":
            self.next_id += 1
            self.comments[self.next_id] = {
                "id": self.next_id,
                "issue": int(listing.group(1)),
                "body": body["body"],
                "user": BOT,
            }
            return 201, self.comments[self.next_id]
        one = re.fullmatch(rf"/repos/{self.repo}/issues/comments/(\d+)", path)
        if one and method == "PATCH" and int(one.group(1)) in self.comments:
            self.comments[int(one.group(1))]["body"] = body["body"]
            return 200, self.comments[int(one.group(1))]
        return 404, {"message": "Not Found"}

    def writes(self) -> list[str]:
        return [method for method, _ in self.log if method != "GET"]


@pytest.fixture
def github() -> Iterator[tuple[FakeGitHub, str]]:
    fake = FakeGitHub()
    for i in range(120):  # a busy pull request: the marker must be looked for past the first page
        fake.comments[i + 1] = {"id": i + 1, "issue": 7, "body": f"review remark {i}", "user": HUMAN}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, answer = fake.handle(self.command, self.path, self.headers.get("Authorization", ""), body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _answer

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class Runner:
    """What a GitHub runner does with a composite action: each `run` step through bash, inputs
    and expressions substituted, step outputs read back from GITHUB_OUTPUT."""

    def __init__(self, tmp: Path, api_url: str, secrets: dict[str, str]) -> None:
        self.tmp = tmp
        self.action = yaml.safe_load((ROOT / "action.yml").read_text())
        self.secrets = secrets
        self.api_url = api_url
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        for name, target in (("realmctl", f'"{sys.executable}" -m realmctl'), ("python", f'"{sys.executable}"')):
            (bin_dir / name).write_text(f'#!/bin/sh\nexec {target} "$@"\n')
            (bin_dir / name).chmod(0o755)
        self.path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
        self.pushes = 0

    def expand(self, text: str, inputs: dict[str, str], outputs: dict[str, str]) -> str:
        def value(match: re.Match[str]) -> str:
            expr = match.group(1).strip()
            if expr.startswith("inputs."):
                name = expr.removeprefix("inputs.")
                return inputs[name] if name in inputs else self.default(name, inputs, outputs)
            if expr == "github.action_path":
                return str(ROOT)
            if expr == "github.token":
                return TOKEN
            if expr.startswith("steps.run.outputs."):
                return outputs.get(expr.removeprefix("steps.run.outputs."), "")
            raise AssertionError(f"an expression this test does not know: {expr}")

        return re.sub(r"\$\{\{(.*?)\}\}", value, str(text))

    def default(self, name: str, inputs: dict[str, str], outputs: dict[str, str]) -> str:
        spec = self.action["inputs"][name]
        assert "default" in spec or not spec.get("required"), f"required input {name} not given"
        return self.expand(spec.get("default", ""), inputs, outputs)

    def push(self, event: str, **inputs: str) -> tuple[int, dict[str, str], str]:
        """One workflow run of the action: (exit code of the job, step outputs, the log)."""
        self.pushes += 1
        run_dir = self.tmp / f"run{self.pushes}"
        run_dir.mkdir()
        event_file = run_dir / "event.json"
        event_file.write_text(json.dumps({"number": 7, "pull_request": {"number": 7}} if event != "push" else {}))
        output_file = run_dir / "github-output"
        output_file.touch()
        base = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("KEYCLOAK_", "GITHUB_"))},
            "PATH": self.path,
            "GITHUB_EVENT_NAME": event,
            "GITHUB_EVENT_PATH": str(event_file),
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_STEP_SUMMARY": str(run_dir / "summary.md"),
            "GITHUB_REPOSITORY": "acme/realms",
            "GITHUB_API_URL": self.api_url,
            "GITHUB_SHA": f"{self.pushes:040x}",
            "RUNNER_TEMP": str(run_dir),
        }
        inputs = {"secrets": json.dumps(self.secrets), **inputs}
        outputs: dict[str, str] = {}
        log = ""
        for step in self.action["runs"]["steps"]:
            if "run" not in step or "pip install" in step["run"]:
                continue  # setup-python and the install: the test's interpreter runs realmctl
            env = {**base, **{k: self.expand(v, inputs, outputs) for k, v in (step.get("env") or {}).items()}}
            done = subprocess.run(
                ["bash", "-e", "-c", self.expand(step["run"], inputs, outputs)],
                env=env,
                cwd=self.tmp,
                capture_output=True,
                text=True,
                timeout=600,
            )
            log += done.stdout + done.stderr
            for line in output_file.read_text().splitlines():
                name, _, value = line.partition("=")
                outputs[name] = value
            if done.returncode != 0:
                return done.returncode, outputs, log
        return 0, outputs, log


@pytest.fixture
def runner(keycloak: Any, tmp_path: Path, github: tuple[FakeGitHub, str]) -> Runner:
    """A service account on the test server, as the repository's secrets would name it."""
    admin = Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password)
    client_id, secret = unique("gha"), CANARY + "-ci"
    admin.post(
        "admin/realms/master/clients",
        {"clientId": client_id, "publicClient": False, "serviceAccountsEnabled": True, "secret": secret},
    )
    uuid = admin.client("master", client_id)["id"]  # type: ignore[index]
    account = admin.get(f"admin/realms/master/clients/{uuid}/service-account-user")
    role = admin.get("admin/realms/master/roles/admin")
    admin.post(f"admin/realms/master/users/{account['id']}/role-mappings/realm", [role])
    secrets = {
        "SSO_URL": keycloak.url,
        "SSO_CLIENT": client_id,
        "SSO_SECRET": secret,
        "MY_APP_SECRET": CANARY + "-app",
        "UNRELATED": CANARY + "-unrelated",
    }
    return Runner(tmp_path, github[1], secrets)


def spec_file(tmp: Path, realm: str) -> str:
    spec = stored_tokens(realm)
    spec["realms"][realm]["clients"]["my-app"]["secret"] = "${env:MY_APP_SECRET}"
    (tmp / "realms").mkdir(exist_ok=True)
    (tmp / "realms" / "apps.yaml").write_text(yaml.safe_dump(spec))
    return "realms/"


NAMES = {"url-secret": "SSO_URL", "client-id-secret": "SSO_CLIENT", "client-secret-secret": "SSO_SECRET"}


def test_one_comment_created_then_updated_in_place_and_the_job_fails_on_1_3_4_only(
    runner: Runner, github: tuple[FakeGitHub, str], tmp_path: Path
) -> None:
    fake, _ = github
    realm = unique("gha")
    specs = spec_file(tmp_path, realm)
    inputs = {"specs": specs, "spec-env-secrets": "MY_APP_SECRET", **NAMES}

    # Push 1: the realm is not on the server yet. plan exits 2 (passing), check exits 3: the job fails.
    code, outputs, log = runner.push("pull_request", **inputs)
    assert (code, outputs["plan-exitcode"], outputs["check-exitcode"], outputs["exitcode"]) == (3, "2", "3", "3"), log
    assert fake.writes() == ["POST"], fake.log
    (mine,) = [c for c in fake.comments.values() if c["user"] == BOT]
    assert "<!-- realmctl-action:realmctl -->" in mine["body"]
    assert "Plan: " in mine["body"] and "realm-missing" in mine["body"]
    first_id = mine["id"]

    # The same pull request with fail-on-check off: changes pending pass, the comment is updated.
    code, outputs, log = runner.push("pull_request", **inputs, **{"fail-on-check": "false"})
    assert (code, outputs["exitcode"]) == (0, "2"), log

    # The main branch applies (a push: no comment), then checks.
    code, outputs, log = runner.push("push", **inputs, mode="apply")
    assert (code, outputs["apply-exitcode"], outputs["check-exitcode"]) == (0, "0", "0"), log
    assert fake.writes() == ["POST", "PATCH"], "a push to main posts nothing"

    # Push 2 to the pull request: nothing to change, the chain holds: passes, same comment updated.
    code, outputs, log = runner.push("pull_request", **inputs)
    assert (code, outputs["plan-exitcode"], outputs["check-exitcode"]) == (0, "0", "0"), log
    assert fake.writes() == ["POST", "PATCH", "PATCH"], fake.log
    (mine,) = [c for c in fake.comments.values() if c["user"] == BOT]
    assert mine["id"] == first_id
    assert "No changes" in mine["body"] and "```mermaid" in mine["body"] and "realm-missing" not in mine["body"]

    # A refused login exits 4: the job fails and the comment says so.
    code, outputs, log = runner.push("pull_request", **{**inputs, "client-secret-secret": "MY_APP_SECRET"})
    assert (code, outputs["exitcode"]) == (4, "4"), log
    (mine,) = [c for c in fake.comments.values() if c["user"] == BOT]
    assert mine["id"] == first_id and "exit 4" in mine["body"]
    assert len(fake.comments) == 121, "one comment of ours beside the 120 reviewers' ones"
    assert all(c["body"] == f"review remark {c['id'] - 1}" for c in fake.comments.values() if c["user"] == HUMAN)

    everything = log + json.dumps(fake.comments) + "".join(p.read_text() for p in tmp_path.glob("run*/*.md"))
    assert CANARY not in everything, "a secret reached the log, the comment or the summary"


def test_an_invalid_spec_fails_with_1_and_says_why_in_the_comment(
    runner: Runner, github: tuple[FakeGitHub, str], tmp_path: Path
) -> None:
    fake, _ = github
    (tmp_path / "realms").mkdir()
    (tmp_path / "realms" / "bad.yaml").write_text("version: 1\nrealms:\n  r:\n    clients: {x: {publicClinet: true}}\n")
    code, outputs, log = runner.push("pull_request", specs="realms/", **NAMES)
    assert (code, outputs["exitcode"]) == (1, "1"), log
    (mine,) = [c for c in fake.comments.values() if c["user"] == BOT]
    assert "validate" in mine["body"] and "publicClinet" in mine["body"]
    assert "plan-exitcode" not in outputs, "nothing is planned from an invalid spec"


def test_verdict_step_alone() -> None:
    """The contract in one table: 0 and 2 pass, anything else fails with that code."""
    script = ROOT / "action" / "realmctl_action.py"
    for code, expected in ((0, 0), (2, 0), (1, 1), (3, 3), (4, 4), (130, 130)):
        env = {**os.environ, "REALMCTL_ACTION_EXITCODE": str(code)}
        done = subprocess.run([sys.executable, str(script), "verdict"], env=env, capture_output=True, text=True)
        assert done.returncode == expected, (code, done.stdout)
