"""YAML parsing that remembers where everything was written.

PyYAML's `safe_load` forgets positions and silently keeps the last of two duplicate keys; both
would make errors unfindable for users. So we compose the node graph (which carries marks) and
build plain Python data ourselves, recording a 1-based `Position` for every mapping entry (the
key's position) and every list item, and apart, where each mapping entry's value starts (a value
may stand lines below its key: `secret:` then `  ${env:X}`, a block scalar, a nested mapping).
"""

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from realmctl.spec.model import Finding, Path, Position
from realmctl.spec.paths import container, subject

# Only these tags become non-strings; everything else (timestamps, binary, ...) stays the text
# the user wrote, because Keycloak fields are strings and a date object would only confuse.
_TYPED_TAGS = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:null",
}


#: Aliases are expanded into copies; this bounds the values those copies add (aliases of aliases,
#: "billion laughs"). Values written out in the file do not count: a large spec is not an attack.
MAX_ALIAS_VALUES = 100_000
#: Nesting deeper than this is refused with its position: no spec needs it, and PyYAML's composer
#: and every walk over the data recurse once per level.
MAX_DEPTH = 64


#: libyaml when PyYAML has it (about ten times faster); the pure-Python loader otherwise.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPENING = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSING = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _too_deep(text: str) -> Any:
    """The mark where the document first nests deeper than `MAX_DEPTH`, or None. Reads the event
    stream, which PyYAML produces without recursion, before composing, which recurses per level."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, _OPENING):
            depth += 1
            if depth > MAX_DEPTH:
                return event.start_mark
        elif isinstance(event, _CLOSING):
            depth -= 1
    return None


@dataclass
class Document:
    """One parsed file: plain data plus positions, or findings when it could not be read."""

    file: str
    data: Any = None
    positions: dict[Path, Position] = field(default_factory=dict)
    #: Where the value of each mapping entry starts (list items: `positions` is their value).
    values: dict[Path, Position] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    #: Paths whose value was interpolated, with the sources each named (`env:NAME`, `file:path`).
    sources: dict[Path, list[str]] = field(default_factory=dict)


def _pos(file: str, node: Node) -> Position:
    return Position(file, node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns a composed node graph into plain data, collecting findings instead of stopping."""

    def __init__(self, file: str, lines: list[str] | None = None) -> None:
        self.file = file
        self.lines = lines or []
        self.positions: dict[Path, Position] = {}
        self.values: dict[Path, Position] = {}
        self.findings: list[Finding] = []
        self._constructor = yaml.SafeLoader("")
        self._active: set[int] = set()
        self._seen: set[int] = set()
        self._copies = 0  # values created by expanding aliases
        self.refused = False

    def _value_pos(self, node: Node) -> Position:
        """Where a value's content starts: for a block scalar (`|`, `>`), its first non-blank line
        below the indicator, which is where the text a user wrote begins."""
        if isinstance(node, ScalarNode) and node.style in ("|", ">"):
            for number in range(node.start_mark.line + 1, min(node.end_mark.line + 1, len(self.lines))):
                line = self.lines[number]
                if line.strip():
                    return Position(self.file, number + 1, len(line) - len(line.lstrip()) + 1)
        return _pos(self.file, node)

    def _error(self, code: str, message: str, node: Node, hint: str | None = None) -> None:
        self.findings.append(Finding("error", code, message, _pos(self.file, node), hint))

    def build(self, node: Node, path: Path) -> Any:
        if id(node) in self._seen:  # a node built before: this is a copy made by an alias
            self._copies += 1
        self._seen.add(id(node))
        if self._copies > MAX_ALIAS_VALUES or len(path) > MAX_DEPTH:
            if not self.refused:
                self.refused = True
                if len(path) > MAX_DEPTH:
                    self._error("too-deep", f"aliases nest the data more than {MAX_DEPTH} levels deep", node)
                else:
                    self._error(
                        "too-large",
                        f"YAML aliases here expand to more than {MAX_ALIAS_VALUES} copied values",
                        node,
                        'aliases are expanded into copies; do not nest them ("billion laughs")',
                    )
            return None
        if id(node) in self._active:
            self._error("recursive-alias", f"{subject(path)} refers to itself through a YAML alias", node)
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                result = []
                for i, item in enumerate(node.value):
                    at = (*path, i)  # one tuple for both uses: a large spec has ~100,000 paths
                    self.positions[at] = _pos(self.file, item)
                    result.append(self.build(item, at))
                return result
            assert isinstance(node, ScalarNode)
            if node.tag in _TYPED_TAGS:
                return self._typed(node, path)
            return str(node.value)
        finally:
            self._active.discard(id(node))

    def _typed(self, node: ScalarNode, path: Path) -> Any:
        """A bool/int/float/null scalar; an explicit tag on a value that does not fit it is a finding
        (PyYAML's own exception would quote the value)."""
        try:
            return self._constructor.construct_object(node, deep=True)
        except Exception:
            kind = node.tag.rsplit(":", 1)[-1]
            self._error(
                "bad-tag",
                f"{subject(path)} is tagged `!!{kind}` but is not one",
                node,
                "remove the tag or fix the value",
            )
            return None

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, Position] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._error(
                    "bad-key",
                    f"a key in {container(path)} is a list or mapping",
                    key_node,
                    "keys must be plain names",
                )
                continue
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._error(
                    "merge-key",
                    "YAML merge keys (`<<`) are not supported",
                    key_node,
                    "write the keys out, or use an anchor for a whole value",
                )
                continue
            key = str(key_node.value)
            where = _pos(self.file, key_node)
            if "${" in key.replace("$${", ""):
                self._error(
                    "interpolation-in-key",
                    f"`${{...}}` is not supported in keys, as in this key of {container(path)}",
                    key_node,
                    "interpolate values only",
                )
            if key in first_seen:
                self._error(
                    "duplicate-key",
                    f"duplicate key `{key}` in {container(path)}",
                    key_node,
                    f"first written at line {first_seen[key].line}; YAML keeps only one, remove the other",
                )
                continue
            first_seen[key] = where
            at = (*path, key)  # one tuple for the three uses: a large spec has ~100,000 paths
            self.positions[at] = where
            self.values[at] = self._value_pos(value_node)
            result[key] = self.build(value_node, at)
        return result


def _yaml_error(file: str, exc: yaml.YAMLError) -> Finding:
    """A finding for a YAML syntax error; uses PyYAML's problem text, which names tokens, not values."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    position = Position(file, mark.line + 1, mark.column + 1) if mark is not None else Position(file, 1, 1)
    problem = str(getattr(exc, "problem", None) or "the file is not valid YAML")
    if "nesting depth" in problem:  # libyaml's own limit (1000 levels)
        message = f"the YAML is nested more than {MAX_DEPTH} levels deep"
        return Finding("error", "too-deep", message, position, "flatten the structure")
    if "'\\t'" in problem:
        return Finding(
            "error",
            "tab",
            "tab character where YAML expects spaces",
            position,
            "indent with spaces, never tabs",
        )
    if "another document" in problem:
        return Finding(
            "error",
            "yaml-syntax",
            "the file holds more than one YAML document",
            position,
            "remove the `---` line; to split a spec, use several files",
        )
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    return Finding("error", "yaml-syntax", message, position, "check the indentation and the `:` after each key")


def _pure_error(text: str) -> yaml.YAMLError | None:
    """The pure-Python parser's error for `text`, whose wording is more precise than libyaml's
    (it names the character, e.g. a tab); read from the event stream, which does not recurse."""
    try:
        for _ in yaml.parse(text, Loader=yaml.SafeLoader):
            pass
    except yaml.YAMLError as exc:
        return exc
    return None


def parse(file: str, text: str) -> Document:
    """Parse one YAML document; syntax errors, duplicate keys and the like become findings."""
    doc = Document(file)
    try:
        deep = _too_deep(text)
        node = None if deep else yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        if getattr(exc, "problem", None) == "exceeded maximum nesting depth":
            # libyaml's own limit (1000): the pure parser's re-read for wording takes time growing
            # with the square of the depth (18 s of CPU for 6 KB), and this refusal needs no wording
            deep = getattr(exc, "problem_mark", None)
        else:
            doc.findings.append(_yaml_error(file, _pure_error(text) or exc))
            return doc
    if deep is not None:
        where = Position(file, deep.line + 1, deep.column + 1)
        message = f"the YAML is nested more than {MAX_DEPTH} levels deep"
        doc.findings.append(Finding("error", "too-deep", message, where, "flatten the structure"))
        return doc
    if node is None:
        doc.findings.append(
            Finding(
                "error",
                "empty-file",
                "the file is empty",
                Position(file, 1, 1),
                "start with `version: 1` and `realms:`",
            )
        )
        return doc
    builder = _Builder(file, text.splitlines())
    doc.positions[()] = _pos(file, node)
    doc.data = builder.build(node, ())
    if builder.refused:  # the rest is partial data; its findings would only confuse
        doc.data = None
        doc.findings.extend(f for f in builder.findings if f.code in ("too-large", "too-deep"))
        return doc
    doc.positions.update(builder.positions)
    doc.values.update(builder.values)
    doc.findings.extend(builder.findings)
    return doc
