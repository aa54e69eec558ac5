"""Plan output for people (text), for pipelines (json) and for pull-request comments (markdown)."""

import json
import re
from typing import Any

from realmctl.kinds import BY_NAME
from realmctl.plan import SENSITIVE, Change, FieldChange, Plan

SYMBOL = {"create": "+", "update": "~", "delete": "-"}
COLOUR = {"create": "\033[32m", "update": "\033[33m", "delete": "\033[31m"}
RESET = "\033[0m"


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def field_line(change: Change, f: FieldChange) -> str:
    """One field of a change, secrets shown only as `(sensitive)`."""
    if f.sensitive:
        if f.resent:
            return f"{f.path}: {SENSITIVE} (sent again: --resend-secrets)"
        return f"{f.path}: {SENSITIVE}" + (" (changed)" if change.action == "update" else "")
    if change.action == "create":
        return f"{f.path}: {_value(f.new)}"
    return f"{f.path}: {_value(f.old)} -> {_value(f.new)}"


def intent_of(change: Change) -> str | None:
    """The user-level intent a change serves (a token-exchange entry), if any."""
    return change.resource.data.get("intent") if change.resource else None


def summary(plan: Plan) -> str:
    c = plan.counts
    return f"Plan: {c['create']} to add, {c['update']} to change, {c['delete']} to delete."


def describe(change: Change) -> str:
    return BY_NAME[change.kind].describe(change.key)


def text(plan: Plan, colour: bool = False) -> str:
    """Grouped by realm; `+` create, `~` update, `-` delete, fields beneath."""
    lines: list[str] = []
    for realm in plan.realms:
        mine = [c for c in plan.changes if c.realm == realm]
        if not mine:
            continue
        lines.append(f"realm {realm}")
        intents: dict[str | None, list[Change]] = {}
        for change in mine:
            intents.setdefault(intent_of(change), []).append(change)
        for headline, changes in intents.items():
            indent = "  "
            if headline:
                lines.append(f"  {realm}: {headline}")
                indent = "    "
            for change in changes:
                head = f"{indent}{SYMBOL[change.action]} {describe(change)}"
                if colour:
                    head = COLOUR[change.action] + head + RESET
                lines.append(head)
                if change.note:
                    lines.append(f"{indent}    # {change.note}")
                if change.action != "delete":
                    lines.extend(f"{indent}    {field_line(change, f)}" for f in change.fields)
        lines.append("")
    if plan.empty:
        lines.append("No changes: the live realms match the spec.")
    for warning in plan.warnings:
        lines.append(f"Warning: {warning}")
    for note in plan.notes:
        lines.append(f"Note: {note}")
    lines.append(summary(plan))
    return "\n".join(lines) + "\n"


def md_code(text: str) -> str:
    """`text` as a Markdown code span inside a table cell, whatever it holds: the fence is one
    backtick longer than the longest run inside (CommonMark), and `|` cannot end the cell."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


def md_text(text: str) -> str:
    """Plain text in Markdown with every character that could start markup or HTML escaped."""
    return re.sub(r"([\\`*_\[\]<>|~&])", r"\\\1", text)


def markdown(plan: Plan) -> str:
    """A pull-request comment: a summary line, then a table per realm, fields in a details block.
    Names come from the spec and the server: they are escaped, so that none can close a code span,
    end a table cell or inject HTML into the comment."""
    lines = [f"### realmctl plan for {md_text(plan.server)}", "", f"**{summary(plan)}**", ""]
    for realm in plan.realms:
        mine = [c for c in plan.changes if c.realm == realm]
        if not mine:
            continue
        lines += [f"#### realm {md_code(realm)}", "", "| | object | fields |", "|---|---|---|"]
        for change in mine:
            fields = "<br>".join(md_code(field_line(change, f)) for f in change.fields)
            lines.append(f"| {SYMBOL[change.action]} | {md_text(describe(change))} | {fields} |")
        lines.append("")
    if plan.empty:
        lines.append("No changes: the live realms match the spec.")
    lines.extend(f"> **Warning:** {md_text(w)}" for w in plan.warnings)
    return "\n".join(lines) + "\n"


def as_json(plan: Plan) -> str:
    """The documented, versioned machine format (`format: realmctl.plan`, `version: 1`)."""
    body = plan.to_json()
    for change, out in zip(plan.changes, body["changes"], strict=True):
        out["description"] = describe(change)
    return json.dumps(body, indent=2, sort_keys=False) + "\n"
