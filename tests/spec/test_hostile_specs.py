"""Hostile or unlucky specs (issue #18): `${file:}` confined, sizes and depths bounded, names from
the environment declared public, and each refusal one sentence with file:line, never a hang."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from realmctl.spec.loader import load_spec
from realmctl.spec.model import SpecInvalid
from realmctl.spec.yamlpos import parse
from tests.helpers import realmctl

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real entry point in a child process, so that a hang is a timeout, not a stuck suite."""
    return subprocess.run(
        [sys.executable, "-m", "realmctl", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def here(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The same command in this process (click's runner), for refusals that cannot hang: a child
    process costs a Python start; here the network cut of tests/spec/conftest.py applies too."""
    result = realmctl(*args, env=env)
    return subprocess.CompletedProcess(list(args), result.code, result.out, result.err)


def spec_with(tmp_path: Path, value: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"version: 1\nrealms:\n  apps:\n    clients:\n      app:\n        secret: {value}\n")
    return path


def one_error(result: subprocess.CompletedProcess[str], path: Path, *words: str) -> str:
    """The output holds exactly one error, at the spec's `secret:` line, containing `words`."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert len(lines) == 1, result.stdout
    assert lines[0].startswith(f"{path}:6:9: error: "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_file_outside_the_spec_directory_is_refused_without_the_flag(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("outside-value\n")
    (tmp_path / "specs").mkdir()
    for ref in (str(secret), "../secret.txt"):
        path = spec_with(tmp_path / "specs", f"${{file:{ref}}}")
        one_error(here("validate", str(path)), path, "is outside the spec file's directory")
        allowed = here("validate", "--allow-file-outside-spec", str(path))
        assert allowed.returncode == 0, allowed.stdout + allowed.stderr


def test_a_symlink_leaving_the_spec_directory_is_outside_too(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("outside\n")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "link.txt").symlink_to(tmp_path / "secret.txt")
    path = spec_with(tmp_path / "specs", "${file:link.txt}")
    one_error(here("validate", str(path)), path, "outside the spec file's directory")


def test_a_file_below_the_spec_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "app.txt").write_text("inside\n")
    spec = load_spec([spec_with(tmp_path, "${file:secrets/app.txt}")])
    assert spec.realms["apps"]["clients"]["app"]["secret"] == "inside"


def test_a_fifo_is_refused_at_once_and_never_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    path = spec_with(tmp_path, "${file:pipe}")
    one_error(run("validate", str(path), timeout=20), path, "`pipe`", "is not a regular file")


@pytest.mark.parametrize("target", ["/dev/zero", "/proc/self/environ"])
def test_devices_and_kernel_pseudo_files_are_refused_even_with_the_flag(tmp_path: Path, target: str) -> None:
    path = spec_with(tmp_path, f"${{file:{target}}}")
    result = run("validate", "--allow-file-outside-spec", str(path), env={"CANARY_ENV": "canary-93c1"}, timeout=20)
    one_error(result, path, f"`{target}`", "device or kernel pseudo-file")
    assert "canary-93c1" not in result.stdout + result.stderr


def test_a_file_larger_than_64_kib_is_refused_with_the_limit_in_the_message(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("x" * (64 * 1024 + 1))
    path = spec_with(tmp_path, "${file:big.txt}")
    one_error(here("validate", str(path)), path, "`big.txt`", "larger than 64 KiB")
    (tmp_path / "big.txt").write_text("x" * (64 * 1024))
    assert here("validate", str(path)).returncode == 0


def test_nested_defaults_resolve(tmp_path: Path) -> None:
    path = spec_with(tmp_path, "${env:A:-${env:B}}")
    assert load_spec([path], env={"B": "from-b"}).realms["apps"]["clients"]["app"]["secret"] == "from-b"
    assert load_spec([path], env={"A": "from-a"}).realms["apps"]["clients"]["app"]["secret"] == "from-a"
    (tmp_path / "f.txt").write_text("from-file\n")
    path = spec_with(tmp_path, "x-${env:A:-${file:f.txt}}-y")
    assert load_spec([path], env={}).realms["apps"]["clients"]["app"]["secret"] == "x-from-file-y"


def test_nested_default_with_neither_set_is_an_error_with_position(tmp_path: Path) -> None:
    path = spec_with(tmp_path, "${env:A:-${env:B}}")
    with pytest.raises(SpecInvalid) as raised:
        load_spec([path], env={})
    (finding,) = raised.value.findings
    assert finding.code == "missing-env" and "`B`" in finding.message
    assert (finding.position.line, finding.position.column) == (6, 9)  # type: ignore[union-attr]


DEEP = 3000
"""Past libyaml's own nesting limit (1000) and Python's default recursion limit (1000), so that
both ways a deep document could end in a traceback are crossed. Refused in well under a second:
libyaml's nesting refusal is answered without re-reading the text with PyYAML's pure-Python parser,
whose time grows with the square of the depth (3000 levels took 11 s a command before)."""


@pytest.mark.parametrize("command", [["validate"], ["plan", "--sandbox"]])
def test_deeply_nested_yaml_is_one_sentence_with_file_and_line(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("version: 1\nrealms:\n  apps:\n    attributes:\n      deep: " + "[" * DEEP + "]" * DEEP + "\n")
    result = run(*command, str(path))
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in output and "internal error" not in output, output
    assert f"{path}:5:" in output and "nested more than 64 levels deep" in output


def test_deep_nesting_made_by_aliases_is_refused_too() -> None:
    levels = [f"l{i}: &l{i} [*l{i - 1}, *l{i - 1}]" if i else "l0: &l0 [x]" for i in range(0, 3)]
    deep = ["a0: &a0 [1]"] + [f"a{i}: &a{i} [[[[[[[[[[[[[[[[[[[[*a{i - 1}]]]]]]]]]]]]]]]]]]]]" for i in range(1, 6)]
    doc = parse("x.yaml", "\n".join(levels + deep) + "\n")
    assert [f.code for f in doc.findings] == ["too-deep"], [str(f) for f in doc.findings]


def test_a_large_spec_without_aliases_is_not_a_billion_laughs() -> None:
    """200,001 values written out are a big file, not an alias expansion."""
    doc = parse("big.yaml", "k: [" + ",".join("1" for _ in range(200_001)) + "]\n")
    assert doc.findings == []
    assert len(doc.data["k"]) == 200_001


def test_the_billion_laughs_is_still_refused() -> None:
    doc = parse((ROOT / "tests/spec/bad/alias-bomb.yaml").name, (ROOT / "tests/spec/bad/alias-bomb.yaml").read_text())
    assert [f.code for f in doc.findings] == ["too-large"]


def test_a_spec_file_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("w") as out:
        out.write("version: 1\nrealms:\n  apps: {}\n")
        line = "# " + "x" * 1020 + "\n"
        for _ in range(11 * 1024):  # 11 MiB of comments: valid YAML, too large a spec
            out.write(line)
    result = here("validate", str(path))
    assert result.returncode == 1, result.stdout
    assert f"{path}:1:1: error: the file is 11 MiB, more than the 10 MiB a spec file may have" in result.stdout
    assert here("validate", "--max-spec-size", "12", str(path)).returncode == 0
    assert here("validate", str(path), env={"REALMCTL_MAX_SPEC_SIZE": "12"}).returncode == 0


def test_usernames_differing_only_in_case_are_a_validate_error(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    path.write_text("version: 1\nrealms:\n  apps:\n    users:\n      alice: {}\n      Alice: {}\n")
    result = here("validate", str(path))
    assert result.returncode == 1
    assert f"{path}:6:7: error: users `alice` and `Alice` of realm `apps` are the same user" in result.stdout


def test_a_name_from_the_environment_must_be_declared_public(tmp_path: Path) -> None:
    path = tmp_path / "names.yaml"
    path.write_text("version: 1\nrealms:\n  apps:\n    groups: [staff, '${env:TEAM}']\n")
    result = here("validate", str(path), env={"TEAM": "canary-team-51"})
    assert result.returncode == 1 and "canary-team-51" not in result.stdout + result.stderr
    assert f"{path}:4:21: error: item 2 of `groups` in realm `apps` comes from `env:TEAM`" in result.stdout
    path.write_text("version: 1\npublic: {env: [TEAM]}\nrealms:\n  apps:\n    groups: [staff, '${env:TEAM}']\n")
    assert here("validate", str(path), env={"TEAM": "canary-team-51"}).returncode == 0


def test_interpolated_values_are_secret_unless_public_and_known(tmp_path: Path) -> None:
    path = tmp_path / "taint.yaml"
    path.write_text(
        "version: 1\n"
        "public: {env: [NAME]}\n"
        "realms:\n"
        "  apps:\n"
        "    displayName: ${env:NAME}\n"  # public and known: shown
        "    attributes: {note: '${env:NAME}'}\n"  # public, but a raw map: secret
        "    clients:\n"
        "      app:\n"
        "        rootUrl: https://${env:HOST}/\n"  # known, not public: secret
        "        description: plain\n"
    )
    spec = load_spec([path], env={"NAME": "Apps", "HOST": "h.example"})
    assert spec.sensitive == {
        ("realms", "apps", "attributes", "note"),
        ("realms", "apps", "clients", "app", "rootUrl"),
    }


@pytest.mark.parametrize("command", [["validate"], ["plan", "--sandbox"], ["apply", "--sandbox", "--yes"]])
def test_a_fifo_given_as_the_spec_is_refused_at_once(tmp_path: Path, command: list[str]) -> None:
    os.mkfifo(tmp_path / "spec.yaml")
    result = run(*command, str(tmp_path / "spec.yaml"), timeout=30)
    assert result.returncode == 1
    assert f"{tmp_path / 'spec.yaml'}:1:1: error: the file is not a regular file" in result.stdout + result.stderr
