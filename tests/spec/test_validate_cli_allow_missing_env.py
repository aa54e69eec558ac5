"""`validate --allow-missing-env`: a spec whose secrets come from a pipeline validates on a laptop."""

import json
from pathlib import Path

from tests.helpers import realmctl

SPEC = """version: 1
realms:
  r:
    identityProviders:
      x:
        providerId: oidc
        config:
          clientSecret: ${env:REALMCTL_TEST_UNSET_SECRET}
          clientId: ${env:REALMCTL_TEST_UNSET_ID:-fallback}
"""


def test_unset_variables_are_listed_not_errors(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    strict = realmctl("validate", str(spec))
    assert strict.code == 1 and "REALMCTL_TEST_UNSET_SECRET" in strict.out
    lenient = realmctl("validate", "--allow-missing-env", str(spec))
    assert lenient.code == 0, lenient.all
    assert "Not set, allowed by --allow-missing-env: REALMCTL_TEST_UNSET_SECRET\n" in lenient.out
    assert "REALMCTL_TEST_UNSET_ID" not in lenient.out  # it has a default
    body = json.loads(realmctl("validate", "--allow-missing-env", "--format", "json", str(spec)).out)
    assert body["valid"] is True and body["unsetVariables"] == ["REALMCTL_TEST_UNSET_SECRET"]


def test_a_set_variable_is_still_used_and_never_printed(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace("providerId: oidc", "providerId: 5"))
    result = realmctl("validate", "--allow-missing-env", str(spec), env={"REALMCTL_TEST_UNSET_SECRET": "canary-9d2f"})
    assert result.code == 1 and "providerId" in result.out
    assert "canary-9d2f" not in result.all and "Not set" not in result.out
