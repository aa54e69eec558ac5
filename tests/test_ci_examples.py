"""The CI examples are real: every realmctl command line in them runs, against a server, as the
pipeline would run it (its shell line, its variables, the secret store replaced by test values),
and exits as the pipeline expects (validate 0; plan 2 then 0 with --detailed-exitcode; apply 0).
"""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import Admin, unique

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / "examples" / "ci"
CANARY = "canary-0b6f2a91-secret"
SECRET = re.compile(r"^\$\{\{\s*secrets\.(\w+)\s*\}\}$")


def _github_scripts(doc: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    env = dict(doc.get("env") or {})
    scripts = []
    for job in doc["jobs"].values():
        env.update(job.get("env") or {})
        scripts += [step["run"] for step in job.get("steps") or [] if "run" in step]
    return scripts, env


def _gitlab_scripts(doc: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    scripts = []
    for name, job in doc.items():
        if isinstance(job, dict) and "script" in job and not name.startswith("."):
            scripts += [line for line in job["script"] if isinstance(line, str)]
    return scripts, dict(doc.get("variables") or {})


def realmctl_lines(scripts: list[str]) -> list[str]:
    """Every shell line that runs realmctl, cut before `||` (the exit-code capture)."""
    out = []
    for script in scripts:
        for line in script.splitlines():
            line = line.strip()
            if line.startswith("realmctl "):
                out.append(line.split("||", 1)[0].strip())
    return out


def load(name: str) -> tuple[list[str], dict[str, str]]:
    doc = yaml.safe_load((CI / name).read_text())
    return _github_scripts(doc) if name == "github-actions.yml" else _gitlab_scripts(doc)


def test_the_examples_are_valid_yaml_with_the_expected_shape() -> None:
    github = yaml.safe_load((CI / "github-actions.yml").read_text())
    triggers = github.get("on", github.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)
    assert set(github["jobs"]) == {"validate", "plan", "apply"}
    assert "refs/heads/main" in github["jobs"]["apply"]["if"]
    for name in ("KEYCLOAK_URL", "KEYCLOAK_CLIENT_ID", "KEYCLOAK_CLIENT_SECRET"):
        assert SECRET.match(github["env"][name]), f"{name} must come from the secret store"
    gitlab = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    assert gitlab["stages"] == ["validate", "plan", "apply"]
    assert "CI_DEFAULT_BRANCH" in gitlab["apply"]["rules"][0]["if"]
    assert "merge_request_event" in gitlab["plan"]["rules"][0]["if"]
    for name in ("github-actions.yml", "gitlab-ci.yml"):
        text = (CI / name).read_text()
        assert "--detailed-exitcode" in text and "--format markdown" in text and "apply --yes" in text
        assert "KEYCLOAK_PASSWORD" not in text, "CI logs in with client credentials"
    for workflow in (ROOT / ".github" / "workflows").glob("*.yml"):
        assert yaml.safe_load(workflow.read_text())["jobs"], workflow


@pytest.mark.parametrize("example", ["github-actions.yml", "gitlab-ci.yml"])
def test_the_examples_install_realmctl_from_its_repository_at_the_release_tag(example: str) -> None:
    """Not `realmctl==...` from a package index: that name there is not this project's."""
    from realmctl import __version__

    _, variables = load(example)
    package = variables["REALMCTL_PACKAGE"]
    assert re.fullmatch(r"git\+https://\S+/realmctl@v(\S+)", package), package
    assert package.endswith(f"@v{__version__}"), f"{package}: the tag of the version in the package"
    installs = [line for line in (CI / example).read_text().splitlines() if "pip install" in line]
    assert installs and all('"$REALMCTL_PACKAGE"' in line for line in installs), installs
    assert "realmctl==" not in (CI / example).read_text()


def test_pre_commit_hook_validates_yaml_specs() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "realmctl-validate")
    assert hook["language"] == "python" and hook["entry"] == "realmctl validate"
    included = re.compile(hook["files"])
    excluded = re.compile(hook["exclude"])

    def picked(path: str) -> bool:
        return bool(included.search(path)) and not excluded.search(path)

    assert picked("examples/stored-tokens.yaml") and picked("realms/apps.yml")
    for other in (".github/workflows/ci.yml", ".gitlab-ci.yml", ".pre-commit-config.yaml", "deploy/compose.yml"):
        assert not picked(other), other
    assert not picked("examples/ci/gitlab-ci.yml") and not picked("README.md")
    # The hook's command on the files it would be given:
    specs = sorted(str(p) for p in (ROOT / "examples").glob("*.yaml"))
    result = subprocess.run([sys.executable, "-m", "realmctl", "validate", *specs], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


class Pipeline:
    """A CI job's world: the pipeline's variables with the secret store replaced by a service
    account on the test server, a spec in `$SPEC`, and `realmctl` on PATH as pip would put it."""

    def __init__(self, example: str, keycloak: Any, tmp: Path) -> None:
        self.tmp = tmp
        self.scripts, variables = load(example)
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        script = bin_dir / "realmctl"
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m realmctl "$@"\n')
        script.chmod(0o755)

        # The pipeline's service account: a confidential master client with the admin role.
        self.admin = Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password)
        ci_client, ci_secret = unique("ci"), CANARY + "-ci"
        self.admin.post(
            "admin/realms/master/clients",
            {"clientId": ci_client, "publicClient": False, "serviceAccountsEnabled": True, "secret": ci_secret},
        )
        uuid = self.admin.client("master", ci_client)["id"]  # type: ignore[index]
        account = self.admin.get(f"admin/realms/master/clients/{uuid}/service-account-user")
        role = self.admin.get("admin/realms/master/roles/admin")
        self.admin.post(f"admin/realms/master/users/{account['id']}/role-mappings/realm", [role])

        store = {
            "KEYCLOAK_URL": keycloak.url,
            "KEYCLOAK_CLIENT_ID": ci_client,
            "KEYCLOAK_CLIENT_SECRET": ci_secret,
            "MY_APP_SECRET": CANARY + "-app",
        }
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KEYCLOAK_")}
        for name, value in variables.items():
            found = SECRET.match(str(value))
            self.env[name] = store[found.group(1)] if found else str(value)
        self.env.update(store)  # GitLab reads these from its CI/CD variables
        self.env["PATH"] = f"{bin_dir}{os.pathsep}{self.env['PATH']}"
        self.env["GITHUB_OUTPUT"] = str(tmp / "github-output")

        self.realm = unique("ci")
        spec_dir = tmp / self.env["SPEC"]
        spec_dir.mkdir(parents=True)
        client = {"publicClient": False, "secret": "${env:MY_APP_SECRET}"}
        spec = {"version": 1, "realms": {self.realm: {"displayName": "From CI", "clients": {"my-app": client}}}}
        (spec_dir / "apps.yaml").write_text(yaml.safe_dump(spec))

    def run(self, script: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Runs shell text as the CI does: bash, stopping at the first failing command."""
        result = subprocess.run(
            ["bash", "-c", f"set -eo pipefail\n{script}"],
            cwd=self.tmp,
            env={**self.env, **env},
            capture_output=True,
            text=True,
        )
        assert CANARY not in result.stdout + result.stderr, f"a secret leaked from: {script}"
        return result

    def plan_output(self, result: subprocess.CompletedProcess[str]) -> str:
        written = self.tmp / "plan.md"
        return (written.read_text() if written.exists() else "") + result.stdout


@pytest.mark.parametrize("example", ["github-actions.yml", "gitlab-ci.yml"])
def test_every_realmctl_line_runs_and_exits_as_the_pipeline_expects(
    example: str, keycloak: Any, tmp_path: Path
) -> None:
    ci = Pipeline(example, keycloak, tmp_path)
    lines = realmctl_lines(ci.scripts)
    by_command: dict[str, list[str]] = {}
    for line in lines:
        by_command.setdefault(line.split()[1], []).append(line)
    assert set(by_command) == {"validate", "plan", "apply"}, f"a realmctl line this test does not know: {lines}"

    for line in by_command["validate"]:
        result = ci.run(line)
        assert result.returncode == 0, (line, result.stdout, result.stderr)
    for line in by_command["plan"]:
        result = ci.run(line)
        assert result.returncode == 2, (line, result.stdout, result.stderr)  # the realm is not there yet
        assert "Plan: 2 to add" in ci.plan_output(result)
    for line in by_command["apply"]:
        result = ci.run(line)
        assert result.returncode == 0, (line, result.stdout, result.stderr)
    assert ci.admin.client(ci.realm, "my-app") is not None, "apply did not create the client"
    for line in by_command["plan"]:
        result = ci.run(line)
        assert result.returncode == 0, (line, result.stdout, result.stderr)
        assert "No changes" in ci.plan_output(result)


def _plan_step(example: str, scripts: list[str]) -> str:
    """The plan step's shell text, up to (not including) posting the comment."""
    if example == "github-actions.yml":
        return next(s for s in scripts if "realmctl plan" in s)
    start = next(i for i, s in enumerate(scripts) if s.startswith("code=0"))
    return "\n".join(s for s in scripts[start:] if "curl" not in s)


@pytest.mark.parametrize("example", ["github-actions.yml", "gitlab-ci.yml"])
def test_the_plan_step_passes_on_changes_and_fails_on_refused_credentials(
    example: str, keycloak: Any, tmp_path: Path
) -> None:
    ci = Pipeline(example, keycloak, tmp_path)
    step = _plan_step(example, ci.scripts)
    output = Path(ci.env["GITHUB_OUTPUT"])

    changes = ci.run(step)
    assert changes.returncode == 0, (changes.stdout, changes.stderr)  # exit 2 is not a failure
    assert "Plan: 2 to add" in (tmp_path / "plan.md").read_text()
    if example == "github-actions.yml":
        assert output.read_text() == "exitcode=2\n"
        output.unlink()

    refused = ci.run(step, KEYCLOAK_CLIENT_SECRET="wrong")
    assert refused.returncode == 4, (refused.stdout, refused.stderr)  # not posted as "no changes"
    assert not output.exists()
