"""examples/keycloak and the integration workflow agree with each other, with the features realmctl
asks for, and with the variables tests/conftest.py reads. (Docker is not available here; the
`keycloak-integration` workflow runs them for real.)"""

import re
from pathlib import Path

import yaml

from realmctl.compile import SERVER_FLAGS

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "examples" / "keycloak" / "compose.yml"
WORKFLOW = ROOT / ".github" / "workflows" / "keycloak-integration.yml"
VARIABLES = ("REALMCTL_TEST_URL", "REALMCTL_TEST_USER", "REALMCTL_TEST_PASSWORD", "REALMCTL_TEST_PROFILE")


def test_compose_starts_keycloak_26_2_dev_with_the_legacy_exchange_features_and_health() -> None:
    service = yaml.safe_load(COMPOSE.read_text())["services"]["keycloak"]
    assert service["image"] == "quay.io/keycloak/keycloak:26.2"
    assert service["command"] == ["start-dev", SERVER_FLAGS]
    env = service["environment"]
    assert {"KC_BOOTSTRAP_ADMIN_USERNAME", "KC_BOOTSTRAP_ADMIN_PASSWORD"} <= set(env)
    assert env["KC_HEALTH_ENABLED"] == "true"
    assert "/health/ready" in " ".join(service["healthcheck"]["test"])
    assert any(str(p).endswith(":9000:9000") for p in service["ports"])


def test_integration_workflow_runs_the_tests_against_the_compose_keycloak() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    job = workflow["jobs"]["keycloak"]
    env = job["env"]
    conftest = (ROOT / "tests" / "conftest.py").read_text()
    for name in (*VARIABLES, "REALMCTL_TEST_LEGACY"):
        assert name in env and f'"{name}"' in conftest, name
    assert env["REALMCTL_TEST_PROFILE"] == "legacy-exchange" and env["REALMCTL_TEST_LEGACY"] == "1"
    runs = [step.get("run", "") for step in job["steps"]]
    assert any("examples/keycloak/compose.yml up -d --wait" in run for run in runs)
    assert any(re.search(r"pytest tests\b", run) for run in runs)


def test_readme_names_every_variable_and_the_commands() -> None:
    readme = (ROOT / "examples" / "keycloak" / "README.md").read_text()
    for name in (*VARIABLES, "REALMCTL_TEST_LEGACY"):
        assert f"{name}=" in readme and f"`{name}" in readme, name
    assert "docker compose -f examples/keycloak/compose.yml up -d --wait" in readme
    assert "KEYCLOAK_URL=http://localhost:8080" in readme


def test_ci_workflow_runs_the_ci_script() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    runs = [step.get("run") for job in workflow["jobs"].values() for step in job["steps"]]
    assert "bash .ci/run" in runs
