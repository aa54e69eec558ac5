"""docs/ci.md, docs/real-keycloak.md and docs/export.md: their links resolve, and the options and
variables they name are the ones the code has."""

import re
from pathlib import Path

import pytest

from tests.helpers import realmctl

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("ci.md", "real-keycloak.md", "export.md")


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
