"""The README is the front door: its commands must be the ones CI really runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _sh_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_quickstart_has_two_command_lines_and_ci_runs_the_test_one() -> None:
    blocks = [b.strip() for b in _sh_blocks()[:2]]
    assert len(blocks) == 2 and all("\n" not in b for b in blocks), blocks
    setup, tests = blocks
    assert "realmctl" in setup and "pytest" in tests
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci_lines, "CI must run the README's test command verbatim"


def test_quickstart_third_command_runs_the_real_keycloak_tier_and_ci_runs_it() -> None:
    real = _sh_blocks()[2].strip()
    assert "\n" not in real and "--backend keycloak" in real, real
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert real in ci_lines, "CI must run the README's real-Keycloak command verbatim"
    assert ci_lines.index(real) > ci_lines.index(_sh_blocks()[1].strip()), "the sandbox tier runs first"
