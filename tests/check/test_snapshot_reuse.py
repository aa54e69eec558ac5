"""`check` reads the server once: the rules reuse the snapshot the plan was made from (issue #16).

Before, `check` made a plan (to note pending changes) and then read every realm again for its rules:
the realm, its clients, scopes, IdPs and users were each fetched twice. Now the rules ask only for
what the plan did not read, so no request target is sent twice in one `check`.
"""

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import ROOT, Admin, env_for, realmctl, unique

pytestmark = pytest.mark.sandbox_only  # reads the sandbox's request log

TOKEN_PATH = "/realms/{realm}/protocol/openid-connect/token"


def example(realm: str) -> dict[str, Any]:
    """examples/stored-tokens.yaml with its realm renamed, so runs never share a realm."""
    spec = yaml.safe_load((ROOT / "examples" / "stored-tokens.yaml").read_text())
    spec["realms"] = {realm: spec["realms"]["apps"]}
    return spec


def gets(admin: Admin) -> list[str]:
    return [e["target"] for e in admin.requests()["log"] if e["method"] == "GET" and e["path"] != TOKEN_PATH]


def test_check_sends_each_read_once_and_no_more_than_plan_plus_its_own_facts(keycloak: Any, tmp_path: Path) -> None:
    realm = unique("reuse")
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(example(realm)))
    env = env_for(keycloak.url, keycloak.admin_user, keycloak.admin_password)
    assert realmctl("apply", "--yes", str(path), env=env).code == 0
    admin = Admin(keycloak.url, keycloak.admin_user, keycloak.admin_password)

    admin.reset_requests()
    assert realmctl("plan", "--detailed-exitcode", str(path), env=env).code == 0
    plan_reads = gets(admin)

    admin.reset_requests()
    result = realmctl("check", str(path), env=env)
    assert result.code == 0, result.all
    check_reads = gets(admin)

    repeated = {target: n for target, n in Counter(check_reads).items() if n > 1}
    assert repeated == {}, f"check sent these reads more than once: {repeated}"
    # Everything the plan reads, check reads too (it plans first); the rest are the chain facts
    # (effective roles, links, composites) only check needs.
    assert set(plan_reads) <= set(check_reads)
    assert len(check_reads) == len(set(check_reads))
