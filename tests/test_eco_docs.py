"""docs/ci.md, docs/real-keycloak.md, docs/export.md and docs/compatibility.md: their links resolve,
and the options, inputs, variables and versions they name are the ones the code has."""

import re
from pathlib import Path

import pytest
import yaml

from realmctl.versions import TESTED_KEYCLOAK
from tests.helpers import realmctl

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("ci.md", "real-keycloak.md", "export.md", "compatibility.md")


@pytest.mark.parametrize("name", DOCS)
def test_relative_links_resolve(name: str) -> None:
    doc = ROOT / "docs" / name
    for target in re.findall(r"\]\(([^)#]+?)(?:#[^)]*)?\)", doc.read_text()):
        if "://" not in target:
            assert (doc.parent / target).exists(), f"{name} links to missing {target}"


def test_export_doc_names_only_real_options() -> None:
    help_text = realmctl("export", "--help").out
    table = (ROOT / "docs" / "export.md").read_text().split("## Options", 1)[1].split("###", 1)[0]
    options = set(re.findall(r"`(--[a-z-]+)", table))
    assert {"--realm", "--kinds", "--include-builtins", "--out", "--format", "--sandbox-import"} <= options
    for option in options:
        assert option in help_text, option


def test_real_keycloak_doc_names_the_test_variables_conftest_reads() -> None:
    doc = (ROOT / "docs" / "real-keycloak.md").read_text()
    conftest = (ROOT / "tests" / "conftest.py").read_text()
    for name in set(re.findall(r"REALMCTL_TEST_[A-Z]+", doc)):
        assert f'"{name}"' in conftest, name
    for name in set(re.findall(r'"(REALMCTL_TEST_[A-Z]+)"', conftest)):
        assert name in doc, name


def test_compatibility_table_lists_the_versions_realmctl_says_it_is_tested_against() -> None:
    doc = (ROOT / "docs" / "compatibility.md").read_text()
    table = doc.split("## Versions × features", 1)[1].split("\n\n", 2)[1]
    rows = [line.split("|")[1].strip() for line in table.splitlines()[2:]]
    assert rows == [version for version, _ in TESTED_KEYCLOAK]
    for line in table.splitlines()[2:]:
        assert "**tested**" in line, f"a version in the table with nothing run on it: {line[:40]}"
    readme = (ROOT / "README.md").read_text()
    assert "(docs/compatibility.md)" in readme and "(docs/check-chain.png)" in readme
    assert (ROOT / "docs" / "check-chain.png").read_bytes().startswith(b"\x89PNG")


def test_ci_doc_names_every_input_of_the_action_and_no_other() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    section = (ROOT / "docs" / "ci.md").read_text().split("## The GitHub Action", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| `")]
    named = {name for line in table for name in re.findall(r"`([a-z-]+)`", line.split("|")[1])}
    assert named == set(action["inputs"]), named ^ set(action["inputs"])
