"""Issue #14 item 4: the sandbox takes what Keycloak's own export writes.

The fixture (tests/fixtures/kc-export-26.7.3/) was written by a real Keycloak 26.7.3:
`kc.sh import --file realm-in.json` of a realm with three users (password policy
`hashAlgorithm(pbkdf2-sha512) and hashIterations(1000)`), then
`kc.sh export --dir D --realm exported --users different_files --users-per-file 2`: a realm file
and two users files, the passwords only as PBKDF2 hashes. Sandbox only: it reads the sandbox's import.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from realmctl.sandbox import Sandbox

EXPORT = Path(__file__).resolve().parents[1] / "fixtures" / "kc-export-26.7.3"
ROOT = Path(__file__).resolve().parents[2]
PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw"}

pytestmark = pytest.mark.sandbox_only


def _files() -> list[Path]:
    return sorted(EXPORT.glob("*.json"), reverse=True)  # users files first: order must not matter


def _login(url: str, username: str, password: str) -> requests.Response:
    form = {"grant_type": "password", "client_id": "app", "username": username, "password": password}
    return requests.post(f"{url}/realms/exported/protocol/openid-connect/token", data=form, timeout=30)


def test_the_export_is_what_keycloak_wrote() -> None:
    names = sorted(p.name for p in EXPORT.glob("*.json"))
    assert names == ["exported-realm.json", "exported-users-0.json", "exported-users-1.json"]
    users = [u for p in EXPORT.glob("*-users-*.json") for u in json.loads(p.read_text())["users"]]
    creds = [c for u in users for c in u.get("credentials", [])]
    assert creds and all("value" not in c and "pbkdf2-sha512" in c["credentialData"] for c in creds)


def test_users_in_separate_files_log_in_with_their_real_passwords() -> None:
    """alice (complete profile) gets tokens; bob and carol (no e-mail or names) pass the password
    check and are then stopped by the default user profile, as on Keycloak; a wrong password is not
    taken."""
    with Sandbox(imports=_files()) as sb:
        response = _login(sb.url, "alice", PASSWORDS["alice"])
        assert response.status_code == 200, response.text
        for username in ("bob", "carol"):
            response = _login(sb.url, username, PASSWORDS[username])
            assert response.json()["error_description"] == "Account is not fully set up", username
        for username in PASSWORDS:
            wrong = _login(sb.url, username, "not-the-password")
            assert wrong.json() == {"error": "invalid_grant", "error_description": "Invalid user credentials"}


def test_the_cli_takes_the_export_and_names_the_file_it_cannot_take(tmp_path: Path) -> None:
    bad = tmp_path / "exported-users-9.json"
    users = json.loads((EXPORT / "exported-users-0.json").read_text())
    users["users"] = users["users"][:1]
    users["users"][0].update(id="b0b0b0b0-0000-4000-8000-000000000001", username="dave", email="dave@example.com")
    cred = users["users"][0]["credentials"][0]
    cred["credentialData"] = cred["credentialData"].replace("pbkdf2-sha512", "bcrypt")  # a provider's, not built in
    bad.write_text(json.dumps(users))
    args = [sys.executable, "-m", "realmctl", "sandbox", "--port", "0"]
    for path in [*_files(), bad]:
        args += ["--import", str(path)]
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    name = users["users"][0]["username"]
    assert f"cannot import {bad} (realm 'exported'): user {name!r}: password hashed with 'bcrypt'" in result.stderr
    assert "Traceback" not in result.stderr


#: Written by a real Keycloak 26.7.3 with no password policy, so with its default hash, argon2:
#: `kc.sh import --file realm-in.json` of realm `argon` (client `app`, public with direct grants;
#: user alice, password `alice-pw`, names and e-mail set), then
#: `kc.sh export --dir D --realm argon --users different_files --users-per-file 5`.
ARGON2_EXPORT = Path(__file__).resolve().parents[1] / "fixtures" / "kc-export-26.7.3-argon2"


def test_the_argon2_export_is_what_keycloak_wrote() -> None:
    users = json.loads((ARGON2_EXPORT / "argon-users-0.json").read_text())["users"]
    data = json.loads(users[0]["credentials"][0]["credentialData"])
    assert data["algorithm"] == "argon2" and data["additionalParameters"]["type"] == ["id"]
    assert "value" not in users[0]["credentials"][0]


def test_users_of_an_argon2_export_log_in_with_their_real_passwords() -> None:
    """Keycloak's default hash: verified with the argon2 extra (installed with `test`)."""
    pytest.importorskip("argon2", reason="the argon2 extra is not installed")
    with Sandbox(imports=sorted(ARGON2_EXPORT.glob("*.json"))) as sb:
        url = f"{sb.url}/realms/argon/protocol/openid-connect/token"
        form = {"grant_type": "password", "client_id": "app", "username": "alice"}
        assert requests.post(url, data={**form, "password": "alice-pw"}, timeout=30).status_code == 200
        wrong = requests.post(url, data={**form, "password": "alice-pw!"}, timeout=30)
        assert wrong.json() == {"error": "invalid_grant", "error_description": "Invalid user credentials"}


def test_without_the_argon2_extra_the_import_names_it() -> None:
    """The refusal is one sentence naming file, realm, user and the extra to install."""
    files = [str(p) for p in sorted(ARGON2_EXPORT.glob("*.json"))]
    args = ["sandbox", "--port", "0", *(x for f in files for x in ("--import", f))]
    script = (
        "import sys; sys.modules['argon2'] = None; sys.modules['argon2.low_level'] = None\n"
        "from realmctl.cli import main\n"
        f"sys.argv = ['realmctl', *{args!r}]\n"
        "main()\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    users_file = ARGON2_EXPORT / "argon-users-0.json"
    assert (
        f"cannot import {users_file} (realm 'argon'): user 'alice': password hashed with 'argon2', which the "
        "sandbox verifies only with the argon2 extra (pip install 'realmctl[argon2]')"
    ) in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
