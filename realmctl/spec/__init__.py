"""The spec language front end: `load_spec(paths, env)` -> `Spec`, or `SpecInvalid` with every finding."""

from realmctl.spec.loader import load_spec
from realmctl.spec.model import Finding, Position, Spec, SpecInvalid

__all__ = ["Finding", "Position", "Spec", "SpecInvalid", "load_spec"]
