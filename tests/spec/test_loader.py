"""`load_spec`, the library entry point the engine uses: data, positions, secrets, normalisation."""

from pathlib import Path

import pytest

from realmctl.spec.loader import load_spec
from realmctl.spec.model import Position, SpecInvalid

SPEC = """\
version: 1
realms:
  apps:
    identityProviders:
      azure:
        providerId: oidc
        config:
          clientSecret: ${env:AZ_SECRET}
          issuer: https://login/${env:TENANT:-common}/v2.0
          pkceEnabled: true
          extraPassword: ${file:pw.txt}
          clientSecrte: typo-but-still-secret
          literal: $${env:NOT_EXPANDED} costs $5
        mappers:
          tenant:
            identityProviderMapper: hardcoded-attribute-idp-mapper
            config: {attribute.value: 42, client_secret_hint: x}
    clients:
      my-app:
        secret: ${env:AZ_SECRET}
        attributes: {pkce.code.challenge.method: S256, use.refresh.tokens: false}
    users:
      alice:
        initialPassword: pw
"""


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    (tmp_path / "pw.txt").write_text("from-a-file\n")
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC)
    return path


def test_interpolation_env_default_file_and_escape(spec_file: Path) -> None:
    spec = load_spec([spec_file], env={"AZ_SECRET": "s3"})
    config = spec.realms["apps"]["identityProviders"]["azure"]["config"]
    assert config["clientSecret"] == "s3"
    assert config["issuer"] == "https://login/common/v2.0"
    assert config["extraPassword"] == "from-a-file"  # one trailing newline stripped
    assert config["literal"] == "${env:NOT_EXPANDED} costs $5"


def test_config_and_attribute_values_become_strings(spec_file: Path) -> None:
    spec = load_spec([spec_file], env={"AZ_SECRET": "s3"})
    apps = spec.realms["apps"]
    assert apps["identityProviders"]["azure"]["config"]["pkceEnabled"] == "true"
    assert apps["identityProviders"]["azure"]["mappers"]["tenant"]["config"]["attribute.value"] == "42"
    assert apps["clients"]["my-app"]["attributes"]["use.refresh.tokens"] == "false"


def test_sensitive_paths(spec_file: Path) -> None:
    spec = load_spec([spec_file], env={"AZ_SECRET": "s3"})
    idp = ("realms", "apps", "identityProviders", "azure")
    assert spec.sensitive == {
        (*idp, "config", "clientSecret"),
        (*idp, "config", "extraPassword"),
        (*idp, "config", "clientSecrte"),
        (*idp, "mappers", "tenant", "config", "client_secret_hint"),
        ("realms", "apps", "clients", "my-app", "secret"),
        ("realms", "apps", "users", "alice", "initialPassword"),
        (*idp, "config", "issuer"),  # from ${env:TENANT}, which the spec does not declare public
    }


def test_positions_are_one_based_and_point_at_keys(spec_file: Path) -> None:
    spec = load_spec([spec_file], env={"AZ_SECRET": "s3"})
    f = str(spec_file)
    assert spec.where("realms", "apps", "clients", "my-app") == Position(f, 19, 7)
    assert spec.where("realms", "apps", "clients", "my-app", "secret") == Position(f, 20, 9)
    assert spec.where("realms", "apps", "clients", "my-app", "no-such-key") == Position(f, 19, 7)
    assert spec.files == [f]
    assert ("apps", "clients", "my-app") in spec.objects()


def test_all_errors_are_reported_and_no_value_is_echoed(spec_file: Path) -> None:
    with pytest.raises(SpecInvalid) as caught:
        load_spec([spec_file], env={})
    findings = caught.value.findings
    assert [(f.code, f.position.line if f.position else 0) for f in findings] == [
        ("missing-env", 8),
        ("unknown-config-key", 12),  # a warning travels with the errors
        ("missing-env", 20),
    ]
    assert "AZ_SECRET" in str(caught.value)
    assert caught.value.files == [str(spec_file)]


def test_anchors_and_aliases_are_allowed(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "version: 1\nrealms:\n  apps:\n    clients:\n      a: &conf {publicClient: false}\n      b: *conf\n"
    )
    spec = load_spec([path], env={})
    assert spec.realms["apps"]["clients"]["b"] == {"publicClient": False}


def test_lists_from_several_files_are_concatenated_with_their_positions(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("version: 1\nrealms:\n  apps:\n    groups: [g1]\n    roleGrants:\n      - groups: [g1]\n")
    b.write_text(
        "version: 1\nrealms:\n  apps:\n    groups: [g2]\n    roleGrants:\n"
        "      - groups: [g2]\n        realmRoles: [offline_access]\n"
    )
    spec = load_spec([tmp_path], env={})
    assert spec.realms["apps"]["groups"] == ["g1", "g2"]
    assert spec.where("realms", "apps", "roleGrants", 1, "realmRoles") == Position(str(b), 7, 9)
    assert spec.where("realms", "apps", "roleGrants", 0) == Position(str(a), 6, 9)
    assert spec.files == [str(a), str(b)]
