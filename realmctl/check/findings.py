"""Findings of `realmctl check`: which link of a chain is missing, why it matters, how to fix it."""

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from realmctl.spec.model import Position

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    """One missing or weak link. `fix` is a spec snippet (YAML) that mends it."""

    severity: Severity
    rule: str  # stable id, e.g. "broker.store-token-off"
    realm: str
    subject: str  # the object(s) concerned, in words
    message: str  # what is wrong and why it breaks the chain
    fix: str = ""
    position: Position | None = None
    predicts: str | None = None  # the probe step this rule makes fail: "token", "claims", "broker", "exchange"
    plan: str | None = None  # "creates": only after the pending plan; "fixes": the plan removes it

    @property
    def title(self) -> str:
        """The finding's heading, saying what the pending plan does to it."""
        when = {"creates": " [after the plan: the plan breaks this]", "fixes": " [the plan fixes this]"}
        return (
            f"{self.severity.upper()} {self.rule} — realm {self.realm}: {self.subject}{when.get(self.plan or '', '')}"
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "severity": self.severity,
            "rule": self.rule,
            "realm": self.realm,
            "subject": self.subject,
            "message": self.message,
            "fix": self.fix,
        }
        if self.plan:
            out["plan"] = self.plan
        if self.position:
            out["source"] = {
                "file": self.position.file,
                "line": self.position.line,
                "column": self.position.column,
            }
        return out


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


def text(report: Report) -> str:
    lines: list[str] = []
    for note in report.notes:
        lines.append(f"Note: {note}")
    for f in report.findings:
        where = f" ({f.position})" if f.position else ""
        lines.append(f"{f.title}{where}")
        lines.append(f"  {f.message}")
        if "\n" not in f.fix and f.fix:
            lines.append(f"  Fix: {f.fix}")
        elif f.fix:
            lines.append("  Fix, in the spec:")
            lines.extend(f"    {line}" for line in f.fix.rstrip().splitlines())
        lines.append("")
    if report.checked:
        lines.append("Checked: " + "; ".join(report.checked))
    counts = {s: sum(1 for f in report.findings if f.severity == s) for s in ("error", "warning", "info")}
    if not report.findings:
        lines.append("OK: every chain checked holds.")
    else:
        lines.append(f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} note(s).")
    return "\n".join(lines) + "\n"


def as_json(report: Report) -> str:
    body = {
        "format": "realmctl.check",
        "version": 1,
        "ok": not report.errors,
        "findings": [f.to_json() for f in report.findings],
        "notes": report.notes,
        "checked": report.checked,
    }
    return json.dumps(body, indent=2) + "\n"
