"""The steps of realmctl's GitHub Action (action.yml), Python standard library only, so that they
run on any runner before anything else is installed.

    realmctl_action.py run       validate, then plan and check (or apply and check); write the
                                 comment's body and the exit codes to $GITHUB_OUTPUT
    realmctl_action.py comment   on a pull request, create the one comment or update it in place
    realmctl_action.py verdict   fail the job on exits 1, 3 and 4; pass on 0 and 2

Each step reads its inputs from REALMCTL_ACTION_* variables (action.yml maps the inputs to them)
and the GitHub variables a runner sets (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_OUTPUT,
GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_SHA, GITHUB_TOKEN). No secret is printed: realmctl
never prints one, and this script only passes them on in the environment.
"""

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

PASSING = (0, 2)  # 0 ok / no changes, 2 changes pending
MAX_BODY = 65000  # GitHub refuses comments over 65,536 characters
TITLES = {0: "ok", 1: "error", 2: "changes pending", 3: "check found errors", 4: "server unreachable or refused"}


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def marker() -> str:
    """The hidden line by which a later push finds the comment an earlier one made."""
    return f"<!-- realmctl-action:{env('REALMCTL_ACTION_COMMENT_ID', 'realmctl')} -->"


def write_output(**values: str) -> None:
    """Step outputs, in the file GitHub reads them from (name=value lines)."""
    path = env("GITHUB_OUTPUT")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        for name, value in values.items():
            out.write(f"{name}={value}\n")


def server_env() -> dict[str, str]:
    """The environment realmctl runs in: the server and credentials from the named secrets, the
    specs' own ${env:NAME} secrets under their names, and nothing else of the secret store."""
    secrets: dict[str, Any] = json.loads(env("REALMCTL_ACTION_SECRETS") or "{}")
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYCLOAK_", "REALMCTL_ACTION_SECRETS"))}
    names = {
        "KEYCLOAK_URL": env("REALMCTL_ACTION_URL_SECRET", "KEYCLOAK_URL"),
        "KEYCLOAK_CLIENT_ID": env("REALMCTL_ACTION_CLIENT_ID_SECRET", "KEYCLOAK_CLIENT_ID"),
        "KEYCLOAK_CLIENT_SECRET": env("REALMCTL_ACTION_CLIENT_SECRET_SECRET", "KEYCLOAK_CLIENT_SECRET"),
    }
    for variable, secret in names.items():
        if secret in secrets:
            run_env[variable] = str(secrets[secret])
    for name in env("REALMCTL_ACTION_SPEC_ENV_SECRETS").split():
        if name in secrets:
            run_env[name] = str(secrets[name])
    return run_env


def realmctl(args: list[str], run_env: dict[str, str]) -> tuple[int, str, str]:
    print(f"$ realmctl {shlex.join(args)}", flush=True)
    done = subprocess.run(["realmctl", *args], env=run_env, capture_output=True, text=True)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    print(f"(exit {done.returncode})", flush=True)
    return done.returncode, done.stdout, done.stderr


def _code_block(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text.rstrip()}\n{fence}"


def section(title: str, code: int, out: str, err: str) -> list[str]:
    """One command's part of the comment: its markdown output, and its errors as a code block."""
    lines = [f"<details open><summary><b>{title}</b>: exit {code} ({TITLES.get(code, 'failed')})</summary>", ""]
    if out.strip():
        lines += [out.rstrip(), ""]
    if err.strip() and code not in PASSING:
        lines += [_code_block(err), ""]
    lines += ["</details>", ""]
    return lines


def verdict_of(codes: list[int]) -> int:
    """The first failing code, else 2 if changes are pending, else 0."""
    failing = [c for c in codes if c not in PASSING]
    if failing:
        return failing[0]
    return 2 if 2 in codes else 0


def run() -> int:
    specs = env("REALMCTL_ACTION_SPECS", "realms/").split()
    mode = env("REALMCTL_ACTION_MODE", "plan")
    if mode not in ("plan", "apply"):
        print(f"::error::mode must be plan or apply, not {mode!r}")
        write_output(exitcode="1")
        return 0
    run_env = server_env()
    sha = env("GITHUB_SHA")[:7]
    body = [marker(), f"## realmctl {mode}" + (f" for {sha}" if sha else ""), ""]
    codes: list[int] = []
    outputs: dict[str, str] = {}

    code, out, err = realmctl(["validate", *specs], run_env)
    if code != 0:
        codes.append(code)
        body += section("validate", code, "", out + err)
    else:
        if mode == "plan":
            code, out, err = realmctl(["plan", "--detailed-exitcode", "--format", "markdown", *specs], run_env)
            outputs["plan-exitcode"] = str(code)
            body += section("plan", code, out, err)
        else:
            code, out, err = realmctl(["apply", "--yes", *specs], run_env)
            outputs["apply-exitcode"] = str(code)
            body += section("apply", code, f"```\n{out.rstrip()}\n```" if out.strip() else "", err)
        codes.append(code)
        check_code, out, err = realmctl(["check", "--format", "markdown", *specs], run_env)
        outputs["check-exitcode"] = str(check_code)
        body += section("check", check_code, out, err)
        if check_code != 3 or env("REALMCTL_ACTION_FAIL_ON_CHECK", "true") == "true":
            codes.append(check_code)

    verdict = verdict_of(codes)
    body.insert(2, f"**Verdict: exit {verdict} ({TITLES.get(verdict, 'failed')})**\n")
    text = "\n".join(body)
    if len(text) > MAX_BODY:
        text = text[:MAX_BODY] + "\n\n_(cut: the comment reached GitHub's size limit; the job log has it all)_\n"
    folder = Path(env("RUNNER_TEMP") or tempfile.mkdtemp())
    body_file = folder / f"realmctl-{env('REALMCTL_ACTION_COMMENT_ID', 'realmctl')}.md"
    body_file.write_text(text, encoding="utf-8")
    summary = env("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as out_file:
            out_file.write(text.replace(marker(), "") + "\n")
    write_output(exitcode=str(verdict), **{"body-file": str(body_file)}, **outputs)
    return 0


class GitHub:
    """The few REST calls the comment needs, with the runner's token."""

    def __init__(self) -> None:
        self.api = env("GITHUB_API_URL", "https://api.github.com").rstrip("/")
        self.repo = env("GITHUB_REPOSITORY")
        self.token = env("GITHUB_TOKEN")

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.api}{path}", data=data, method=method)
        request.add_header("Accept", "application/vnd.github+json")
        request.add_header("X-GitHub-Api-Version", "2022-11-28")
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read() or b"null")

    def find_comment(self, number: int) -> dict[str, Any] | None:
        """The comment holding our marker, looked for on every page of the pull request's comments."""
        page = 1
        while True:
            comments = self.call("GET", f"/repos/{self.repo}/issues/{number}/comments?per_page=100&page={page}")
            for comment in comments:
                if marker() in (comment.get("body") or ""):
                    return dict(comment)
            if len(comments) < 100:
                return None
            page += 1


def pull_request_number() -> int | None:
    if env("GITHUB_EVENT_NAME") not in ("pull_request", "pull_request_target"):
        return None
    event = json.loads(Path(env("GITHUB_EVENT_PATH")).read_text(encoding="utf-8"))
    number = (event.get("pull_request") or {}).get("number") or event.get("number")
    return int(number) if number else None


def comment() -> int:
    """Create the comment on the first run, update it in place (PATCH) on every later one."""
    number = pull_request_number()
    if number is None:
        print("not a pull request: no comment")
        return 0
    body_file = env("REALMCTL_ACTION_BODY")
    if not body_file or not Path(body_file).exists():
        print("::warning::realmctl produced no comment body")
        return 0
    body = Path(body_file).read_text(encoding="utf-8")
    github = GitHub()
    try:
        mine = github.find_comment(number)
        if mine:
            github.call("PATCH", f"/repos/{github.repo}/issues/comments/{mine['id']}", {"body": body})
            print(f"updated comment {mine['id']} on pull request #{number}")
        else:
            made = github.call("POST", f"/repos/{github.repo}/issues/{number}/comments", {"body": body})
            print(f"created comment {made.get('id')} on pull request #{number}")
    except (urllib.error.URLError, OSError, ValueError) as err:
        # A fork's read-only token cannot comment: say so, and let the verdict decide the job.
        print(f"::warning::could not post the realmctl comment: {err}")
    return 0


def verdict() -> int:
    raw = env("REALMCTL_ACTION_EXITCODE")
    code = int(raw) if raw.strip().lstrip("-").isdigit() else 1
    if code in PASSING:
        print(f"realmctl: exit {code} ({TITLES[code]}): passing")
        return 0
    print(f"::error::realmctl: exit {code} ({TITLES.get(code, 'failed')})")
    return code if code > 0 else 1


def main(argv: list[str]) -> int:
    steps = {"run": run, "comment": comment, "verdict": verdict}
    if len(argv) != 2 or argv[1] not in steps:
        print(f"usage: {Path(argv[0]).name} run|comment|verdict", file=sys.stderr)
        return 2
    return steps[argv[1]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
