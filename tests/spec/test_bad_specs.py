"""The corpus of bad specs: each file says in its first comment what `realmctl validate` must print.

Header format: `# expect: EXIT | LINE:COL | words of the message | words of the hint` (hint optional).
A directory is one multi-file spec; its header sits in the file the finding points at.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from realmctl.cli import cli

ROOT = Path(__file__).resolve().parents[2]
BAD = Path(__file__).resolve().parent / "bad"


@dataclass(frozen=True)
class Case:
    """One bad spec and what the user must see."""

    target: str  # what is passed to `realmctl validate`, relative to the repository root
    file: str  # the file the expected finding points at
    exit_code: int
    line_col: str
    message: str
    hint: str | None


def _case(entry: Path) -> Case:
    files = sorted(entry.glob("*.yaml")) if entry.is_dir() else [entry]
    for f in files:
        first = f.read_text().splitlines()[0] if f.read_text() else ""
        if first.startswith("# expect:"):
            parts = [p.strip() for p in first.removeprefix("# expect:").split(" | ")]
            hint = parts[3] if len(parts) > 3 else None
            return Case(
                str(entry.relative_to(ROOT)),
                str(f.relative_to(ROOT)),
                int(parts[0]),
                parts[1],
                parts[2],
                hint,
            )
    raise AssertionError(f"{entry} has no `# expect:` header")


CASES = [_case(e) for e in sorted(BAD.iterdir()) if e.is_dir() or e.suffix == ".yaml"]


def test_the_corpus_has_at_least_30_bad_specs() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[Path(c.target).stem for c in CASES])
def test_bad_spec(case: Case) -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(cli, ["validate", case.target], env={"REALMCTL_TEST_SURELY_UNSET": None})
    finally:
        os.chdir(cwd)
    lines = result.output.splitlines()
    assert result.exit_code == case.exit_code, result.output
    prefix = f"{case.file}:{case.line_col}: "
    matching = [line for line in lines if line.startswith(prefix)]
    assert matching, f"no finding at {prefix}\n{result.output}"
    line = matching[0]
    assert case.message in line, result.output
    if case.hint:
        assert f"({case.hint}" in line or case.hint in line.split("(", 1)[-1], result.output
    summary = lines[-1]
    if case.exit_code:
        assert " error" in summary and summary.endswith("file" if "1 file" in summary else "files")
    else:
        assert summary.startswith("OK: ") and "warning" in summary
