"""`realmctl --help` and `validate` start without the HTTP stack and the Keycloak client (issue #17:
half a second of imports before anything was printed), and the small things a newcomer met."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from realmctl import cli
from realmctl.keycloak import transport
from realmctl.spec import loader
from tests.helpers import ROOT, Admin, env_for, realmctl, unique

HEAVY = ("requests", "keycloak", "urllib3", "realmctl.engine", "realmctl.check", "realmctl.sandbox")


def imported_by(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running `code` (a user's `realmctl ...` start)."""
    probe = f"import sys; {code}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return set(out.split())


def test_help_imports_neither_the_http_stack_nor_the_library() -> None:
    loaded = imported_by("from realmctl.cli import run; run(['--help'])")
    assert not {m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY}


def test_validate_starts_without_the_http_stack(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\nrealms:\n  apps: {}\n")
    loaded = imported_by(f"from realmctl.cli import run; run(['validate', {str(spec)!r}])")
    assert not {m for m in loaded if m.split(".")[0] in ("requests", "keycloak", "urllib3")}


def test_the_clis_defaults_are_the_librarys() -> None:
    assert cli.DEFAULT_TIMEOUT == transport.DEFAULT_TIMEOUT
    assert cli.DEFAULT_DEADLINE == transport.DEFAULT_DEADLINE
    assert cli.MAX_SPEC_BYTES == loader.MAX_SPEC_BYTES


def test_validate_json_says_its_format(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\nrealms:\n  apps: {}\n")
    body = json.loads(realmctl("validate", "--format", "json", str(spec)).out)
    assert (body["format"], body["version"], body["valid"]) == ("realmctl.validate", 1, True)


def test_sandbox_profile_is_a_choice() -> None:
    result = realmctl("sandbox", "--profile", "legacy")
    assert result.code == 1 and "'legacy' is not one of 'keycloak-26', 'legacy-exchange', 'modern'" in result.err


def test_check_on_an_empty_sandbox_says_so() -> None:
    result = realmctl("check", "--sandbox", str(ROOT / "examples" / "stored-tokens.yaml"))
    assert "looks at a fresh sandbox holding only the master realm" in result.err
    assert "--sandbox-import" in result.err


def test_plan_of_the_exchange_example_on_the_sandbox_suggests_the_legacy_profile(tmp_path: Path) -> None:
    """The example pinned to the legacy exchange (unpinned, a 26.7 default server takes the JWT grant)."""
    spec = yaml.safe_load((ROOT / "examples" / "cross-realm-exchange.yaml").read_text())
    for realm in spec["realms"].values():
        for entry in (realm.get("tokenExchange") or {}).values():
            entry["method"] = "legacy-exchange"
    path = tmp_path / "exchange.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = realmctl("plan", "--sandbox", str(path))
    assert result.code == 1
    assert "This is realmctl's sandbox: run it with --sandbox-profile legacy-exchange" in result.err
    assert "Start Keycloak with" not in result.err  # there is no Keycloak to restart


def test_export_keeps_the_users_realmctl_created(keycloak: Any, tmp_path: Path) -> None:
    """A user declared in a spec and applied is exported by default, so that planning the export
    does not delete them (other users still need --kinds +users)."""
    realm = unique("exp")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"version: 1\nrealms:\n  {realm}:\n    users:\n      alice: {{email: alice@example.com, firstName: A, "
        "lastName: A}\n"
    )
    env = env_for(keycloak.url, keycloak.admin_user, keycloak.admin_password)
    assert realmctl("apply", "--yes", "-q", str(spec), env=env).code == 0
    Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password).post(
        f"admin/realms/{realm}/users", {"username": "hand-made", "enabled": True}
    )
    exported = realmctl("export", "--realm", realm, "--out", str(tmp_path / "export.yaml"), env=env)
    assert exported.code == 0, exported.all
    users = yaml.safe_load((tmp_path / "export.yaml").read_text())["realms"][realm]["users"]
    assert list(users) == ["alice"]
    planned = realmctl("plan", "--detailed-exitcode", str(tmp_path / "export.yaml"), env=env)
    assert planned.code == 0, planned.all
