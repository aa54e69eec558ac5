"""A server under a context path (KEYCLOAK_URL=https://host/auth, as Keycloak before 17 and many
reverse proxies serve it): every request, Location, issuer and probe must carry the prefix."""

from pathlib import Path

import pytest

from realmctl.sandbox import Sandbox
from tests.helpers import ROOT, Admin, env_for, realmctl

pytestmark = pytest.mark.sandbox_only  # the context path is a sandbox option; a real server has its own


def test_plan_apply_and_check_under_auth(tmp_path: Path) -> None:
    with Sandbox(context_path="/auth") as sb:
        assert sb.url.endswith("/auth")
        env = env_for(sb.url, "admin", "admin", REALMCTL_PROBE_USER="alice", REALMCTL_PROBE_PASSWORD="alice")
        spec = str(ROOT / "examples" / "stored-tokens.yaml")
        applied = realmctl("apply", "--yes", spec, env=env)
        assert applied.code == 0, applied.all
        assert realmctl("plan", "--detailed-exitcode", spec, env=env).code == 0
        admin = Admin(sb.url, "admin", "admin")
        login = {"username": "alice", "subject": "a1", "token": {"access_token": "up", "token_type": "Bearer"}}
        admin.post("sandbox/realms/apps/broker/azure/login", login)
        checked = realmctl("check", "--probe", spec, env=env)
        assert checked.code == 0, checked.all
        assert "GET /realms/apps/broker/azure/token -> 200" in checked.out


def test_cross_realm_exchange_under_auth(tmp_path: Path) -> None:
    with Sandbox(context_path="/auth", profile="legacy-exchange") as sb:
        env = env_for(sb.url, "admin", "admin", REALMCTL_PROBE_USER="carol", REALMCTL_PROBE_PASSWORD="carol")
        spec = ROOT / "examples" / "cross-realm-exchange.yaml"
        assert realmctl("apply", "--yes", str(spec), env=env).code == 0
        idp = Admin(sb.url, "admin", "admin").get("admin/realms/realm-a/identity-provider/instances/realm-b")
        assert idp["config"]["issuer"] == f"{sb.url}/realms/realm-b"
        checked = realmctl("check", "--probe", str(spec), env=env)
        assert checked.code == 0, checked.all
        assert "ok   exchange: POST " in checked.out
        assert "subject_issuer=realm-b client_secret=*** -> 200 realm realm-a token" in checked.out
